package io.pando.shell.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The JSON writer's nested values, booleans and floating-point numbers, read back by a real parser. */
class JsonTest {

    @Test
    void nestedValuesRoundTrip() {
        Map<String, Object> inner = new LinkedHashMap<>();
        inner.put("ok", true);
        inner.put("no", false);
        inner.put("none", null);
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("inner", inner);
        m.put("list", List.of("a", 1L, 0.5));
        m.put("tiny", 1e-9);
        String json = Json.object(m);
        assertEquals("{\"inner\":{\"ok\":true,\"no\":false,\"none\":null},\"list\":[\"a\",1,0.5],\"tiny\":1.0E-9}",
            json);
        assertEquals(m, Console.parse(json));
    }

    @Test
    void notANumberIsNull() {
        assertEquals("[null,null,null,2.5]",
            Json.value(Arrays.asList(Double.NaN, Double.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, 2.5f)));
    }
}
