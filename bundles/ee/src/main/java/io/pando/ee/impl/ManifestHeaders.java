package io.pando.ee.impl;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Parses OSGi manifest headers ({@code Import-Package}, {@code Require-Capability}, ...) into clauses: names
 * separated by {@code ;}, then {@code key=value} attributes and {@code key:=value} directives, clauses separated by
 * {@code ,}; quoted values may contain {@code ,} and {@code ;}.
 */
final class ManifestHeaders {

    /** One clause: its names (packages, namespaces) and its attributes and directives (directives keep ':'). */
    record Clause(List<String> names, Map<String, String> parameters) {
    }

    private ManifestHeaders() {
    }

    static List<Clause> parse(String header) {
        List<Clause> clauses = new ArrayList<>();
        if (header == null || header.isBlank()) {
            return clauses;
        }
        for (String clause : split(header, ',')) {
            List<String> names = new ArrayList<>();
            Map<String, String> params = new LinkedHashMap<>();
            for (String part : split(clause, ';')) {
                String p = part.strip();
                if (p.isEmpty()) {
                    continue;
                }
                int eq = p.indexOf('=');
                if (eq < 0) {
                    names.add(p);
                } else {
                    String key = p.substring(0, eq).strip();
                    String value = p.substring(eq + 1).strip();
                    if (value.length() >= 2 && value.startsWith("\"") && value.endsWith("\"")) {
                        value = value.substring(1, value.length() - 1);
                    }
                    params.put(key, value);
                }
            }
            if (!names.isEmpty() || !params.isEmpty()) {
                clauses.add(new Clause(names, params));
            }
        }
        return clauses;
    }

    private static List<String> split(String s, char sep) {
        List<String> parts = new ArrayList<>();
        StringBuilder b = new StringBuilder();
        boolean quoted = false;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '"') {
                quoted = !quoted;
            }
            if (c == sep && !quoted) {
                parts.add(b.toString());
                b.setLength(0);
            } else {
                b.append(c);
            }
        }
        parts.add(b.toString());
        return parts;
    }

    /**
     * Tells whether an Import-Package version attribute stays within major version 1: a range whose floor is at
     * least 1.0.0 and whose ceiling is below 2.0.0 or exactly 2.0.0 exclusive. A bare version ({@code 1.1}) means
     * "1.1 or later, unbounded" and is not within.
     *
     * @param range the attribute's value, or null if absent
     * @return true if within [1, 2)
     */
    static boolean withinMajorOne(String range) {
        if (range == null) {
            return false;
        }
        String r = range.strip();
        if (r.length() < 5 || (r.charAt(0) != '[' && r.charAt(0) != '(')
            || (r.charAt(r.length() - 1) != ')' && r.charAt(r.length() - 1) != ']')) {
            return false;
        }
        String[] ends = r.substring(1, r.length() - 1).split(",");
        if (ends.length != 2) {
            return false;
        }
        int[] floor = version(ends[0]);
        int[] ceiling = version(ends[1]);
        if (floor == null || ceiling == null || floor[0] < 1) {
            return false;
        }
        if (ceiling[0] < 2) {
            return true;
        }
        boolean exclusive = r.charAt(r.length() - 1) == ')';
        return exclusive && ceiling[0] == 2 && ceiling[1] == 0 && ceiling[2] == 0 && ceiling[3] == 0;
    }

    /** @return major, minor, micro and 1 if there is a qualifier; null if malformed */
    static int[] version(String v) {
        String[] parts = v.strip().split("\\.", 4);
        int[] out = new int[4];
        try {
            for (int i = 0; i < Math.min(3, parts.length); i++) {
                out[i] = Integer.parseInt(parts[i]);
                if (out[i] < 0) {
                    return null;
                }
            }
        } catch (NumberFormatException e) {
            return null;
        }
        if (parts.length == 4) {
            if (!parts[3].matches("[A-Za-z0-9_-]+")) {
                return null;
            }
            out[3] = 1;
        }
        return out;
    }
}
