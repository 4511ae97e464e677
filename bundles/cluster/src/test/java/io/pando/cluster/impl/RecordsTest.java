package io.pando.cluster.impl;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pando.cluster.NodeFeatureReport;
import io.pando.cluster.NodeFeatureReport.FeatureState;
import io.pando.cluster.NodeFeatureReport.FeatureState.Status;
import io.pando.cluster.SessionRecord;
import java.time.Instant;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The binary records of the directory and the feature reports. */
class RecordsTest {

    private static final Instant T = Instant.parse("2026-11-26T01:02:03.456789Z");

    static SessionRecord session() {
        Map<String, Long> res = new LinkedHashMap<>();
        res.put("memory.bytes", 64L << 20);
        res.put("cpu.millis", 250L);
        return new SessionRecord("s-ü-1", "alice", "aes-gcm-encrypt/1.0.0", List.of("node-b.u1", "node-c.u2"), res,
            "node-a", T);
    }

    @Test
    void sessionRoundTripsAndEqualRecordsHaveEqualBytes() {
        SessionRecord r = session();
        byte[] bytes = Records.encode(r);
        assertEquals(r, Records.decodeSession(bytes));
        Map<String, Long> otherOrder = new LinkedHashMap<>();
        otherOrder.put("cpu.millis", 250L);
        otherOrder.put("memory.bytes", 64L << 20);
        SessionRecord same = new SessionRecord(r.sessionId(), r.owner(), r.program(), r.units(), otherOrder,
            r.placedBy(), r.placedAt());
        assertArrayEquals(bytes, Records.encode(same));
        SessionRecord bare = new SessionRecord("s", "o", "p", List.of(), Map.of(), "n", Instant.EPOCH);
        assertEquals(bare, Records.decodeSession(Records.encode(bare)));
    }

    @Test
    void attributesRoundTripAsVersion2AndARecordWithoutThemStaysVersion1() {
        SessionRecord plain = session();
        SessionRecord with = new SessionRecord(plain.sessionId(), plain.owner(), plain.program(), plain.units(),
            plain.reservations(), plain.placedBy(), plain.placedAt(),
            Map.of("name", "alice-1", "ingress", "127.0.0.1:7400", "empty", ""));
        byte[] bytes = Records.encode(with);
        assertEquals(2, bytes[1]);
        assertEquals(1, Records.encode(plain)[1]);
        SessionRecord back = Records.decodeSession(bytes);
        assertEquals(with, back);
        assertEquals("alice-1", back.attributes().get("name"));
        assertEquals(with, back.withUnits(List.of("node-b.u1", "node-c.u2")));
        // the version 1 bytes are a prefix: a version 1 reader of old records and this one agree on them
        byte[] v1 = Records.encode(plain);
        assertArrayEquals(Arrays.copyOfRange(v1, 2, v1.length), Arrays.copyOfRange(bytes, 2, v1.length));
    }

    @Test
    void badAttributesAreRefused() {
        SessionRecord r = session();
        assertThrows(IllegalArgumentException.class, () -> new SessionRecord("s", "o", "p", List.of(), Map.of(), "n",
            T, Map.of("name", "a\nb")));
        assertThrows(IllegalArgumentException.class, () -> new SessionRecord("s", "o", "p", List.of(), Map.of(), "n",
            T, Map.of("name", "x".repeat(SessionRecord.MAX_VALUE + 1))));
        assertThrows(IllegalArgumentException.class, () -> new SessionRecord("s", "o", "p", List.of(), Map.of(), "n",
            T, Map.of("", "x")));
        assertEquals(Map.of(), r.attributes());
    }

    @Test
    void reportRoundTrips() {
        NodeFeatureReport r = new NodeFeatureReport("node-a", T, Map.of(
            "pando-policies", new FeatureState(Status.INSTALLED, "", T),
            "vendor-x", new FeatureState(Status.FAILED, "install failed: no such feature", T.plusSeconds(1))));
        assertEquals(r, Records.decodeReport(Records.encode(r)));
    }

    @Test
    void badInputFailsLoudly() {
        byte[] good = Records.encode(session());
        assertMessage("truncated", () -> Records.decodeSession(Arrays.copyOf(good, good.length - 3)));
        assertMessage("2 trailing bytes", () -> Records.decodeSession(Arrays.copyOf(good, good.length + 2)));
        assertMessage("too short", () -> Records.decodeSession(new byte[1]));
        assertMessage("type 2, expected 1", () -> Records.decodeSession(Records.encode(
            new NodeFeatureReport("n", T, Map.of()))));
        byte[] v3 = good.clone();
        v3[1] = 3;
        assertMessage("version 3 is not supported", () -> Records.decodeSession(v3));
        byte[] v2 = good.clone();
        v2[1] = 2; // says it has attributes, has none
        assertMessage("truncated", () -> Records.decodeSession(v2));
        // a negative reservation, which no record may hold
        SessionRecord one = new SessionRecord("s", "o", "p", List.of(), Map.of("r", 1L), "n", Instant.EPOCH);
        byte[] neg = Records.encode(one);
        int at = neg.length - 8 - 4 - 3 - 8; // the reservation's value: before utf "n" (3 bytes) and the instant
        neg[at] = (byte) 0x80;
        assertMessage("reservation r must be >= 0", () -> Records.decodeSession(neg));
    }

    @Test
    void recordsRejectBadValues() {
        assertThrows(IllegalArgumentException.class, () -> new SessionRecord("", "o", "p", List.of(), Map.of(), "n",
            T));
        assertThrows(IllegalArgumentException.class, () -> new SessionRecord("a\nb", "o", "p", List.of(), Map.of(),
            "n", T));
        assertThrows(IllegalArgumentException.class, () -> new SessionRecord("s", "o", "p", List.of(), Map.of("x",
            -1L), "n", T));
        assertThrows(IllegalArgumentException.class, () -> new SessionRecord("s".repeat(129), "o", "p", List.of(),
            Map.of(), "n", T));
        assertThrows(NullPointerException.class, () -> new SessionRecord("s", null, "p", List.of(), Map.of(), "n",
            T));
    }

    private static void assertMessage(String part, org.junit.jupiter.api.function.Executable e) {
        IllegalArgumentException x = assertThrows(IllegalArgumentException.class, e);
        assertTrue(x.getMessage().contains(part), x.getMessage());
    }
}
