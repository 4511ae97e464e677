package io.pando.system;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * Acceptance 1, one node: the Karaf assembly routes real streams through its distribution unit, two parallel AR
 * units and the aggregation unit. A passthrough session over two units with round-robin load balancing delivers
 * 100,000 datagrams exactly once and intact, half through each unit; an {@code aes-gcm-encrypt} session delivers
 * datagrams that the receiver decrypts and verifies; bad console input fails with exit status 1 and a message
 * that names the problem.
 *
 * <p>Ports: SSH 8301, ingress 17400, receivers 17401-17409 (HotSwapIT uses 8302 and 17420-17439; the tests of
 * io.pando.test.system use 8101 and 7400). Work files, console calls included, are under
 * {@code target/system-tests/router}. The figures (rate, latency, reordering) are printed with {@code [router]}.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class RouterIT {

    private static final int SSH_PORT = 8301;
    private static final int INGRESS_PORT = 17400;
    private static final int PASSTHROUGH_RECEIVER = 17401;
    private static final int AES_RECEIVER = 17402;
    private static final int UNUSED_RECEIVER = 17403;
    private static final int BAD_KEY_RECEIVER = 17404;

    /** A 256-bit AES key, for the test only. */
    static final String AES_KEY = "7f3a9c0e5b21d84f6a0c3e7b9d1f2a4c6e8b0d2f4a6c8e0b2d4f6a8c0e2b4d6f";

    private static KarafNode node;

    @BeforeAll
    static void startNode() throws Exception {
        node = KarafNode.create("router", SSH_PORT, INGRESS_PORT);
        node.start();
    }

    @AfterAll
    static void stopNode() throws Exception {
        if (node == null) {
            return;
        }
        node.close();
        String log = node.log();
        long errors = log.lines().filter(l -> l.contains("| ERROR |")).count();
        System.out.println("[router] karaf.log: " + errors + " ERROR lines (" + node.home.resolve("data/log/karaf.log")
            + ")");
        assertFalse(log.contains("LEAK:"), "the node leaked buffers: see " + node.home.resolve("data/log/karaf.log"));
    }

    @Test
    @Order(1)
    void passthroughOverTwoUnitsRoundRobinDeliversEveryDatagramOnce() throws Exception {
        int count = 100_000;
        int size = 1000;
        try (ArtpStream stream = ArtpStream.receive(node, "passthrough", PASSTHROUGH_RECEIVER, count, null, 0)) {
            Map<String, Object> created = node.consoleJson("pando:session-create --name rr-passthrough "
                + "--program passthrough --units 2 --policy round-robin --to 127.0.0.1:" + PASSTHROUGH_RECEIVER
                + " --json");
            String id = JsonValue.str(created, "id");
            assertEquals("active", created.get("state"), created.toString());
            assertEquals("passthrough", created.get("program"), created.toString());
            assertEquals("round-robin", created.get("load_balancing"), created.toString());
            assertEquals("127.0.0.1:" + INGRESS_PORT, created.get("ingress"), created.toString());
            assertEquals("127.0.0.1:" + PASSTHROUGH_RECEIVER, created.get("destination"), created.toString());
            assertEquals(List.of("u1", "u2"), JsonValue.list(created, "units").stream().sorted().toList(),
                created.toString());

            stream.send(id, size, 0);
            assertEquals(0, stream.awaitSender(170), "send exit status" + stream.sender().describe());

            // the sender ends once the ingress acknowledged everything; the tail may still be on its way out
            Map<String, Object> info = awaitDelivered(id, count);
            Map<String, Object> counters = JsonValue.obj(info, "counters");
            assertEquals(count, JsonValue.num(counters, "datagrams_in"), "session datagrams_in " + info);
            assertEquals(count, JsonValue.num(counters, "datagrams_out"), "session datagrams_out " + info);
            long u1 = JsonValue.num(info, "unit_counters", "u1", "datagrams_in");
            long u2 = JsonValue.num(info, "unit_counters", "u2", "datagrams_in");
            assertEquals(count, u1 + u2, "the units' datagrams add up " + info);
            for (String unit : List.of("u1", "u2")) {
                long in = JsonValue.num(info, "unit_counters", unit, "datagrams_in");
                assertTrue(in >= count * 45L / 100 && in <= count * 55L / 100,
                    unit + " got about half (45-55 %) of the datagrams: " + in + " of " + count + "\n" + info);
                assertEquals(0, JsonValue.num(info, "unit_counters", unit, "program_errors"), unit + " " + info);
                assertEquals(in, JsonValue.num(info, "unit_counters", unit, "datagrams_out"), unit + " " + info);
            }

            Map<String, Object> closed = node.consoleJson("pando:session-close --json " + id);
            assertEquals("closed", closed.get("state"), "session-close reports the session closed: " + closed);
            assertEquals(count, JsonValue.num(closed, "counters", "datagrams_out"), "final counters " + closed);

            ArtpStream.Result r = stream.finish(60);
            r.assertDeliveredExactlyOnce();
            assertEquals(1, JsonValue.num(r.recv(), "closed_orderly"),
                "the router closed its connection to the destination in order" + r.context());
            printFigures("passthrough, 2 units, round-robin", size, r, closed);
        }
    }

    @Test
    @Order(2)
    void aesGcmEncryptSessionDeliversDatagramsTheReceiverDecrypts() throws Exception {
        int count = 20_000;
        int size = 1000;
        try (ArtpStream stream = ArtpStream.receive(node, "aes-gcm", AES_RECEIVER, count, AES_KEY, 0)) {
            Map<String, Object> created = node.consoleJson("pando:session-create --name aes-gcm "
                + "--program aes-gcm-encrypt --param key=" + AES_KEY + " --units 2 --to 127.0.0.1:" + AES_RECEIVER
                + " --json");
            String id = JsonValue.str(created, "id");
            assertEquals("aes-gcm-encrypt", created.get("program"), created.toString());

            stream.send(id, size, 0);
            assertEquals(0, stream.awaitSender(170), "send exit status" + stream.sender().describe());
            Map<String, Object> info = awaitDelivered(id, count);
            for (String unit : List.of("u1", "u2")) {
                assertEquals(0, JsonValue.num(info, "unit_counters", unit, "program_errors"), unit + " " + info);
            }
            Map<String, Object> closed = node.consoleJson("pando:session-close --json " + id);
            assertEquals("closed", closed.get("state"), closed.toString());

            ArtpStream.Result r = stream.finish(60);
            r.assertDeliveredExactlyOnce();
            assertEquals(0, JsonValue.num(r.recv(), "decrypt_failures"), "decrypt failures" + r.context());
            printFigures("aes-gcm-encrypt, 2 units", size, r, closed);
        }
    }

    @Test
    @Order(3)
    void badConsoleInputFailsWithAClearMessage() throws Exception {
        String to = " --to 127.0.0.1:" + UNUSED_RECEIVER;
        // {command, what the error message must name}
        List<List<String>> cases = List.of(
            List.of("pando:session-create --name bad-program --program no-such-program" + to,
                "no active program 'no-such-program'"),
            List.of("pando:session-create --name bad-units --program passthrough --units 9" + to,
                "asked for 9 units"),
            List.of("pando:session-create --name bad-port --program passthrough --to 127.0.0.1:99999",
                "'99999'"),
            List.of("pando:session-create --name bad-port-text --program passthrough --to 127.0.0.1:http",
                "'http'"),
            List.of("pando:session-info 4242424242", "no session 4242424242"),
            List.of("pando:session-close 4242424242", "no session 4242424242"),
            List.of("pando:session-info not-a-number", "'not-a-number'"),
            List.of("pando:policy-set load-balancing no-such-policy", "no load-balancing policy 'no-such-policy'"),
            List.of("pando:policy-set scheduler no-such-scheduler", "no-such-scheduler"));
        StringBuilder failures = new StringBuilder();
        for (List<String> c : cases) {
            KarafNode.Console out = node.console(c.get(0));
            System.out.println("[router] bad input: " + c.get(0) + " -> exit " + out.exit() + ": "
                + out.err().strip().lines().findFirst().orElse(""));
            if (out.exit() != 1) {
                failures.append("\nexit status ").append(out.exit()).append(", expected 1").append(out.describe());
            } else if (!out.err().contains(c.get(1))) {
                failures.append("\nthe message does not name ").append(c.get(1)).append(out.describe());
            } else if (out.err().contains("Exception") || out.err().contains("\tat ")) {
                failures.append("\na stack trace instead of a message").append(out.describe());
            }
        }
        assertEquals("", failures.toString(), "bad console input");
        // nothing of the refused commands stayed behind
        List<Map<String, Object>> sessions = sessions();
        assertTrue(sessions.stream().noneMatch(s -> String.valueOf(s.get("name")).startsWith("bad-")),
            "no refused session was created: " + sessions);
        Map<String, Object> stats = node.consoleJson("pando:stats --json");
        System.out.println("[router] after the bad input: sessions created " + JsonValue.num(stats, "counters",
            "sessions_created") + ", open " + JsonValue.num(stats, "counters", "sessions_open"));
    }

    /**
     * A session whose program cannot run with its parameters is refused when it is created (the program's
     * validate on each unit), not accepted only to fail on every datagram.
     */
    @Test
    @Order(4)
    void sessionWithAMalformedProgramParameterIsRefused() throws Exception {
        try (ArtpStream stream = ArtpStream.receive(node, "bad-key", BAD_KEY_RECEIVER, 1, null, 0)) {
            KarafNode.Console out = node.console("pando:session-create --name bad-key --program aes-gcm-encrypt "
                + "--param key=0011 --to 127.0.0.1:" + BAD_KEY_RECEIVER + " --json");
            assertEquals(1, out.exit(), "a malformed key is refused at once" + out.describe());
            assertTrue(out.err().contains("key"), out.describe());
        }
    }

    /**
     * {@code pando:program-verify} checks a program bundle on the node as an upload is checked: the AES-GCM example
     * passes, the CLI jar (threads, files, sockets...) is refused with its reasons and a failing exit status.
     */
    @Test
    @Order(5)
    void programVerifyChecksAProgramBundle() throws Exception {
        java.nio.file.Path aes;
        try (java.util.stream.Stream<java.nio.file.Path> s = java.nio.file.Files.walk(node.home.resolve("system/io/pando/pando-ep-aes-gcm"))) {
            aes = s.filter(p -> p.toString().endsWith(".jar")).findFirst().orElseThrow();
        }
        KarafNode.Console ok = node.console("pando:program-verify --json " + aes);
        assertEquals(0, ok.exit(), ok.describe());
        assertTrue(ok.out().contains("\"accepted\":true"), ok.describe());
        KarafNode.Console refused = node.console("pando:program-verify " + node.home.resolve("lib/pando/pando-cli.jar"));
        assertEquals(1, refused.exit(), refused.describe());
        assertTrue(refused.out().contains("refused") && refused.out().contains("java.lang.Thread"), refused.describe());
        System.out.println("[router] program-verify: aes-gcm accepted; pando-cli.jar refused: "
            + refused.err().strip());
    }

    /** Polls session-info until the session delivered {@code count} datagrams (at most 60 s); @return the last info */
    private static Map<String, Object> awaitDelivered(String id, long count) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        Map<String, Object> info;
        do {
            info = node.consoleJson("pando:session-info --json " + id);
            if (JsonValue.num(info, "counters", "datagrams_out") >= count) {
                return info;
            }
            Thread.sleep(200);
        } while (System.nanoTime() < deadline);
        return info;
    }

    private static List<Map<String, Object>> sessions() throws Exception {
        KarafNode.Console c = node.consoleOk("pando:sessions --json");
        return c.jsonArray();
    }

    static void printFigures(String what, int size, ArtpStream.Result r, Map<String, Object> session) {
        Map<String, Object> recv = r.recv();
        Map<String, Object> counters = JsonValue.obj(session, "counters");
        Map<String, Object> units = JsonValue.obj(session, "unit_counters");
        StringBuilder perUnit = new StringBuilder();
        for (String unit : units.keySet()) {
            Map<String, Object> u = JsonValue.obj(units, unit);
            long in = JsonValue.num(u, "datagrams_in");
            perUnit.append(String.format(Locale.ROOT, " %s: %d datagrams, %.1f us cpu each, buffer high water %d B, "
                    + "quota overflows %d, program errors %d;", unit, in,
                in == 0 ? 0.0 : JsonValue.num(u, "cpu_ns") / 1e3 / in, JsonValue.num(u, "buffer_high_water"),
                JsonValue.num(u, "quota_overflows"), JsonValue.num(u, "program_errors")));
        }
        System.out.printf(Locale.ROOT, "[router] %s: %d x %d B in %.2f s: received %.0f datagrams/s (%.1f Mbit/s), "
                + "sender %.0f datagrams/s; latency p50 %.1f ms, p99 %.1f ms, max %.1f ms; out of order at the "
                + "receiver %d, at the aggregation %d (max displacement %d); egress retransmitted %d%n",
            what, JsonValue.num(r.send(), "sent"), size, JsonValue.dbl(recv, "seconds"),
            JsonValue.dbl(recv, "datagrams_per_s"), JsonValue.dbl(recv, "mbit_per_s"),
            JsonValue.dbl(r.send(), "datagrams_per_s"), JsonValue.dbl(recv, "latency_us", "p50") / 1e3,
            JsonValue.dbl(recv, "latency_us", "p99") / 1e3, JsonValue.dbl(recv, "latency_us", "max") / 1e3,
            JsonValue.num(recv, "reordered"), JsonValue.num(counters, "out_of_order"),
            JsonValue.num(counters, "max_displacement"), JsonValue.num(counters, "egress_artp_retransmitted"));
        System.out.println("[router] " + what + ": per unit" + perUnit);
    }
}
