package io.pando.control.protocol;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.Unpooled;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** Round trips of every message and the refusal of malformed ones (docs/control.md, sections 2-4). */
class ControlCodecTest {

    private static final byte[] TOKEN = new byte[32];
    private static final InetSocketAddress DEST = new InetSocketAddress("127.0.0.1", 9000);
    private static final InetSocketAddress DEST6 = new InetSocketAddress("::1", 9001);

    static {
        Arrays.fill(TOKEN, (byte) 7);
    }

    private static ControlMessage roundTrip(ControlMessage m) {
        ByteBuf b = ControlCodec.encode(PooledByteBufAllocator.DEFAULT, m);
        try {
            int before = b.readerIndex();
            ControlMessage back = ControlCodec.decode(b);
            assertEquals(before, b.readerIndex(), "decode moves no index");
            return back;
        } finally {
            b.release();
        }
    }

    private static ControlMessage.Open open(Map<String, String> params, List<FlowSpec> flows, Resources r,
        Distribution d) {
        return new ControlMessage.Open(42, TOKEN, "passthrough", Optional.of("alice-1"), params, DEST, flows, r, d);
    }

    @Test
    void authRoundTrip() {
        ControlMessage.Auth a = (ControlMessage.Auth) roundTrip(new ControlMessage.Auth(-1L, "alice ü", "pä ss"));
        assertEquals(-1L, a.requestId(), "request ids are unsigned 64-bit");
        assertEquals("alice ü", a.user());
        assertEquals("pä ss", a.password());
    }

    @Test
    void openRoundTripWithEverything() {
        Map<String, String> params = new LinkedHashMap<>();
        params.put("key", "00112233");
        params.put("empty", "");
        params.put("mode", "x".repeat(4096));
        List<FlowSpec> flows = List.of(new FlowSpec(1, "audio", DEST6), new FlowSpec(0xFFFF_FFFFL, "video", DEST));
        ControlMessage.Open o = (ControlMessage.Open) roundTrip(open(params, flows,
            new Resources(1500, 256, 5000, 10_000_000L, 40), new Distribution(Distribution.Mode.SPREAD, 3)));
        assertEquals(42, o.requestId());
        assertArrayEquals(TOKEN, o.token());
        assertEquals("passthrough", o.program());
        assertEquals(Optional.of("alice-1"), o.name());
        assertEquals(params, o.parameters());
        assertEquals(List.copyOf(params.keySet()), List.copyOf(o.parameters().keySet()), "parameter order kept");
        assertEquals(DEST, o.destination());
        assertEquals(flows, o.flows());
        assertEquals(new Resources(1500, 256, 5000, 10_000_000L, 40), o.resources());
        assertEquals(new Distribution(Distribution.Mode.SPREAD, 3), o.distribution());
    }

    @Test
    void openDefaults() {
        ControlMessage.Open o = (ControlMessage.Open) roundTrip(new ControlMessage.Open(1, TOKEN, "p", Optional.empty(),
            Map.of(), DEST, List.of(), Resources.DEFAULT, Distribution.ONE));
        assertEquals(Resources.DEFAULT, o.resources());
        assertEquals(0.5, o.resources().cpus());
        assertEquals(Distribution.ONE, o.distribution());
        assertEquals(Optional.empty(), o.name());
    }

    @Test
    void repliesRoundTrip() {
        ControlMessage.Authed a = (ControlMessage.Authed) roundTrip(new ControlMessage.Authed(3, "bob", TOKEN, 3600));
        assertEquals(3600, a.lifetimeSeconds());
        assertArrayEquals(TOKEN, a.token());

        byte[] key = new byte[32];
        key[31] = 1;
        ControlMessage.Opened o = (ControlMessage.Opened) roundTrip(new ControlMessage.Opened(4, Long.MIN_VALUE, "s-1",
            DEST6, List.of("u1", "node-b.u2"), Optional.of(key)));
        assertEquals(Long.MIN_VALUE, o.sessionId());
        assertEquals(DEST6, o.ingress());
        assertEquals(List.of("u1", "node-b.u2"), o.units());
        assertArrayEquals(key, o.sessionKey().orElseThrow());

        Map<String, Long> counters = new LinkedHashMap<>();
        counters.put("datagrams_in", 10L);
        counters.put("bytes_out", 1L << 40);
        ControlMessage.Closed c = (ControlMessage.Closed) roundTrip(new ControlMessage.Closed(5, 99, counters));
        assertEquals(counters, c.counters());

        SessionSummary s1 = new SessionSummary(7, "a-1", "passthrough", "active", DEST, List.of("u1"), 500, 0,
            Distribution.ONE);
        SessionSummary s2 = new SessionSummary(8, "a-2", "aes-gcm-encrypt", "closing", DEST6, List.of("u1", "u2"), 250,
            1_000_000, new Distribution(Distribution.Mode.SPREAD, 2));
        ControlMessage.ListResult l = (ControlMessage.ListResult) roundTrip(new ControlMessage.ListResult(6,
            List.of(s1, s2)));
        assertEquals(List.of(s1, s2), l.sessions());
        assertEquals(List.of(), ((ControlMessage.ListResult) roundTrip(new ControlMessage.ListResult(6, List.of())))
            .sessions());

        ControlMessage.Refused r = (ControlMessage.Refused) roundTrip(new ControlMessage.Refused(9, RefusalCode.QUOTA,
            "quota: too much"));
        assertEquals(RefusalCode.QUOTA, r.code());
        assertEquals("quota: too much", r.reason());

        ControlMessage.Close close = (ControlMessage.Close) roundTrip(new ControlMessage.Close(10, TOKEN, 77));
        assertEquals(77, close.sessionId());
        assertInstanceOf(ControlMessage.ListSessions.class, roundTrip(new ControlMessage.ListSessions(11, TOKEN)));
    }

