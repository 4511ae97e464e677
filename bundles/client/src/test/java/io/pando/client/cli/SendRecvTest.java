package io.pando.client.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.DatagramSocket;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** send -> recv over loopback through the real CLI entry point, both in this JVM. */
@Timeout(120)
class SendRecvTest {

    private static final Pattern LISTENING = Pattern.compile("listening on (\\S+)");

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

    @Test
    void deliversEveryDatagramOnce() throws Exception {
        Cli recv = Cli.start("artp", "recv", "--listen", "127.0.0.1:0", "--count", "3000", "--timeout", "60", "--json");
        String to = listenAddress(recv);
        Cli send = Cli.start("artp", "send", "--to", to, "--count", "3000", "--size", "3000", "--json");
        int sendExit = send.exitCode(90);
        int recvExit = recv.exitCode(90);
        assertEquals(0, sendExit, () -> "send: " + send.out + send.err);
        assertEquals(0, recvExit, () -> "recv: " + recv.out + recv.err);

        Map<String, Object> r = recv.json();
        assertEquals(3000, num(r, "received"));
        assertEquals(0, num(r, "duplicates"));
        assertEquals(0, num(r, "corrupt"));
        assertEquals(3000L * 3000, num(r, "bytes"));
        assertTrue(num(r, "reordered") >= 0);
        assertTrue(r.get("seconds") instanceof Number && r.get("datagrams_per_s") instanceof Number
            && r.get("mbit_per_s") instanceof Number, r::toString);
        Map<String, Object> latency = obj(r, "latency_us");
        assertTrue(num(latency, "p50") <= num(latency, "p99"));
        assertEquals(3000, num(latency, "samples"));
        assertEquals(3000, num(obj(r, "artp"), "datagrams_delivered"));
        assertEquals("count", r.get("stopped"));

        Map<String, Object> s = send.json();
        assertEquals(Boolean.TRUE, s.get("ok"));
        assertEquals(3000, num(s, "sent"));
        assertEquals(3000L * 3000, num(s, "bytes"));
        assertTrue(num(s, "retransmitted") >= 0);
        assertEquals(3000, num(obj(s, "artp"), "datagrams_sent"));
        assertTrue(s.get("seconds") instanceof Number && s.get("datagrams_per_s") instanceof Number
            && s.get("mbit_per_s") instanceof Number, s::toString);
    }

    @Test
    void pacesToTheRate() throws Exception {
        Cli recv = Cli.start("artp", "recv", "--listen", "127.0.0.1:0", "--count", "400", "--timeout", "60",
            "--session", "42", "--json");
        String to = listenAddress(recv);
        long start = System.nanoTime();
        Cli send = Cli.start("artp", "send", "--to", to, "--count", "400", "--size", "64", "--rate", "1000",
            "--session", "42", "--json");
        assertEquals(0, send.exitCode(60), () -> "send: " + send.out + send.err);
        double elapsed = (System.nanoTime() - start) / 1e9;
        assertEquals(0, recv.exitCode(60), () -> "recv: " + recv.out + recv.err);
        assertEquals(400, num(recv.json(), "received"));
        // 400 datagrams at 1000/s take about 0.4 s (the bucket starts with a 5 ms burst)
        assertTrue(elapsed >= 0.35, "finished in " + elapsed + " s: not paced");
        double rate = ((Number) recv.json().get("datagrams_per_s")).doubleValue();
        assertTrue(rate < 1300, "received at " + rate + " datagrams/s");
    }

    @Test
    void recvReportsMissingDatagrams() throws Exception {
        Cli recv = Cli.start("artp", "recv", "--listen", "127.0.0.1:0", "--count", "100", "--idle", "1",
            "--timeout", "30", "--json");
        String to = listenAddress(recv);
        Cli send = Cli.start("artp", "send", "--to", to, "--count", "60", "--size", "100");
        assertEquals(0, send.exitCode(60), () -> "send: " + send.out + send.err);
        assertEquals(1, recv.exitCode(60));
        assertTrue(recv.err.toString().contains("idle: no datagram for 1.0 s, 60 of 100 datagrams received"),
            recv.err::toString);
        assertEquals(60, num(recv.json(), "received"));
    }

    @Test
    void recvWithoutCountSucceedsOnIdle() throws Exception {
        Cli recv = Cli.start("artp", "recv", "--listen", "127.0.0.1:0", "--idle", "1", "--timeout", "30", "--json");
        String to = listenAddress(recv);
        Cli send = Cli.start("artp", "send", "--to", to, "--count", "10", "--size", "24");
        assertEquals(0, send.exitCode(60), () -> "send: " + send.out + send.err);
        assertEquals(0, recv.exitCode(60), () -> "recv: " + recv.out + recv.err);
        assertEquals(10, num(recv.json(), "received"));
        assertEquals("idle", recv.json().get("stopped"));
    }

    @Test
    void wrongSessionIsRefused() throws Exception {
        Cli recv = Cli.start("artp", "recv", "--listen", "127.0.0.1:0", "--session", "7", "--timeout", "3");
        String to = listenAddress(recv);
        Cli send = Cli.start("artp", "send", "--to", to, "--count", "1", "--size", "24", "--session", "8",
            "--timeout", "10");
        assertEquals(1, send.exitCode(30));
        assertTrue(send.err.toString().contains("connect to " + to + " failed"), send.err::toString);
        recv.exitCode(30);
    }

    @Test
    void connectTimesOutWhenNobodyListens() throws Exception {
        int port;
        try (DatagramSocket s = new DatagramSocket(0)) {
            port = s.getLocalPort();
        }
        Cli send = Cli.start("artp", "send", "--to", "127.0.0.1:" + port, "--count", "1", "--size", "24",
            "--timeout", "1.5");
        assertEquals(1, send.exitCode(30));
        String err = send.err.toString();
        assertTrue(err.contains("connect to 127.0.0.1:" + port), err);
    }
}
