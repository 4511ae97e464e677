package io.pando.test.system;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads the one-line JSON objects that {@code pando ... --json} prints (nested objects become maps), and the arrays
 * of such objects that list commands print.
 */
final class Json {

    private Json() {
    }

    static Map<String, Object> parse(String line) {
        try (JsonParser p = new JsonFactory().createParser(line)) {
            if (p.nextToken() != JsonToken.START_OBJECT) {
                throw new IllegalArgumentException("not a JSON object: " + line);
            }
            return object(p);
        } catch (IOException e) {
            throw new UncheckedIOException("not a JSON object: " + line, e);
        }
    }

    /** Parses a JSON array of objects, e.g. the last line of a {@code pando:...-list --json} console command. */
    static List<Map<String, Object>> parseArray(String line) {
        try (JsonParser p = new JsonFactory().createParser(line)) {
            if (p.nextToken() != JsonToken.START_ARRAY) {
                throw new IllegalArgumentException("not a JSON array: " + line);
            }
            List<Map<String, Object>> list = new ArrayList<>();
            JsonToken t;
            while ((t = p.nextToken()) == JsonToken.START_OBJECT) {
                list.add(object(p));
            }
            if (t != JsonToken.END_ARRAY || p.nextToken() != null) {
                throw new IllegalArgumentException("not a JSON array of objects: " + line);
            }
            return list;
        } catch (IOException e) {
            throw new UncheckedIOException("not a JSON array: " + line, e);
        }
    }

    /** @return the parsed object, or an empty map when {@code line} is not a JSON object (the process failed) */
    static Map<String, Object> parseOrEmpty(String line) {
        try {
            return parse(line);
        } catch (RuntimeException e) {
            return Map.of();
        }
    }

    private static Map<String, Object> object(JsonParser p) throws IOException {
        Map<String, Object> map = new LinkedHashMap<>();
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String name = p.currentName();
            JsonToken t = p.nextToken();
            map.put(name, switch (t) {
                case START_OBJECT -> object(p);
                case VALUE_NUMBER_INT -> p.getLongValue();
                case VALUE_NUMBER_FLOAT -> p.getDoubleValue();
                case VALUE_TRUE, VALUE_FALSE -> p.getBooleanValue();
                case VALUE_NULL -> null;
                default -> p.getText();
            });
        }
        return map;
    }

    static long num(Map<String, Object> json, String field) {
        Object v = json.get(field);
        if (!(v instanceof Number)) {
            throw new AssertionError(field + " missing in " + json);
        }
        return ((Number) v).longValue();
    }

    static double dbl(Map<String, Object> json, String field) {
        Object v = json.get(field);
        return v instanceof Number n ? n.doubleValue() : Double.NaN;
    }

    @SuppressWarnings("unchecked")
    static Map<String, Object> obj(Map<String, Object> json, String field) {
        Object v = json.get(field);
        return v instanceof Map ? (Map<String, Object>) v : Map.of();
    }
}