    @Test
    void exampleBytesOfTheSpecification() {
        byte[] auth = ControlCodec.toBytes(new ControlMessage.Auth(1, "alice", "s3cret"));
        assertEquals("4010000200014011000800000000000000014012000561" + "6c696365" + "40130006733363726574" + "00000000",
            java.util.HexFormat.of().formatHex(auth));
    }

    @Test
    void longReasonsAreCutOnACharacterBoundary() {
        ControlMessage.Refused r = (ControlMessage.Refused) roundTrip(new ControlMessage.Refused(1,
            RefusalCode.INVALID, "é".repeat(2000)));
        assertTrue(r.reason().getBytes(StandardCharsets.UTF_8).length <= ControlCodec.MAX_REASON);
        assertTrue(r.reason().endsWith("..."));
    }

    @Test
    void unknownRefusalCodesAreKept() {
        ControlMessage.Refused r = (ControlMessage.Refused) roundTrip(new ControlMessage.Refused(1, null, 4711, "new"));
        assertEquals(null, r.code());
        assertEquals(4711, r.wireCode());
    }

    @Test
    void encoderRefusesBadFields() {
        assertThrows(IllegalArgumentException.class, () -> ControlCodec.toBytes(new ControlMessage.Auth(1,
            "u".repeat(65), "p")));
        assertThrows(IllegalArgumentException.class, () -> ControlCodec.toBytes(new ControlMessage.Auth(1, "u", "")));
        assertThrows(IllegalArgumentException.class, () -> ControlCodec.toBytes(new ControlMessage.Open(1, TOKEN,
            "bad name", Optional.empty(), Map.of(), DEST, List.of(), Resources.DEFAULT, Distribution.ONE)));
        assertThrows(IllegalArgumentException.class, () -> ControlCodec.toBytes(new ControlMessage.Close(1,
            new byte[5], 1)));
        assertThrows(IllegalArgumentException.class, () -> new Resources(5, 0, 0, 0, -1));
        assertThrows(IllegalArgumentException.class, () -> Distribution.over(65));
        assertThrows(IllegalArgumentException.class, () -> new FlowSpec(0, "f", DEST));
    }

    // ---- malformed input

    private static ControlProtocolException refused(byte[] bytes) {
        return assertThrows(ControlProtocolException.class, () -> ControlCodec.fromBytes(bytes));
    }

    private static byte[] bytes(String hex) {
        return java.util.HexFormat.of().parseHex(hex.replace(" ", ""));
    }

    private static final String HEAD_OPEN = "4010 0002 0002 4011 0008 000000000000002a";

    @Test
    void truncatedFieldsAreRefusedWithTheRequestId() {
        byte[] good = ControlCodec.toBytes(open(Map.of("k", "v"), List.of(), Resources.DEFAULT, Distribution.ONE));
        for (int cut = 0; cut < good.length; cut++) {
            ControlProtocolException e = refused(Arrays.copyOf(good, cut));
            assertEquals(RefusalCode.MALFORMED, e.code(), "cut at " + cut);
            if (cut >= 24) {
                assertEquals(42, e.requestId(), "the request id is reported once read (cut at " + cut + ")");
            }
        }
        assertTrue(refused(Arrays.copyOf(good, good.length - 6)).getMessage().contains("runs past the end")
            || refused(Arrays.copyOf(good, good.length - 6)).getMessage().contains("without END"));
    }

