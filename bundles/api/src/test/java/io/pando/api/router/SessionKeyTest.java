package io.pando.api.router;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pando.api.session.FlowId;
import io.pando.api.session.SessionId;
import io.pando.api.session.SessionState;
import java.net.InetSocketAddress;
import java.time.Instant;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class SessionKeyTest {

    private static final InetSocketAddress DEST = new InetSocketAddress("127.0.0.1", 9000);

    private static byte[] key(int seed) {
        byte[] k = new byte[32];
        for (int i = 0; i < k.length; i++) {
            k[i] = (byte) (seed + i);
        }
        return k;
    }

    private static SessionRequest plain() {
        return new SessionRequest("s", "passthrough", DEST, 1, Optional.empty(), Optional.empty(), Map.of());
    }

    @Test
    void aKeyIsExactly32BytesAndCopiedInAndOut() {
        byte[] k = key(1);
        SessionKey key = SessionKey.of(k);
        k[0] = 99;
        assertEquals(1, key.bytes()[0], "copied in");
        key.bytes()[1] = 99;
        assertEquals(2, key.bytes()[1], "copied out");
        for (int n : new int[] {0, 16, 31, 33, 64}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> SessionKey.of(new byte[n]));
            assertEquals("a session key has exactly 32 bytes, got " + n, e.getMessage());
        }
        assertEquals("a session key has exactly 32 bytes, got none",
            assertThrows(IllegalArgumentException.class, () -> SessionKey.of(null)).getMessage());
    }

    @Test
    void hexRoundTripsAndBadHexIsRefusedClearly() {
        SessionKey key = SessionKey.of(key(7));
        assertEquals(64, key.toHex().length());
        assertEquals(key, SessionKey.fromHex(key.toHex()));
        assertEquals(key, SessionKey.fromHex("  " + key.toHex().toUpperCase() + "\n"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> SessionKey.fromHex("abcd")).getMessage()
            .contains("64 hexadecimal digits (32 bytes), got 4 characters"));
        String bad = "zz" + key.toHex().substring(2);
        assertTrue(assertThrows(IllegalArgumentException.class, () -> SessionKey.fromHex(bad)).getMessage()
            .startsWith("a session key is 64 hexadecimal digits [0-9a-fA-F]"));
    }

    @Test
    void equalityIsByContentAndToStringHidesTheKey() {
        assertEquals(SessionKey.of(key(3)), SessionKey.of(key(3)));
        assertEquals(SessionKey.of(key(3)).hashCode(), SessionKey.of(key(3)).hashCode());
        assertNotEquals(SessionKey.of(key(3)), SessionKey.of(key(4)));
        SessionKey k = SessionKey.of(key(5));
        assertEquals("SessionKey[32 bytes]", k.toString());
        SessionRequest r = plain().withKey(k);
        assertFalse(r.toString().contains(k.toHex()), r.toString());
        assertFalse(r.toString().contains(HexFormat.of().withUpperCase().formatHex(key(5))));
    }

    @Test
    void aRequestIsUnkeyedUnlessGivenAKey() {
        SessionRequest r = plain();
        assertFalse(r.keyed());
        assertEquals(Optional.empty(), r.key());
        byte[] k = key(9);
        SessionRequest keyed = r.withKey(k);
        k[0] = 0;
        assertTrue(keyed.keyed());
        assertArrayEquals(key(9), keyed.key().orElseThrow().bytes(), "copied when the request is made");
        assertEquals(r.name(), keyed.name());
        assertEquals(r.flows(), keyed.flows());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> r.withKey(new byte[31]));
        assertEquals("a session key has exactly 32 bytes, got 31", e.getMessage());
        assertThrows(NullPointerException.class, () -> new SessionRequest("s", "p", DEST, 1, Optional.empty(),
            Optional.empty(), Map.of(), Execution.DEFAULT, List.of(), null));
        SessionRequest full = new SessionRequest("s", "p", DEST, 1, Optional.empty(), Optional.empty(), Map.of(),
            Execution.DEFAULT, List.of(), Optional.of(SessionKey.of(key(2))));
        assertTrue(full.keyed());
    }

    @Test
    void aSessionReportSaysWhetherItIsKeyed() {
        SessionInfo unkeyed = new SessionInfo(new SessionId(5), "s", "p", SessionState.ACTIVE, DEST, DEST, List.of(),
            "round-robin", Instant.EPOCH, Map.of(), Map.of(), Map.of());
        assertFalse(unkeyed.keyed());
        assertEquals(FlowId.of(0), unkeyed.flows().get(0).id());
        SessionInfo keyed = new SessionInfo(new SessionId(5), "s", "p", SessionState.ACTIVE, DEST, DEST, List.of(),
            "round-robin", Instant.EPOCH, Map.of(), Map.of(), Map.of(), List.of(), true);
        assertTrue(keyed.keyed());
    }
}
