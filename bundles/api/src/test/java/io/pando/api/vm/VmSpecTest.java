package io.pando.api.vm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

class VmSpecTest {

    private static final VmId ID = new VmId("ee-1");

    @Test
    void vmIdSyntax() {
        assertEquals(ID, new VmId("ee-1"));
        assertThrows(IllegalArgumentException.class, () -> new VmId("../etc"));
        assertThrows(IllegalArgumentException.class, () -> new VmId("a b"));
        assertThrows(IllegalArgumentException.class, () -> new VmId(""));
        assertThrows(NullPointerException.class, () -> new VmId(null));
    }

    @Test
    void specValidatesAndCopiesOptions() {
        Map<String, String> options = new HashMap<>(Map.of("cmdline", "quiet"));
        VmSpec spec = new VmSpec(ID, "/var/lib/pando/ee.img", 1, 128, 0.5, options);
        options.clear();
        assertEquals(Map.of("cmdline", "quiet"), spec.options());
        assertEquals(spec, new VmSpec(ID, "/var/lib/pando/ee.img", 1, 128, 0.5, Map.of("cmdline", "quiet")));
        assertThrows(IllegalArgumentException.class, () -> new VmSpec(ID, " ", 1, 128, 0.5, Map.of()));
        assertThrows(IllegalArgumentException.class, () -> new VmSpec(ID, "img", 0, 128, 0.5, Map.of()));
        assertThrows(IllegalArgumentException.class, () -> new VmSpec(ID, "img", 1, 0, 0.5, Map.of()));
        assertThrows(IllegalArgumentException.class, () -> new VmSpec(ID, "img", 1, 128, 0, Map.of()));
        assertThrows(IllegalArgumentException.class, () -> new VmSpec(ID, "img", 1, 128, 1.01, Map.of()));
        assertThrows(NullPointerException.class, () -> new VmSpec(null, "img", 1, 128, 1, Map.of()));
    }
}
