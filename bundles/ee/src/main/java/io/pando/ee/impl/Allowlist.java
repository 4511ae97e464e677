package io.pando.ee.impl;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.Reader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;

/**
 * The JDK classes and members an active program may reference, and the JDK packages it may import. Immutable and
 * thread safe. The format is described in {@code allowlist.txt} (the built-in list) and the bundle's README.
 *
 * <p>Class and package names are in dotted form with {@code $} for nested classes ({@code java.util.Map$Entry}).
 */
public final class Allowlist {

    /** A decision: allowed, or denied with the reason shown in reports. */
    public record Verdict(boolean allowed, String reason) {
        static final Verdict ALLOW = new Verdict(true, "");
        static final Verdict NOT_LISTED = new Verdict(false, "not on the allowlist");
    }

    private final Set<String> imports = new HashSet<>();
    private final Map<String, Verdict> classes = new HashMap<>();
    private final Map<String, Verdict> packages = new HashMap<>();
    private final Map<String, Verdict> trees = new HashMap<>();
    private final Map<String, Map<String, Verdict>> members = new HashMap<>();
    private final Map<String, List<Map.Entry<String, Verdict>>> memberPrefixes = new HashMap<>();

    private Allowlist() {
    }

    /** @return the built-in allowlist, {@code allowlist.txt} next to this class */
    public static Allowlist builtIn() {
        try (InputStream in = Allowlist.class.getResourceAsStream("allowlist.txt")) {
            if (in == null) {
                throw new IllegalStateException("allowlist.txt is missing from the io.pando.ee bundle");
            }
            return parse(new InputStreamReader(in, StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the built-in allowlist", e);
        }
    }

    /**
     * Parses an allowlist.
     *
     * @param text the rules
     * @return the allowlist
     * @throws IllegalArgumentException naming the line of a malformed rule
     * @throws IOException if reading fails
     */
    public static Allowlist parse(Reader text) throws IOException {
        Allowlist a = new Allowlist();
        BufferedReader r = new BufferedReader(text);
        int n = 0;
        for (String line; (line = r.readLine()) != null; ) {
            n++;
            int hash = line.indexOf("# ");
            String rule = (line.startsWith("#") ? "" : hash >= 0 ? line.substring(0, hash) : line).strip();
            if (rule.isEmpty()) {
                continue;
            }
            try {
                a.add(rule);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("allowlist line " + n + ": " + e.getMessage() + ": " + line, e);
            }
        }
        return a;
    }

    private void add(String rule) {
        String[] verbAndRest = rule.split("\\s+", 2);
        if (verbAndRest.length < 2) {
            throw new IllegalArgumentException("a rule is 'import P', 'allow P' or 'deny P : REASON'");
        }
        String verb = verbAndRest[0];
        String rest = verbAndRest[1];
        switch (verb) {
            case "import" -> imports.add(rest.strip());
            case "allow" -> put(rest.strip(), Verdict.ALLOW);
            case "deny" -> {
                int colon = rest.indexOf(':');
                if (colon < 0 || rest.substring(colon + 1).isBlank()) {
                    throw new IllegalArgumentException("a deny rule needs a reason: 'deny P : REASON'");
                }
                put(rest.substring(0, colon).strip(), new Verdict(false, rest.substring(colon + 1).strip()));
            }
            default -> throw new IllegalArgumentException("unknown verb '" + verb + "'");
        }
    }

    private void put(String pattern, Verdict v) {
        if (pattern.isEmpty() || pattern.contains(" ")) {
            throw new IllegalArgumentException("bad pattern '" + pattern + "'");
        }
        int hash = pattern.indexOf('#');
        if (hash >= 0) {
            String owner = pattern.substring(0, hash);
            String member = pattern.substring(hash + 1);
            if (owner.isEmpty() || owner.contains("*")) {
                throw new IllegalArgumentException("a member rule names one class: 'a.b.C#m'");
            }
            if (member.endsWith("*")) {
                memberPrefixes.computeIfAbsent(owner, k -> new ArrayList<>())
                    .add(Map.entry(member.substring(0, member.length() - 1), v));
                // longest prefix first
                memberPrefixes.get(owner).sort((x, y) -> y.getKey().length() - x.getKey().length());
            } else {
                members.computeIfAbsent(owner, k -> new HashMap<>()).put(member, v);
            }
        } else if (pattern.endsWith(".**")) {
            trees.put(pattern.substring(0, pattern.length() - 3), v);
        } else if (pattern.endsWith(".*")) {
            packages.put(pattern.substring(0, pattern.length() - 2), v);
        } else if (pattern.contains("*")) {
            throw new IllegalArgumentException("'*' only as a.b.*, a.b.** or a.b.C#prefix*");
        } else {
            classes.put(pattern, v);
        }
    }

    /**
     * @param pkg a package name
     * @return true if a program's Import-Package may name this JDK package
     */
    public boolean importable(String pkg) {
        return imports.contains(pkg);
    }

    /**
     * @param className a JDK class, dotted
     * @return whether a program may use the class as a type (extend it, declare, cast, instantiate)
     */
    public Verdict forClass(String className) {
        Verdict v = classes.get(className);
        for (String outer = className; v == null && outer.indexOf('$') > 0; ) {
            outer = outer.substring(0, outer.lastIndexOf('$'));
            v = classes.get(outer);
        }
        if (v != null) {
            return v;
        }
        int dot = className.lastIndexOf('.');
        String pkg = dot < 0 ? "" : className.substring(0, dot);
        v = packages.get(pkg);
        if (v != null) {
            return v;
        }
        for (String p = pkg; !p.isEmpty(); p = p.lastIndexOf('.') < 0 ? "" : p.substring(0, p.lastIndexOf('.'))) {
            v = trees.get(p);
            if (v != null) {
                return v;
            }
        }
        return Verdict.NOT_LISTED;
    }

    /**
     * Decides a reference to a member. A member rule of {@code owner} itself decides; otherwise a member deny rule
     * of any supertype of {@code owner} denies; otherwise the class rule of {@code owner} decides.
     *
     * @param owner the class the bytecode names as the member's owner, dotted
     * @param member the field or method name
     * @param supertypes the direct supertypes (superclass and interfaces) of a class, dotted; empty if unknown
     * @param ownerAllowed true if the owner is allowed without the allowlist (the program's own class)
     * @return the verdict
     */
    public Verdict forMember(String owner, String member, Function<String, List<String>> supertypes,
        boolean ownerAllowed) {
        Verdict v = memberRule(owner, member);
        if (v != null) {
            return v;
        }
        Set<String> seen = new HashSet<>();
        List<String> queue = new ArrayList<>(supertypes.apply(owner));
        while (!queue.isEmpty()) {
            String t = queue.remove(0);
            if (!seen.add(t)) {
                continue;
            }
            Verdict s = memberRule(t, member);
            if (s != null && !s.allowed()) {
                return s;
            }
            queue.addAll(supertypes.apply(t));
        }
        return ownerAllowed ? Verdict.ALLOW : forClass(owner);
    }

    private Verdict memberRule(String owner, String member) {
        Map<String, Verdict> exact = members.get(owner);
        Verdict v = exact == null ? null : exact.get(member);
        if (v != null) {
            return v;
        }
        List<Map.Entry<String, Verdict>> prefixes = memberPrefixes.get(owner);
        if (prefixes != null) {
            for (Map.Entry<String, Verdict> e : prefixes) {
                if (member.startsWith(e.getKey())) {
                    return e.getValue();
                }
            }
        }
        return null;
    }
}
