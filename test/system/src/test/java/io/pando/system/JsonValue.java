package io.pando.system;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads the one-line JSON that {@code pando ... --json} and {@code pando:... --json} print, nested arrays and objects
 * included: objects become {@link Map}s, arrays {@link List}s, whole numbers {@link Long}, other numbers
 * {@link Double}. The accessors fail with the whole document in the message, so a failing test shows what the
 * process printed.
 */
final class JsonValue {

    private static final JsonFactory FACTORY = new JsonFactory();

    private JsonValue() {
    }

    /** @return the value of one JSON document: a map, list, string, number, boolean or null */
    static Object parse(String text) {
        try (JsonParser p = FACTORY.createParser(text)) {
            JsonToken t = p.nextToken();
            if (t == null) {
                throw new IllegalArgumentException("no JSON value in: " + text);
            }
            Object v = value(p, t);
            if (p.nextToken() != null) {
                throw new IllegalArgumentException("more than one JSON value in: " + text);
            }
            return v;
        } catch (IOException e) {
            throw new IllegalArgumentException("not JSON: " + text, e);
        }
    }

    /** @return the object that {@code text} holds; fails if it holds something else */
    @SuppressWarnings("unchecked")
    static Map<String, Object> object(String text) {
        Object v = parse(text);
        if (!(v instanceof Map)) {
            throw new IllegalArgumentException("not a JSON object: " + text);
        }
        return (Map<String, Object>) v;
    }

    /** @return the array of objects that {@code text} holds; fails if it holds something else */
    @SuppressWarnings("unchecked")
    static List<Map<String, Object>> objects(String text) {
        Object v = parse(text);
        if (!(v instanceof List<?> list) || !list.stream().allMatch(e -> e instanceof Map)) {
            throw new IllegalArgumentException("not a JSON array of objects: " + text);
        }
        return (List<Map<String, Object>>) v;
    }

    /** @return the object, or an empty map when {@code text} is not a JSON object (the process failed) */
    static Map<String, Object> objectOrEmpty(String text) {
        try {
            return object(text);
        } catch (RuntimeException e) {
            return Map.of();
        }
    }

    private static Object value(JsonParser p, JsonToken t) throws IOException {
        return switch (t) {
            case START_OBJECT -> {
                Map<String, Object> map = new LinkedHashMap<>();
                while (p.nextToken() == JsonToken.FIELD_NAME) {
                    String name = p.currentName();
                    map.put(name, value(p, p.nextToken()));
                }
                yield map;
            }
            case START_ARRAY -> {
                List<Object> list = new ArrayList<>();
                JsonToken e;
                while ((e = p.nextToken()) != JsonToken.END_ARRAY) {
                    list.add(value(p, e));
                }
                yield list;
            }
            case VALUE_NUMBER_INT -> p.getLongValue();
            case VALUE_NUMBER_FLOAT -> p.getDoubleValue();
            case VALUE_TRUE, VALUE_FALSE -> p.getBooleanValue();
            case VALUE_NULL -> null;
            case VALUE_STRING -> p.getText();
            default -> throw new IllegalArgumentException("unexpected JSON token " + t);
        };
    }

    /**
     * @return the whole number at {@code path} (field names into nested objects), e.g.
     *         {@code num(session, "counters", "datagrams_in")}
     */
    static long num(Map<String, Object> json, String... path) {
        Object v = at(json, path);
        if (!(v instanceof Number n)) {
            throw new AssertionError(String.join(".", path) + " is not a number in " + json);
        }
        return n.longValue();
    }

    /** @return the number at {@code path}, or NaN when it is missing */
    static double dbl(Map<String, Object> json, String... path) {
        Object v = atOrNull(json, path);
        return v instanceof Number n ? n.doubleValue() : Double.NaN;
    }

    /** @return the string at {@code path} */
    static String str(Map<String, Object> json, String... path) {
        Object v = at(json, path);
        if (!(v instanceof String s)) {
            throw new AssertionError(String.join(".", path) + " is not a string in " + json);
        }
        return s;
    }

    /** @return the object at {@code path}, or an empty map when it is missing */
    @SuppressWarnings("unchecked")
    static Map<String, Object> obj(Map<String, Object> json, String... path) {
        Object v = atOrNull(json, path);
        return v instanceof Map ? (Map<String, Object>) v : Map.of();
    }

    /** @return the array at {@code path}, or an empty list when it is missing */
    @SuppressWarnings("unchecked")
    static List<Object> list(Map<String, Object> json, String... path) {
        Object v = atOrNull(json, path);
        return v instanceof List ? (List<Object>) v : List.of();
    }

    private static Object at(Map<String, Object> json, String... path) {
        Object v = atOrNull(json, path);
        if (v == null) {
            throw new AssertionError(String.join(".", path) + " missing in " + json);
        }
        return v;
    }

    @SuppressWarnings("unchecked")
    private static Object atOrNull(Map<String, Object> json, String... path) {
        Object v = json;
        for (String field : path) {
            if (!(v instanceof Map)) {
                return null;
            }
            v = ((Map<String, Object>) v).get(field);
        }
        return v;
    }
}