    @Test
    void structuralRules() {
        assertTrue(refused(bytes("0000 0000")).getMessage().contains("first field must be MESSAGE"));
        assertTrue(refused(bytes("4011 0008 0000000000000001 4010 0002 0004 0000 0000")).getMessage()
            .contains("first field must be MESSAGE"));
        assertTrue(refused(bytes("4010 0002 0004 0000 0000")).getMessage().contains("REQUEST_ID"));
        assertTrue(refused(bytes("4010 0003 000400 4011 0008 0000000000000001 0000 0000")).getMessage()
            .contains("MESSAGE has length 2"));
        assertTrue(refused(bytes("4010 0002 0004 4011 0008 0000000000000001 0000 0001 00")).getMessage()
            .contains("END has length 1"));
        String list = "4010 0002 0004 4011 0008 0000000000000005 4014 0020 " + "07".repeat(32);
        ControlProtocolException data = refused(bytes(list + " 0000 0000 ff"));
        assertTrue(data.getMessage().contains("application data after END"), data.getMessage());
        assertEquals(5, data.requestId());
    }

    @Test
    void unknownTypesAndMisplacedFields() {
        String list = "4010 0002 0004 4011 0008 0000000000000005 4014 0020 " + "07".repeat(32);
        assertTrue(refused(bytes(list + " 40ff 0000 0000 0000")).getMessage().contains("unknown field type 0x40FF"));
        assertTrue(refused(bytes(list + " 0001 0001 00 0000 0000")).getMessage().contains("unknown field type 0x0001"));
        assertTrue(refused(bytes(list + " 8000 0000 0000 0000")).getMessage().contains("unknown field type 0x8000"));
        assertTrue(refused(bytes(list + " 4016 0001 70 0000 0000")).getMessage()
            .contains("PROGRAM is not allowed in this message"));
        assertTrue(refused(bytes(list + " 4014 0020 " + "07".repeat(32) + " 0000 0000")).getMessage()
            .contains("TOKEN is given more than once"));
        ControlProtocolException unknown = refused(bytes("4010 0002 0077 4011 0008 0000000000000009 0000 0000"));
        assertEquals(RefusalCode.UNKNOWN_MESSAGE, unknown.code());
        assertEquals(9, unknown.requestId());
    }

    @Test
    void missingAndWrongLengthFields() {
        assertTrue(refused(bytes("4010 0002 0004 4011 0008 0000000000000005 0000 0000")).getMessage()
            .contains("TOKEN is missing"));
        assertTrue(refused(bytes("4010 0002 0004 4011 0008 0000000000000005 4014 0004 01020304 0000 0000"))
            .getMessage().contains("TOKEN has length 32, got 4"));
        String close = "4010 0002 0003 4011 0008 0000000000000005 4014 0020 " + "07".repeat(32);
        assertTrue(refused(bytes(close + " 4021 0008 0000000000000000 0000 0000")).getMessage()
            .contains("SESSION_ID 0"));
    }

    @Test
    void oversizeAndBadTextFields() {
        String auth = "4010 0002 0001 4011 0008 0000000000000001";
        assertTrue(refused(bytes(auth + " 4012 0041 " + "61".repeat(65) + " 4013 0001 70 0000 0000")).getMessage()
            .contains("USER has 1 to 64 bytes, got 65"));
        assertTrue(refused(bytes(auth + " 4012 0000 4013 0001 70 0000 0000")).getMessage()
            .contains("USER has 1 to 64 bytes, got 0"));
        assertTrue(refused(bytes(auth + " 4012 0002 c328 4013 0001 70 0000 0000")).getMessage()
            .contains("not valid UTF-8"));
        assertTrue(refused(bytes(auth + " 4012 0002 610a 4013 0001 70 0000 0000")).getMessage()
            .contains("control character"));
        assertTrue(refused(bytes(auth + " 4012 0001 61 4013 0401 " + "70".repeat(1025) + " 0000 0000")).getMessage()
            .contains("PASSWORD has 1 to 1024 bytes"));
    }

