package io.pando.system;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
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
 * Acceptance 1 and 7 of the control unit issue, end to end on three Karaf processes made from the assembly: users
 * open, list and close sessions with the {@code pando session} command line against node A's control unit
 * (docs/control.md), and data flows through the sessions they open.
 *
 * <p>Node A runs the distribution and aggregation units without local units (boot feature {@code pando-router-node})
 * and uses the units of nodes B and C (boot feature {@code pando-unit-node}, one unit each, b1 and c1), as
 * MultiNodeIT does; {@code feature:install pando-control} adds the control unit on A, which checks users against
 * Karaf's {@code karaf} JAAS realm ({@code etc/users.properties}: the administrator {@code pando} plus {@code alice}
 * and {@code bob}). Alice's quota is one session and one core of CPU share, so that both quotas can be exceeded.
 *
 * <p>What it shows: alice opens a passthrough session spread over b1 and c1 and 50,000 datagrams cross it exactly
 * once and intact, both units serving it; bob, with a session of his own, neither sees nor closes hers ("not your
 * session"), nor she his; a wrong
 * password, an unknown user and requests over alice's quotas are refused with their reasons and non-zero exit
 * statuses; closing the session removes it from the router and releases her quota, so she opens again.
 *
 * <p>Ports: SSH 9001-9003, everything else in 18000-18099 (A 1800x, B 1801x, C 1802x, receivers 18030-18039).
 * Work files, every CLI and console call included, are under {@code target/system-tests/control-*}. The figures are
 * printed with {@code [control]}.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ControlIT {

    private static final String HOST = "127.0.0.1";
    private static final int INGRESS = 18000;
    private static final int EGRESS = 18001;
    private static final int AGGREGATION_DATA = 18002;
    private static final int CONTROL = 18003;
    private static final int B_CONTROL = 18010;
    private static final int C_CONTROL = 18020;
    private static final int RECEIVER = 18030;
    private static final int SECOND_RECEIVER = 18031;
    private static final int BOB_RECEIVER = 18032;
    /** A destination nobody listens on: every request sent there is refused before the router connects to it. */
    private static final int NO_RECEIVER = 18039;

    private static final int COUNT = 50_000;
    private static final int SIZE = 1000;
    /** CPU share per unit of alice's session, in cores (0.5 core over both units). */
    private static final String CPUS = "0.25";

    private static final long BOOT_SECONDS = 300;
    private static final long STALL_SECONDS = 120;

    private static final String ALICE_PASSWORD = "alice-s3cret";
    private static final String BOB_PASSWORD = "bob-s3cret";

    private static final List<KarafNode> NODES = new ArrayList<>();
    private static KarafNode a;
    private static Path cliDir;
    private static SessionCli cli;
    private static long classStarted;

    /** Alice's session of the first test, closed by the last. */
    private static String aliceSession;
    private static String aliceKey;
    /** How long alice's {@code pando session open} took, JVM start included. */
    private static double openSeconds;

    @BeforeAll
    static void startThreeNodes() throws Exception {
        classStarted = System.nanoTime();
        a = KarafNode.create("control-a", 9001, INGRESS);
        KarafNode b = KarafNode.create("control-b", 9002, 18012);
        KarafNode c = KarafNode.create("control-c", 9003, 18022);
        NODES.addAll(List.of(a, b, c));

        a.configureRouterNode("pando-router-node", 18004, EGRESS, AGGREGATION_DATA, List.of(B_CONTROL, C_CONTROL));
        Path etc = a.home.resolve("etc");
        // the control unit's configuration, in place before feature:install pando-control (docs/control.md 8)
        Files.writeString(etc.resolve("io.pando.control.cfg"), "# written by ControlIT\n"
            + "host = " + HOST + "\n"
            + "port = " + CONTROL + "\n"
            + "realm = karaf\n"
            + "unit.cpu.capacity = 1.0\n"
            + "quota.sessions = 4\n"
            + "quota.cpus = 2.0\n"
            + "user.quotas = alice=sessions:1,cpus:1.0\n");
        // the karaf realm reads etc/users.properties: two users of the control unit next to the administrator
        Path users = etc.resolve("users.properties");
        Files.writeString(users, Files.readString(users) + "alice = " + ALICE_PASSWORD + "\nbob = " + BOB_PASSWORD
            + "\n");

        b.configureUnitNode("pando-unit-node", "b1", B_CONTROL, 18014);
        c.configureUnitNode("pando-unit-node", "c1", C_CONTROL, 18024);

        cliDir = a.work.resolve("cli");
        Files.createDirectories(cliDir);
        cli = new SessionCli(a, cliDir, HOST + ":" + CONTROL);
        Files.writeString(cliDir.resolve("alice.password"), ALICE_PASSWORD + "\n");
        Files.writeString(cliDir.resolve("bob.password"), BOB_PASSWORD + "\n");
        Files.writeString(cliDir.resolve("wrong.password"), "not-" + ALICE_PASSWORD + "\n");

        // the three Karafs boot together; A answers its console before its remote units are connected. Three JVMs
        // booting on a loaded machine take minutes: allow 300 s, and 120 s without a new log line
        KarafNode.startRouterAndUnitNodes(a, Map.of(b, B_CONTROL, c, C_CONTROL), BOOT_SECONDS, STALL_SECONDS);
        List<String> units = a.awaitUnits(List.of("b1", "c1"), 120);
        System.out.printf(Locale.ROOT, "[control] three nodes booted, A lists the remote units %s after %.1f s%n",
            units, since(classStarted));

        long t0 = System.nanoTime();
        int logBefore = a.log().length();
        a.consoleOk("feature:install pando-control");
        awaitLog(a, "control unit listening on", 60);
        assertFalse(a.log().substring(logBefore).contains("Refreshing bundles"), "installing pando-control "
            + "refreshed bundles (the router restarts): see " + a.home.resolve("data/log/karaf.log"));
        System.out.printf(Locale.ROOT, "[control] feature:install pando-control on A: control unit listening on %s:%d "
            + "after %.1f s%n", HOST, CONTROL, since(t0));
    }

    private static void awaitLog(KarafNode n, String text, long seconds) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (System.nanoTime() < deadline) {
            if (n.log().contains(text)) {
                return;
            }
            Thread.sleep(250);
        }
        throw new AssertionError(n.name + ": no '" + text + "' in karaf.log within " + seconds + " s:\n"
            + tail(n.log()));
    }

    @AfterAll
    static void stopNodes() throws Exception {
        KarafNode.closeAll("control", NODES);
        for (KarafNode n : NODES) {
            n.checkLog("[control]");
        }
        System.out.printf(Locale.ROOT, "[control] ControlIT took %.1f s%n", since(classStarted));
    }

    // ---- the tests

    @Test
    @Order(1)
    void aliceOpensASessionOverBothUnitsAndAStreamCrossesItIntact() throws Exception {
        try (ArtpStream stream = ArtpStream.receive(a, "alice-stream", RECEIVER, COUNT, null, 0)) {
            SessionCli.Call open = session("alice", "open", "--program", "passthrough", "--to",
                HOST + ":" + RECEIVER,
                "--units", "2", "--cpus", CPUS, "--name", "alice-stream", "--json");
            assertEquals(0, open.exit(), "alice opens a session" + open.describe());
            Map<String, Object> opened = JsonValue.object(open.lastLine());
            aliceSession = JsonValue.str(opened, "session");
            openSeconds = open.seconds();
            assertEquals("alice-stream", opened.get("name"), opened.toString());
            assertEquals(HOST + ":" + INGRESS, opened.get("ingress"), "the ingress of node A " + opened);
            assertEquals(List.of("b1", "c1"), JsonValue.list(opened, "units").stream().sorted().toList(),
                "spread over the units of B and C " + opened);
            // the session is keyed: only a sender with the key OPENED gave alice gets in (docs/control.md)
            assertEquals(true, opened.get("keyed"), opened.toString());
            aliceKey = JsonValue.str(opened, "key");
            assertTrue(aliceKey.matches("[0-9a-f]{64}"), "a 32-byte key in hex: " + opened);

            stream.send(aliceSession, SIZE, 0, aliceKey);
            int sendExit = stream.awaitSender(160);
            ArtpStream.Result r = stream.finish(60);
            assertEquals(0, sendExit, "send exit status" + r.context());
            r.assertDeliveredExactlyOnce();

            Map<String, Object> info = a.consoleJson("pando:session-info --json " + aliceSession);
            Map<String, Object> perUnit = JsonValue.obj(info, "unit_counters");
            long toB = perUnit.get("b1") instanceof Map ? JsonValue.num(perUnit, "b1", "datagrams_in") : -1;
            long toC = perUnit.get("c1") instanceof Map ? JsonValue.num(perUnit, "c1", "datagrams_in") : -1;
            System.out.printf(Locale.ROOT, "[control] alice: pando session open (k = 2, %s core per unit) took %.2f s "
                + "as a CLI call (JVM start included); session %s on %s%n", CPUS, open.seconds(), aliceSession,
                opened.get("units"));
            System.out.printf(Locale.ROOT, "[control] %d datagrams x %d B through alice's session: sender %.0f "
                + "datagrams/s (%.1f Mbit/s), receiver %.0f datagrams/s (%.1f Mbit/s); latency p50 %d us, p99 %d us; "
                + "received %d, duplicates %d, corrupt %d; unit b1 %d, unit c1 %d datagrams%n", COUNT, SIZE,
                JsonValue.dbl(r.send(), "datagrams_per_s"), JsonValue.dbl(r.send(), "mbit_per_s"),
                JsonValue.dbl(r.recv(), "datagrams_per_s"), JsonValue.dbl(r.recv(), "mbit_per_s"),
                JsonValue.num(r.recv(), "latency_us", "p50"), JsonValue.num(r.recv(), "latency_us", "p99"),
                JsonValue.num(r.recv(), "received"), JsonValue.num(r.recv(), "duplicates"),
                JsonValue.num(r.recv(), "corrupt"), toB, toC);
            // a unit node declared hung on a starved machine (a false alarm, remote README "Failure") has what it
            // held given again to the other unit: then the split says nothing (exactly-once is checked above)
            Map<String, Object> counters = JsonValue.obj(info, "counters");
            long failures = JsonValue.num(counters, "unit_failures");
            long resent = JsonValue.num(counters, "resent_after_unit_failure");
            if (failures == 0) {
                assertEquals(COUNT, toB + toC, "each datagram went to one unit: " + perUnit);
                // the router's default load balancing is round-robin: each unit serves about half
                assertTrue(Math.abs(toB - COUNT / 2) <= COUNT / 20 && Math.abs(toC - COUNT / 2) <= COUNT / 20,
                    "both units served alice's session, about half each: b1 " + toB + ", c1 " + toC);
            } else {
                System.out.printf(Locale.ROOT, "[control] a unit node was declared failed during the stream (%d "
                    + "unit failure(s), %d datagrams given again): the even split is not checked%n", failures, resent);
            }
        }
    }

    @Test
    @Order(2)
    void bobNeitherSeesNorClosesAlicesSession() throws Exception {
        assertTrue(aliceSession != null, "alice's session was opened by the first test");
        SessionCli.Call bobEmpty = session("bob", "list", "--json");
        assertEquals(0, bobEmpty.exit(), bobEmpty.describe());
        assertEquals(0, JsonValue.num(JsonValue.object(bobEmpty.lastLine()), "count"),
            "bob sees no session" + bobEmpty.describe());

        // bob opens a session of his own (the router connects to its destination: a receiver listens there)
        try (ArtpStream bobsReceiver = ArtpStream.receive(a, "bob-stream", BOB_RECEIVER, 1, null, 0)) {
            SessionCli.Call bobOpen = session("bob", "open", "--program", "passthrough", "--to",
                HOST + ":" + BOB_RECEIVER,
                "--cpus", "0.5", "--json");
            assertEquals(0, bobOpen.exit(), "bob opens a session" + bobOpen.describe());
            String bobSession = JsonValue.str(JsonValue.object(bobOpen.lastLine()), "session");
            assertEquals(List.of(aliceSession, bobSession).stream().sorted().toList(),
                routerSessions().stream().sorted().toList(), "node A runs both sessions");

            assertEquals(List.of(bobSession), listed("bob"), "bob sees his session only");
            SessionCli.Call aliceList = session("alice", "list", "--json");
            assertEquals(0, aliceList.exit(), aliceList.describe());
            Map<String, Object> alices = JsonValue.object(aliceList.lastLine());
            assertEquals(1, JsonValue.num(alices, "count"), "alice sees her session only: " + alices);
            @SuppressWarnings("unchecked")
            Map<String, Object> hers = (Map<String, Object>) JsonValue.list(alices, "sessions").get(0);
            assertEquals(aliceSession, hers.get("session"), alices.toString());
            assertEquals("alice-stream", hers.get("name"), alices.toString());
            assertEquals("active", hers.get("state"), alices.toString());
            assertEquals(List.of("b1", "c1"), JsonValue.list(hers, "units").stream().sorted().toList(),
                alices.toString());
            assertEquals(0.25, JsonValue.dbl(hers, "cpus"), 1e-9, alices.toString());

            SessionCli.Call bobClose = session("bob", "close", "--session", aliceSession);
            assertEquals(1, bobClose.exit(), "bob cannot close alice's session" + bobClose.describe());
            assertTrue(bobClose.err().contains("session: refused (NOT_YOURS): not your session"),
                "the refusal says why" + bobClose.describe());
            // a session that does not exist is refused alike: bob learns nothing about alice's
            SessionCli.Call bobCloseNone = session("bob", "close", "--session", "12345");
            assertEquals(1, bobCloseNone.exit(), bobCloseNone.describe());
            assertTrue(bobCloseNone.err().contains("session: refused (NOT_YOURS): not your session"),
                bobCloseNone.describe());
            // and the other way round
            SessionCli.Call aliceClose = session("alice", "close", "--session", bobSession);
            assertEquals(1, aliceClose.exit(), "alice cannot close bob's session" + aliceClose.describe());
            assertTrue(aliceClose.err().contains("session: refused (NOT_YOURS): not your session"),
                aliceClose.describe());
            assertEquals(List.of(aliceSession, bobSession).stream().sorted().toList(),
                routerSessions().stream().sorted().toList(), "both sessions are still open on node A");

            // bob cannot send into alice's session: neither unkeyed nor with the key of his own session
            String bobKey = JsonValue.str(JsonValue.object(bobOpen.lastLine()), "key");
            long authFailedBefore = authFailed();
            long aliceInBefore = datagramsIn(aliceSession);
            int unkeyed = bobSends(aliceSession, null, "unkeyed");
            int withHisKey = bobSends(aliceSession, bobKey, "bobs-key");
            assertTrue(unkeyed != 0 && withHisKey != 0, "bob's senders into alice's session fail: unkeyed exit "
                + unkeyed + ", with his key exit " + withHisKey);
            long refused = authFailed() - authFailedBefore;
            assertTrue(refused >= 2, "node A's ingress refused and counted bob's handshakes (ingress_auth_failed "
                + "+" + refused + ")");
            assertEquals(aliceInBefore, datagramsIn(aliceSession), "nothing of bob's reached alice's session");
            System.out.printf(Locale.ROOT, "[control] bob sending into alice's session: unkeyed exit %d, with his own "
                + "session's key exit %d; node A counted %d refused handshake packets (ingress_auth_failed); alice's "
                + "session datagrams_in unchanged at %d%n", unkeyed, withHisKey, refused, aliceInBefore);

            SessionCli.Call bobCloses = session("bob", "close", "--session", bobSession, "--json");
            assertEquals(0, bobCloses.exit(), "bob closes his own session" + bobCloses.describe());
            assertEquals(List.of(aliceSession), routerSessions(), "only alice's session is left on node A");
            System.out.printf(Locale.ROOT, "[control] bob: sees only his session %s; closing alice's: exit %d, '%s'; "
                + "an unknown id: exit %d, '%s'; alice closing bob's: exit %d%n", bobSession, bobClose.exit(),
                bobClose.err().strip(), bobCloseNone.exit(), bobCloseNone.err().strip(), aliceClose.exit());
            System.out.printf(Locale.ROOT, "[control] alice's session list took %.2f s as a CLI call (JVM start, AUTH, "
                + "LIST): of her session open's %.2f s, about %.2f s were the OPEN (admission, the session created on "
                + "A, B and C)%n", aliceList.seconds(), openSeconds, openSeconds - aliceList.seconds());
        }
    }

    @Test
    @Order(3)
    void unauthenticatedAndOverQuotaRequestsAreRefusedWithTheReason() throws Exception {
        SessionCli.Call wrongPassword = sessionWithPassword("alice", "wrong.password", "list", "--json");
        assertEquals(4, wrongPassword.exit(), "a wrong password" + wrongPassword.describe());
        assertTrue(wrongPassword.err().contains("session: refused (AUTH_FAILED): wrong user or password"),
            wrongPassword.describe());

        SessionCli.Call unknown = sessionWithPassword("mallory", "wrong.password", "open", "--program", "passthrough",
            "--to", HOST + ":"
            + NO_RECEIVER);
        assertEquals(4, unknown.exit(), "an unknown user" + unknown.describe());
        assertTrue(unknown.err().contains("session: refused (AUTH_FAILED): wrong user or password"),
            unknown.describe());

        // alice's quota is one session: she holds one
        SessionCli.Call second = session("alice", "open", "--program", "passthrough", "--to", HOST + ":" + NO_RECEIVER,
            "--cpus", "0.1");
        assertEquals(1, second.exit(), "a second session is over alice's quota" + second.describe());
        assertTrue(second.err().contains("session: refused (QUOTA): quota: alice has 1 open session(s), the quota "
            + "is 1"), second.describe());
        System.out.println("[control] refused: wrong password exit " + wrongPassword.exit() + " '"
            + wrongPassword.err().strip() + "'; unknown user exit " + unknown.exit() + " '" + unknown.err().strip()
            + "'; alice's second session exit " + second.exit() + " '" + second.err().strip() + "'");
        assertEquals(List.of(aliceSession), routerSessions(), "no refused request left a session on node A");
    }

    @Test
    @Order(4)
    void closingTheSessionFreesItAndAliceOpensAgain() throws Exception {
        SessionCli.Call close = session("alice", "close", "--session", aliceSession, "--json");
        assertEquals(0, close.exit(), "alice closes her session" + close.describe());
        Map<String, Object> closed = JsonValue.object(close.lastLine());
        assertEquals(aliceSession, closed.get("session"), closed.toString());
        assertEquals(COUNT, JsonValue.num(closed, "counters", "datagrams_in"), "the final counters: " + closed);
        assertFalse(routerSessions().contains(aliceSession), "the session is gone from pando:sessions on node A");
        assertEquals(List.of(), listed("alice"), "alice has no session left");

        // her CPU share is released: a request over her 1.0 core is refused for what it asks, with nothing held
        SessionCli.Call tooMuch = session("alice", "open", "--program", "passthrough", "--to", HOST + ":" + NO_RECEIVER,
            "--units", "2", "--cpus", "0.75");
        assertEquals(1, tooMuch.exit(), tooMuch.describe());
        assertTrue(tooMuch.err().contains("session: refused (QUOTA): quota: CPU share 1.500 (0.750 on 2 unit(s)) + "
            + "0.000 held exceeds alice's 1.000"), tooMuch.describe());

        int count = 2_000;
        try (ArtpStream stream = ArtpStream.receive(a, "alice-again", SECOND_RECEIVER, count, null, 0)) {
            SessionCli.Call again = session("alice", "open", "--program", "passthrough", "--to",
                HOST + ":" + SECOND_RECEIVER,
                "--units", "2", "--cpus", CPUS, "--json");
            assertEquals(0, again.exit(), "alice opens again" + again.describe());
            String id = JsonValue.str(JsonValue.object(again.lastLine()), "session");
            assertNotEquals(aliceSession, id);
            stream.send(id, SIZE, 0, JsonValue.str(JsonValue.object(again.lastLine()), "key"));
            stream.awaitSender(60);
            stream.finish(60).assertDeliveredExactlyOnce();
            SessionCli.Call closeAgain = session("alice", "close", "--session", id, "--json");
            assertEquals(0, closeAgain.exit(), closeAgain.describe());
            assertEquals(List.of(), routerSessions(), "nothing left open on node A");
            System.out.printf(Locale.ROOT, "[control] alice closed her session (final counters %s); CPU share over "
                + "her quota refused: '%s'; opened again in %.2f s (session %s), %d datagrams crossed it, closed%n",
                JsonValue.obj(closed, "counters"), tooMuch.err().strip(), again.seconds(), id, count);
        }
    }

    // ---- helpers

    /** Bob's {@code pando artp send} of 10 datagrams into a session, with a key or none; @return its exit status. */
    private static int bobSends(String session, String keyHex, String label) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("artp", "send", "--to", HOST + ":" + INGRESS, "--session", session,
            "--count", "10", "--size", "100", "--timeout", "5", "--json"));
        if (keyHex != null) {
            cmd.addAll(List.of("--key", keyHex));
        }
        String name = String.format(Locale.ROOT, "%02d-bob-send-%s", cli.nextLabel(), label);
        try (SystemProcess p = a.pando(name, cliDir, cmd)) {
            int exit = p.waitFor(60);
            assertFalse(p.err().contains("LEAK:"), name + " leaked buffers" + p.describe());
            return exit;
        }
    }

    /** @return node A's count of ingress handshake packets refused for a missing or wrong key */
    private static long authFailed() throws Exception {
        return JsonValue.num(a.consoleJson("pando:stats --json"), "counters", "ingress_auth_failed");
    }

    /** @return the datagrams a session took in at node A */
    private static long datagramsIn(String session) throws Exception {
        return JsonValue.num(a.consoleJson("pando:session-info --json " + session), "counters", "datagrams_in");
    }

    /** {@code pando session SUB --control A --user USER --password-file USER.password ARGS}. */
    private static SessionCli.Call session(String user, String sub, String... args) throws Exception {
        return cli.run(user, user + ".password", sub, args);
    }

    /** {@link #session} with the password in {@code passwordFile} (in the CLI's directory). */
    private static SessionCli.Call sessionWithPassword(String user, String passwordFile, String sub, String... args)
        throws Exception {
        return cli.run(user, passwordFile, sub, args);
    }

    /** @return the ids of the sessions {@code pando session list} shows {@code user} */
    private static List<String> listed(String user) throws Exception {
        SessionCli.Call list = session(user, "list", "--json");
        assertEquals(0, list.exit(), list.describe());
        Map<String, Object> json = JsonValue.object(list.lastLine());
        List<String> ids = JsonValue.list(json, "sessions").stream()
            .map(o -> String.valueOf(((Map<?, ?>) o).get("session"))).toList();
        assertEquals(ids.size(), JsonValue.num(json, "count"), json.toString());
        return ids;
    }

    /** @return the ids of the sessions open on node A ({@code pando:sessions}) */
    private static List<String> routerSessions() throws Exception {
        return a.consoleOk("pando:sessions --json").jsonArray().stream().map(s -> String.valueOf(s.get("id")))
            .toList();
    }

    private static String tail(String log) {
        List<String> lines = log.lines().toList();
        return String.join("\n", lines.subList(Math.max(0, lines.size() - 40), lines.size()));
    }

    private static double since(long t0) {
        return (System.nanoTime() - t0) / 1e9;
    }
}
