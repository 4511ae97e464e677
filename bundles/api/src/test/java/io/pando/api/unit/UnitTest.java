package io.pando.api.unit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.time.Instant;
import org.junit.jupiter.api.Test;

class UnitTest {

    private static final UnitId U = UnitId.of("node-a.unit-1");
    private static final Instant T = Instant.parse("2026-01-01T00:00:00Z");

    @Test
    void unitIdSyntax() {
        assertEquals("node-a.unit-1", U.toString());
        assertEquals(U, new UnitId("node-a.unit-1"));
        assertNotEquals(U, UnitId.of("node-a.unit-2"));
        assertEquals(64, UnitId.of("a".repeat(64)).value().length());
        assertThrows(IllegalArgumentException.class, () -> UnitId.of(""));
        assertThrows(IllegalArgumentException.class, () -> UnitId.of("-unit"));
        assertThrows(IllegalArgumentException.class, () -> UnitId.of("unit 1"));
        assertThrows(IllegalArgumentException.class, () -> UnitId.of("a".repeat(65)));
        assertThrows(NullPointerException.class, () -> UnitId.of(null));
    }

    @Test
    void loadValidatesRanges() {
        UnitLoad load = new UnitLoad(U, T, 0.5, 250, 1000, 3, 10);
        assertEquals(0.25, load.bufferFill());
        assertEquals(load, new UnitLoad(U, T, 0.5, 250, 1000, 3, 10));
        assertThrows(IllegalArgumentException.class, () -> new UnitLoad(U, T, 1.5, 0, 1, 0, 0));
        assertThrows(IllegalArgumentException.class, () -> new UnitLoad(U, T, -0.1, 0, 1, 0, 0));
        assertThrows(IllegalArgumentException.class, () -> new UnitLoad(U, T, Double.NaN, 0, 1, 0, 0));
        assertThrows(IllegalArgumentException.class, () -> new UnitLoad(U, T, 0, 0, 0, 0, 0));
        assertThrows(IllegalArgumentException.class, () -> new UnitLoad(U, T, 0, 2, 1, 0, 0));
        assertThrows(IllegalArgumentException.class, () -> new UnitLoad(U, T, 0, -1, 1, 0, 0));
        assertThrows(IllegalArgumentException.class, () -> new UnitLoad(U, T, 0, 0, 1, -1, 0));
        assertThrows(IllegalArgumentException.class, () -> new UnitLoad(U, T, 0, 0, 1, 0, -1));
        assertThrows(NullPointerException.class, () -> new UnitLoad(null, T, 0, 0, 1, 0, 0));
        assertThrows(NullPointerException.class, () -> new UnitLoad(U, null, 0, 0, 1, 0, 0));
    }
}
