package io.pando.shell.cli;

import java.util.Collection;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A minimal JSON writer for command output: objects and arrays of strings, numbers, booleans and nulls, nested as
 * deep as needed. Keeps the shell bundle free of a JSON library; the output is always one line (every control
 * character is escaped).
 */
final class Json {

    private Json() {
    }

    /** @return {@code s} as a JSON string literal, or {@code null} */
    static String quote(String s) {
        if (s == null) {
            return "null";
        }
        StringBuilder b = new StringBuilder(s.length() + 2).append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> b.append("\\\"");
                case '\\' -> b.append("\\\\");
                case '\b' -> b.append("\\b");
                case '\f' -> b.append("\\f");
                case '\n' -> b.append("\\n");
                case '\r' -> b.append("\\r");
                case '\t' -> b.append("\\t");
                default -> {
                    // control characters, and the two separators JavaScript treats as line ends
                    if (c < 0x20 || c == '\u2028' || c == '\u2029') {
                        b.append(String.format("\\u%04x", (int) c));
                    } else {
                        b.append(c);
                    }
                }
            }
        }
        return b.append('"').toString();
    }

    /**
     * @return the value as JSON: {@code null}; a number for an integral or a finite floating-point number
     *     ({@code null} for NaN and the infinities, which JSON cannot express); {@code true} or {@code false}; an
     *     object for a {@link Map} with string keys, as in {@link #object(Map)}; an array for a {@link Collection},
     *     element by element; or else a string of its {@code toString()}
     */
    static String value(Object v) {
        if (v == null) {
            return "null";
        }
        if (v instanceof Integer || v instanceof Long || v instanceof Short || v instanceof Byte
            || v instanceof Boolean) {
            return v.toString();
        }
        if (v instanceof Double || v instanceof Float) {
            double d = ((Number) v).doubleValue();
            return Double.isFinite(d) ? Double.toString(d) : "null";
        }
        if (v instanceof Map<?, ?> m) {
            Map<String, Object> fields = new LinkedHashMap<>();
            m.forEach((k, e) -> fields.put(String.valueOf(k), e));
            return object(fields);
        }
        if (v instanceof Collection<?> c) {
            return array(c.stream().map(Json::value).toList());
        }
        return quote(v.toString());
    }

    /** @return the map, in its iteration order, as a JSON object; values as in {@link #value(Object)} */
    static String object(Map<String, ?> fields) {
        StringBuilder b = new StringBuilder().append('{');
        Iterator<? extends Map.Entry<String, ?>> it = fields.entrySet().iterator();
        while (it.hasNext()) {
            Map.Entry<String, ?> e = it.next();
            b.append(quote(e.getKey())).append(':').append(value(e.getValue()));
            if (it.hasNext()) {
                b.append(',');
            }
        }
        return b.append('}').toString();
    }

    /** @return the elements, each already JSON, as a JSON array */
    static String array(Iterable<String> elements) {
        StringBuilder b = new StringBuilder().append('[');
        Iterator<String> it = elements.iterator();
        while (it.hasNext()) {
            b.append(it.next());
            if (it.hasNext()) {
                b.append(',');
            }
        }
        return b.append(']').toString();
    }
}