    @Test
    void badOpenValues() {
        String tok = " 4014 0020 " + "07".repeat(32);
        String prog = " 4016 0001 70";
        String dest = " 4019 0007 04 7f000001 2328";
        String end = " 0000 0000";
        assertTrue(refused(bytes(HEAD_OPEN + tok + prog + end)).getMessage().contains("DESTINATION is missing"));
        assertTrue(refused(bytes(HEAD_OPEN + tok + " 4016 0003 612062" + dest + end)).getMessage()
            .contains("PROGRAM has 1 to 64 characters"));
        assertTrue(refused(bytes(HEAD_OPEN + tok + prog + " 4019 0007 05 7f000001 2328" + end)).getMessage()
            .contains("family is 4 or 6"));
        assertTrue(refused(bytes(HEAD_OPEN + tok + prog + " 4019 0007 04 7f000001 0000" + end)).getMessage()
            .contains("port 0"));
        assertTrue(refused(bytes(HEAD_OPEN + tok + prog + " 4019 0008 04 7f000001 2328 00" + end)).getMessage()
            .contains("has 7 bytes"));
        assertTrue(refused(bytes(HEAD_OPEN + tok + prog + dest + " 401b 0004 00000005" + end)).getMessage()
            .contains("CPU_SHARE is in [10, 64000], got 5"));
        assertTrue(refused(bytes(HEAD_OPEN + tok + prog + dest + " 401f 0004 00002711" + end)).getMessage()
            .contains("REORDER is in [0, 10000]"));
        assertTrue(refused(bytes(HEAD_OPEN + tok + prog + dest + " 401e 0008 8000000000000000" + end)).getMessage()
            .contains("BANDWIDTH"));
        assertTrue(refused(bytes(HEAD_OPEN + tok + prog + dest + " 4020 0003 01 0002" + end)).getMessage()
            .contains("ONE has k = 1"));
        assertTrue(refused(bytes(HEAD_OPEN + tok + prog + dest + " 4020 0003 02 0041" + end)).getMessage()
            .contains("SPREAD has k in [2, 64]"));
        assertTrue(refused(bytes(HEAD_OPEN + tok + prog + dest + " 4020 0003 03 0001" + end)).getMessage()
            .contains("mode is 1 (ONE) or 2 (SPREAD)"));
        // PARAMETER: key length beyond the field, bad key, duplicate key, oversize value
        assertTrue(refused(bytes(HEAD_OPEN + tok + prog + dest + " 4018 0002 05 61" + end)).getMessage()
            .contains("PARAMETER key length"));
        assertTrue(refused(bytes(HEAD_OPEN + tok + prog + dest + " 4018 0003 02 612f" + end)).getMessage()
            .contains("PARAMETER key has"));
        assertTrue(refused(bytes(HEAD_OPEN + tok + prog + dest + " 4018 0003 01 6162 4018 0003 01 6163" + end))
            .getMessage().contains("PARAMETER a is given twice"));
        assertTrue(refused(bytes(HEAD_OPEN + tok + prog + dest + " 4018 1003 01 61" + "62".repeat(4097) + end))
            .getMessage().contains("to 4096 bytes"));
        // FLOW: flow 0, duplicate, bad name
        assertTrue(refused(bytes(HEAD_OPEN + tok + prog + dest + " 401a 000d 00000000 01 61 04 7f000001 2328" + end))
            .getMessage().contains("FLOW id is in [1"));
        assertTrue(refused(bytes(HEAD_OPEN + tok + prog + dest + " 401a 000d 00000001 01 61 04 7f000001 2328"
            + " 401a 000d 00000001 01 62 04 7f000001 2328" + end)).getMessage().contains("FLOW 1 is given twice"));
        assertTrue(refused(bytes(HEAD_OPEN + tok + prog + dest + " 401a 000d 00000001 01 20 04 7f000001 2328" + end))
            .getMessage().contains("flow name"));
    }

    @Test
    void tooManyRepeatedFields() {
        StringBuilder params = new StringBuilder();
        for (int i = 0; i < 65; i++) {
            params.append(String.format(" 4018 0003 02 61%02x", 0x30 + (i % 10)));
        }
        String m = HEAD_OPEN + " 4014 0020 " + "07".repeat(32) + " 4016 0001 70 4019 0007 04 7f000001 2328" + params
            + " 0000 0000";
        assertTrue(refused(bytes(m)).getMessage().contains("at most 64 PARAMETER fields"));
    }

    @Test
    void randomBytesOnlyEverFailAsProtocolErrors() {
        Random random = new Random(5);
        byte[] good = ControlCodec.toBytes(open(Map.of("k", "v"), List.of(new FlowSpec(3, "f", DEST6)),
            new Resources(100, 64, 100, 5, 0), Distribution.over(2)));
        for (int i = 0; i < 20_000; i++) {
            byte[] b = i % 2 == 0 ? good.clone() : new byte[random.nextInt(64)];
            if (i % 2 == 0) {
                for (int k = 0; k < 1 + random.nextInt(4); k++) {
                    b[random.nextInt(b.length)] = (byte) random.nextInt(256);
                }
            } else {
                random.nextBytes(b);
            }
            try {
                ControlCodec.decode(Unpooled.wrappedBuffer(b));
            } catch (ControlProtocolException e) {
                assertTrue(e.getMessage() != null && !e.getMessage().isEmpty());
            }
        }
    }
}
