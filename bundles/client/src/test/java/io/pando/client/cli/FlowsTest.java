package io.pando.client.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.pando.artp.ArtpConnection;
import io.pando.artp.ArtpEndpoint;
import io.pando.artp.ArtpHandler;
import io.pando.artp.ControlBlock;
import io.pando.ep.aesgcm.codec.AesGcmCodec;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Flows (docs/artp.md 9.3) through the real CLI entry point over loopback: {@code send --flows} interleaves flow
 * datagrams, {@code recv} strips the FLOW prefix, checks and counts per flow, and {@code recv --flows} refuses
 * flows it was not told of. Crafted datagrams come from a plain ARTP endpoint in this JVM.
 */
@Timeout(120)
class FlowsTest {

    private static final Pattern LISTENING = Pattern.compile("listening on (\\S+)");
    private static final String KEY_HEX = "000102030405060708090a0b0c0d0e0f";

    private static String listenAddress(Cli recv) throws InterruptedException {
        recv.awaitOutput("listening on", 20);
        Matcher m = LISTENING.matcher(recv.out.toString());
        assertTrue(m.find());
        return m.group(1);
    }

    private static long num(Map<String, Object> json, String field) {
        Object v = json.get(field);
        assertTrue(v instanceof Number, () -> field + " missing in " + json);
        return ((Number) v).longValue();
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> obj(Map<String, Object> json, String field) {
        Object v = json.get(field);
        assertTrue(v instanceof Map, () -> field + " missing in " + json);
        return (Map<String, Object>) v;
    }

    /** @return the figures of one flow in recv's JSON: received, duplicates, reordered, corrupt, bytes */
    private static Map<String, Object> flow(Map<String, Object> recvJson, long flow) {
        return obj(obj(recvJson, "flows"), Long.toString(flow));
    }

    @Test
    void sendInterleavesFlowsRoundRobinAndRecvChecksEachFlow() throws Exception {
        Cli recv = Cli.start("artp", "recv", "--listen", "127.0.0.1:0", "--count", "3000", "--timeout", "60", "--json");
        String to = listenAddress(recv);
        Cli send = Cli.start("artp", "send", "--to", to, "--count", "3000", "--size", "500", "--flows", "0,7,4294967295",
            "--json");
        assertEquals(0, send.exitCode(90), () -> "send: " + send.out + send.err);
        assertEquals(0, recv.exitCode(90), () -> "recv: " + recv.out + recv.err);

        Map<String, Object> r = recv.json();
        assertEquals(3000, num(r, "received"));
        assertEquals(0, num(r, "duplicates"));
        assertEquals(0, num(r, "corrupt"));
        assertEquals(3000L * 500, num(r, "bytes"), "bytes counts the data, not the FLOW prefix");
        assertEquals(3, obj(r, "flows").size(), r::toString);
        for (long f : new long[] {0, 7, 4294967295L}) {
            Map<String, Object> fr = flow(r, f);
            assertEquals(1000, num(fr, "received"), () -> "flow " + f + ": " + fr);
            assertEquals(0, num(fr, "duplicates"));
            assertEquals(0, num(fr, "corrupt"));
            assertEquals(1000L * 500, num(fr, "bytes"));
            assertTrue(num(fr, "reordered") >= 0);
        }
        assertFalse(r.containsKey("unexpected_flow"), r::toString);
        // flow 0 as DATA, the others as CONTROL datagrams 12 bytes longer
        Map<String, Object> artp = obj(r, "artp");
        assertEquals(3000, num(artp, "datagrams_delivered"));
        String out = recv.out.toString();
        assertTrue(out.contains("flow 0: received 1000 datagrams (500000 B), duplicates 0, reordered "), out);
        assertTrue(out.contains("flow 7: received 1000 datagrams (500000 B), duplicates 0, reordered "), out);
        assertTrue(out.contains("flow 4294967295: received 1000 datagrams (500000 B), duplicates 0, reordered "), out);
        assertTrue(out.indexOf("flow 0:") < out.indexOf("flow 7:") && out.indexOf("flow 7:") < out.indexOf("artp "), out);

        Map<String, Object> s = send.json();
        assertEquals(Boolean.TRUE, s.get("ok"));
        assertEquals(3000, num(s, "sent"));
        assertEquals(3000L * 500, num(s, "bytes"));
        assertEquals(3, obj(s, "flows").size());
        assertEquals(1000, num(obj(obj(s, "flows"), "7"), "sent"));
        assertEquals(1000L * 500, num(obj(obj(s, "flows"), "7"), "bytes"));
        assertTrue(send.out.toString().contains("flow 0: sent 1000 datagrams (500000 B) as DATA"), send.out::toString);
        assertTrue(send.out.toString().contains("flow 7: sent 1000 datagrams (500000 B) as flow datagrams"),
            send.out::toString);
    }

    @Test
    void aSingleFlowOtherThanZeroAndAnUnevenSplit() throws Exception {
        Cli recv = Cli.start("artp", "recv", "--listen", "127.0.0.1:0", "--count", "10", "--timeout", "60",
            "--flows", "5", "--flow", "6,9", "--json");
        String to = listenAddress(recv);
        Cli send = Cli.start("artp", "send", "--to", to, "--count", "10", "--size", "24", "--flow", "9",
            "--flow", "5,6", "--json");
        assertEquals(0, send.exitCode(60), () -> "send: " + send.out + send.err);
        assertEquals(0, recv.exitCode(60), () -> "recv: " + recv.out + recv.err);
        Map<String, Object> r = recv.json();
        assertEquals(10, num(r, "received"));
        assertEquals(0, num(r, "unexpected_flow"));
        // round robin over 9, 5, 6: 9 gets datagrams 0, 3, 6, 9
        assertEquals(4, num(flow(r, 9), "received"));
        assertEquals(3, num(flow(r, 5), "received"));
        assertEquals(3, num(flow(r, 6), "received"));
        assertEquals(List.of("5", "6", "9"), List.copyOf(obj(r, "flows").keySet()), "sorted by id");
        assertEquals(List.of("9", "5", "6"), List.copyOf(obj(send.json(), "flows").keySet()), "in the order given");
        assertEquals(4, num(obj(obj(send.json(), "flows"), "9"), "sent"));
    }

    @Test
    void withoutFlowsEverythingIsFlowZeroAndTheOutputIsAsBefore() throws Exception {
        Cli recv = Cli.start("artp", "recv", "--listen", "127.0.0.1:0", "--count", "50", "--timeout", "60", "--json");
        String to = listenAddress(recv);
        Cli send = Cli.start("artp", "send", "--to", to, "--count", "50", "--size", "100", "--json");
        assertEquals(0, send.exitCode(60), () -> "send: " + send.out + send.err);
        assertEquals(0, recv.exitCode(60), () -> "recv: " + recv.out + recv.err);
        Map<String, Object> r = recv.json();
        assertEquals(List.of("0"), List.copyOf(obj(r, "flows").keySet()));
        assertEquals(50, num(flow(r, 0), "received"));
        assertFalse(recv.out.toString().contains("flow 0:"), recv.out::toString);
        assertFalse(send.out.toString().contains("flow 0:"), send.out::toString);
        assertEquals(50, num(obj(obj(send.json(), "flows"), "0"), "sent"));
    }

    @Test
    void recvRefusesFlowsItWasNotToldOf() throws Exception {
        Cli recv = Cli.start("artp", "recv", "--listen", "127.0.0.1:0", "--idle", "1", "--timeout", "60",
            "--flows", "1", "--json");
        String to = listenAddress(recv);
        Cli send = Cli.start("artp", "send", "--to", to, "--count", "100", "--size", "64", "--flows", "1,2");
        assertEquals(0, send.exitCode(60), () -> "send: " + send.out + send.err);
        assertEquals(1, recv.exitCode(60), () -> "recv: " + recv.out + recv.err);
        Map<String, Object> r = recv.json();
        assertEquals(50, num(r, "unexpected_flow"));
        assertEquals(50, num(flow(r, 2), "received"), "counted and checked all the same");
        assertEquals(100, num(r, "received"));
        assertTrue(recv.err.toString().contains("unexpected flows: 50 datagrams of flows not in --flows (flow 2: 50)"),
            recv.err::toString);
        assertTrue(Pattern.compile("flow 2: received 50 datagrams \\(3200 B\\), duplicates 0, reordered \\d+, corrupt 0 "
            + "\\(not in --flows\\)").matcher(recv.out.toString()).find(), recv.out::toString);
    }

    @Test
    void recvWantsEveryListedFlow() throws Exception {
        Cli recv = Cli.start("artp", "recv", "--listen", "127.0.0.1:0", "--idle", "1", "--timeout", "60",
            "--flows", "1,2", "--json");
        String to = listenAddress(recv);
        Cli send = Cli.start("artp", "send", "--to", to, "--count", "20", "--size", "64", "--flows", "1");
        assertEquals(0, send.exitCode(60), () -> "send: " + send.out + send.err);
        assertEquals(1, recv.exitCode(60), () -> "recv: " + recv.out + recv.err);
        assertTrue(recv.err.toString().contains("flow 2: no datagram received"), recv.err::toString);
        Map<String, Object> r = recv.json();
        assertEquals(0, num(flow(r, 2), "received"));
        assertEquals(20, num(flow(r, 1), "received"));
        assertTrue(recv.out.toString().contains("flow 2: received 0 datagrams (0 B), duplicates 0, reordered 0, "
            + "corrupt 0"), recv.out::toString);
    }

    /** A datagram as a plain endpoint sends it. */
    private record Raw(byte[] bytes, boolean control) {
    }

    private static byte[] payload(long seq, int size) {
        ByteBuf buf = Unpooled.buffer(size);
        try {
            Payload.encode(buf, seq, System.nanoTime(), size);
            return ByteBufUtil.getBytes(buf);
        } finally {
            buf.release();
        }
    }

    /** @return a flow datagram of {@code flow} carrying {@code data} */
    private static Raw onFlow(long flow, byte[] data) {
        ByteBuf buf = Unpooled.buffer(ControlBlock.FLOW_PREFIX + data.length);
        try {
            ControlBlock.writeFlowPrefix(buf, flow);
            buf.writeBytes(data);
            return new Raw(ByteBufUtil.getBytes(buf), true);
        } finally {
            buf.release();
        }
    }

    private static void send(String to, long session, List<Raw> datagrams) throws Exception {
        try (ArtpEndpoint endpoint = ArtpEndpoint.builder().handler(new ArtpHandler() {
            @Override
            public void datagram(ArtpConnection connection, ByteBuf datagram, boolean control) {
                datagram.release();
            }
        }).start()) {
            ArtpConnection conn = endpoint.connect(HostPort.parse(to), session, null).toCompletableFuture()
                .get(20, TimeUnit.SECONDS);
            for (Raw d : datagrams) {
                if (d.control()) {
                    conn.sendControl(Unpooled.wrappedBuffer(d.bytes()));
                } else {
                    conn.send(Unpooled.wrappedBuffer(d.bytes()));
                }
            }
            conn.close().toCompletableFuture().get(60, TimeUnit.SECONDS);
        }
    }

    @Test
    void eachFlowIsItsOwnSequenceSpaceAndOnlyFlowDatagramsAreData() throws Exception {
        Cli recv = Cli.start("artp", "recv", "--listen", "127.0.0.1:0", "--idle", "1", "--timeout", "60", "--json");
        String to = listenAddress(recv);
        List<Raw> d = new ArrayList<>();
        d.add(new Raw(payload(0, 40), false));       // flow 0 as DATA
        d.add(onFlow(0, payload(1, 40)));            // flow 0 as a flow datagram: the same flow
        d.add(onFlow(1, payload(0, 40)));            // the same numbers on flow 1 and 2 are no duplicates
        d.add(onFlow(1, payload(1, 40)));
        d.add(onFlow(2, payload(1, 40)));
        d.add(onFlow(2, payload(0, 40)));
        d.add(onFlow(1, payload(1, 40)));            // a duplicate on flow 1
        byte[] bad = payload(2, 40);
        bad[30] ^= 1;
        d.add(onFlow(2, bad));                       // corrupt on flow 2
        ByteBuf info = Unpooled.buffer();
        ControlBlock.writeLong(info, ControlBlock.FLOW, 0); // FLOW of length 8: control information, not a flow datagram
        ControlBlock.writeEnd(info);
        info.writeBytes(payload(3, 40));
        d.add(new Raw(ByteBufUtil.getBytes(info), true));
        info.release();
        send(to, 11, d);

        assertEquals(1, recv.exitCode(60), () -> "recv: " + recv.out + recv.err);
        Map<String, Object> r = recv.json();
        assertEquals(6, num(r, "received"));
        assertEquals(1, num(r, "duplicates"));
        assertEquals(2, num(r, "corrupt"), "the corrupt datagram of flow 2 and the control information");
        assertEquals(2, num(flow(r, 0), "received"));
        assertEquals(2, num(flow(r, 1), "received"));
        assertEquals(1, num(flow(r, 1), "duplicates"));
        assertEquals(2, num(flow(r, 2), "received"));
        assertEquals(1, num(flow(r, 2), "corrupt"));
        // ARTP delivers unordered: how many arrive out of order varies, but the flows add up to the whole
        assertEquals(num(r, "reordered"), num(flow(r, 0), "reordered") + num(flow(r, 1), "reordered")
            + num(flow(r, 2), "reordered"));
        assertEquals(3, obj(r, "flows").size());
        assertTrue(recv.err.toString().contains("corrupt: 2 datagrams failed the payload check"), recv.err::toString);
    }

    @Test
    void flowDatagramsAreDecryptedAfterTheirPrefix() throws Exception {
        long session = 12;
        byte[] key = AesGcmCodec.parseKey(KEY_HEX);
        Cli recv = Cli.start("artp", "recv", "--listen", "127.0.0.1:0", "--count", "200", "--timeout", "60",
            "--session", "12", "--aes-gcm-key", KEY_HEX, "--flows", "0,3", "--json");
        String to = listenAddress(recv);
        List<Raw> d = new ArrayList<>();
        for (int i = 0; i < 100; i++) {
            d.add(new Raw(AesGcmCodec.encrypt(key, session, AesGcmCodec.nonce(1, 2 * i), payload(i, 300)), false));
            d.add(onFlow(3, AesGcmCodec.encrypt(key, session, AesGcmCodec.nonce(1, 2 * i + 1), payload(i, 600 + i))));
        }
        send(to, session, d);
        assertEquals(0, recv.exitCode(60), () -> "recv: " + recv.out + recv.err);
        Map<String, Object> r = recv.json();
        assertEquals(200, num(r, "received"));
        assertEquals(0, num(r, "decrypt_failures"));
        assertEquals(100, num(flow(r, 0), "received"));
        assertEquals(100L * 300, num(flow(r, 0), "bytes"));
        assertEquals(100, num(flow(r, 3), "received"));
        assertEquals(100L * 600 + 99 * 100 / 2, num(flow(r, 3), "bytes"), "the plaintext of growing datagrams");
    }
}
