package io.pando.api.session;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

class SessionIdTest {

    @Test
    void zeroIsReserved() {
        assertThrows(IllegalArgumentException.class, () -> new SessionId(0));
    }

    @Test
    void equalByValue() {
        assertEquals(new SessionId(7), new SessionId(7));
        assertEquals(new SessionId(7).hashCode(), new SessionId(7).hashCode());
        assertNotEquals(new SessionId(7), new SessionId(8));
    }

    @Test
    void printsAndParsesUnsigned() {
        SessionId max = new SessionId(-1L);
        assertEquals("18446744073709551615", max.toString());
        assertEquals(max, SessionId.parse(max.toString()));
        assertEquals(new SessionId(42), SessionId.parse("42"));
    }

    @Test
    void parseRejectsGarbage() {
        assertThrows(IllegalArgumentException.class, () -> SessionId.parse(null));
        assertThrows(IllegalArgumentException.class, () -> SessionId.parse(""));
        assertThrows(IllegalArgumentException.class, () -> SessionId.parse("-1"));
        assertThrows(IllegalArgumentException.class, () -> SessionId.parse("0"));
        assertThrows(IllegalArgumentException.class, () -> SessionId.parse("18446744073709551616"));
        assertThrows(IllegalArgumentException.class, () -> SessionId.parse("abc"));
    }
}
