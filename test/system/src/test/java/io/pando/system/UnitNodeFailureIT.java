package io.pando.system;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A unit node dies mid-stream and nothing is lost (bundles/distribution README, "Failure recovery"; bundles/remote
 * README, "Failure"): node A runs the distribution and the aggregation unit and uses the units b1 and c1 of nodes B
 * and C; a round-robin session over both carries a paced stream of numbered datagrams from {@code pando artp send}
 * to {@code pando artp recv}, and at a random moment the Karaf JVM of one unit node is killed with SIGKILL. The
 * receiver must get every datagram exactly once and intact. Three repetitions, killing B, C, B (the killed node is
 * started again between them). Then three times the same with a unit node frozen for 5 s (SIGSTOP, then SIGCONT: a
 * machine that stalls, its connections open and silent): A declares it lost when its polls go unanswered and
 * resends what it had not finished; its late results, once it runs again, are dropped as those of a failed unit.
 *
 * <p>Measured and printed per repetition: the longest stretch without an arrival at the receiver (5 ms bins: the
 * last arrival before the kill to the first one after, as the aggregation unit holds later results until the
 * resent ones fill the gap), the time from the kill to node A's noticing (its control connection to the node closed)
 * and to the distribution unit's resend (their karaf.log lines), and the session's recovery counters.
 *
 * <p>Ports: 18700-18799 (A 1870x, B 1871x, C 1872x, receivers 1873x and 1874x).
 */
class UnitNodeFailureIT {

    private static final int COUNT = 40_000;
    private static final int RATE = 4_000;
    private static final int SIZE = 500;
    private static final int BIN_MS = 5;
    private static final int B_CONTROL = 18714;
    private static final int C_CONTROL = 18724;
    private static final long BOOT_SECONDS = 300;
    private static final long STALL_SECONDS = 120;
    private static final Pattern RESEND = Pattern.compile(
        "(?m)^(\\S+) \\|.*session (\\S+): unit (\\S+) .*; ([\\d,]+) datagrams it had not finished went");
    private static final Pattern LOST = Pattern.compile(
        "(?m)^(\\S+) \\|.*unit node 127\\.0\\.0\\.1:(\\d+)/\\d+: control connection lost");

    private static final List<KarafNode> NODES = new ArrayList<>();
    private static KarafNode a;
    private static KarafNode b;
    private static KarafNode c;

    @BeforeAll
    static void startThreeNodes() throws Exception {
        a = KarafNode.create("unitfail-a", 18700, 18701);
        b = KarafNode.create("unitfail-b", 18710, 18711);
        c = KarafNode.create("unitfail-c", 18720, 18721);
        NODES.addAll(List.of(a, b, c));
        a.configureRouterNode("pando-router-node", 18702, 18704, 18705, List.of(B_CONTROL, C_CONTROL));
        b.configureUnitNode("pando-unit-node", "b1", B_CONTROL, 18712);
        c.configureUnitNode("pando-unit-node", "c1", C_CONTROL, 18722);
        KarafNode.startRouterAndUnitNodes(a, Map.of(b, B_CONTROL, c, C_CONTROL), BOOT_SECONDS, STALL_SECONDS);
        a.awaitUnits(List.of("b1", "c1"), 120);
    }

    private static void startUnitNode(KarafNode n) throws Exception {
        n.startUnitNode(n == b ? B_CONTROL : C_CONTROL, BOOT_SECONDS, STALL_SECONDS);
    }

    @AfterAll
    static void stopNodes() {
        for (KarafNode n : NODES) {
            try {
                n.close();
            } catch (Exception e) {
                System.out.println("[unitfail] stopping " + n.name + ": " + e);
            }
        }
    }

    @Test
    void aUnitNodeKilledMidStreamLosesNothingAndDuplicatesNothing() throws Exception {
        long resentTotal = 0;
        List<String> figures = new ArrayList<>();
        KarafNode[] victims = {b, c, b};
        for (int round = 0; round < victims.length; round++) {
            KarafNode victim = victims[round];
            String unit = victim == b ? "b1" : "c1";
            if (round > 0) {
                a.awaitUnits(List.of("b1", "c1"), 120);
            }
            try (ArtpStream stream = ArtpStream.receive(a, "round-" + round, 18730 + round, COUNT, null, BIN_MS)) {
                Map<String, Object> session = a.consoleJson("pando:session-create --name unitfail-" + round
                    + " --program passthrough --to 127.0.0.1:" + stream.port + " --units 2 --policy round-robin "
                    + "--json");
                String id = JsonValue.str(session, "id");
                assertEquals(List.of("b1", "c1"), JsonValue.list(session, "units"), session.toString());
                stream.send(id, SIZE, RATE);
                // the stream lasts COUNT / RATE = 10 s once the sender runs (far longer on a loaded machine, where
                // a console call also takes seconds): kill at a random moment after a twentieth went through
                long inBefore = StreamRecovery.awaitDatagramsIn(a, id, COUNT / 20);
                Thread.sleep(ThreadLocalRandom.current().nextInt(1000));
                int logFrom = a.log().length();
                Instant killed = victim.kill();
                ArtpStream.Result r = stream.finish(120);
                r.assertDeliveredExactlyOnce();

                Map<String, Object> info = a.consoleJson("pando:session-info --json " + id);
                Map<String, Object> counters = JsonValue.obj(info, "counters");
                long resent = JsonValue.num(counters, "resent_after_unit_failure");
                resentTotal += resent;
                assertEquals(1, JsonValue.num(counters, "unit_failures"), "the killed unit failed once: " + counters);
                assertEquals(List.of(victim == b ? "c1" : "b1"), JsonValue.list(info, "units"),
                    "the session goes on on the survivor: " + info);
                Matcher m = RESEND.matcher(a.log().substring(logFrom));
                double killToResendMs = Double.NaN;
                while (m.find()) {
                    if (m.group(3).equals(unit)) {
                        killToResendMs = StreamRecovery.msSince(killed, m.group(1));
                        break;
                    }
                }
                double killToDetectMs = Double.NaN;
                Matcher lost = LOST.matcher(a.log().substring(logFrom));
                while (lost.find()) {
                    if (Integer.parseInt(lost.group(2)) == (victim == b ? B_CONTROL : C_CONTROL)) {
                        killToDetectMs = StreamRecovery.msSince(killed, lost.group(1));
                        break;
                    }
                }
                long gapMs = StreamRecovery.longestGapMs(JsonValue.list(r.recv(), "intervals"), BIN_MS);
                assertTrue(inBefore < COUNT * 19 / 20, "the kill came mid-stream: " + inBefore + " datagrams in before");
                String f = String.format(Locale.ROOT, "round %d: killed %s (unit %s) after >= %d datagrams; %d datagrams "
                    + "x %d B (sender paced at %d/s, receiver got %.0f/s) all arrived once; longest arrival gap %d "
                    + "ms; kill to control connection lost %.1f ms, to resend %.1f ms; resent %d, already delivered %d, duplicates suppressed %d, late "
                    + "from the dead unit %d, recovery %d us, retained bytes high water %d", round, victim.name, unit,
                    inBefore, COUNT, SIZE, RATE, JsonValue.dbl(r.recv(), "datagrams_per_s"), gapMs, killToDetectMs,
                    killToResendMs, resent,
                    StreamRecovery.num(counters, "recovered_already_delivered"), StreamRecovery.num(counters, "duplicates_suppressed"),
                    StreamRecovery.num(counters, "late_from_failed_unit"), StreamRecovery.num(counters, "recovery_us_max"),
                    StreamRecovery.num(counters, "retained_bytes_high_water"));
                System.out.println("[unitfail] " + f);
                figures.add(f);
                assertFalse(Double.isNaN(killToResendMs), "A logged the recovery of " + unit + "; karaf.log "
                    + a.home.resolve("data/log/karaf.log"));
                a.consoleOk("pando:session-close --json " + id);
            }
            startUnitNode(victim);
        }
        System.out.println("[unitfail] summary:\n  " + String.join("\n  ", figures));
        assertTrue(resentTotal > 0, "the killed units had datagrams in flight that were given again: " + figures);
        for (KarafNode n : NODES) {
            assertFalse(n.log().contains("LEAK:"), n.name + " leaked buffers: " + n.home.resolve("data/log/karaf.log"));
        }
    }

    @Test
    void aUnitNodeFrozenForFiveSecondsLosesNothingAndDuplicatesNothing() throws Exception {
        List<String> figures = new ArrayList<>();
        KarafNode[] victims = {c, b, c};
        for (int round = 0; round < victims.length; round++) {
            KarafNode victim = victims[round];
            String unit = victim == b ? "b1" : "c1";
            a.awaitUnits(List.of("b1", "c1"), 120);
            try (ArtpStream stream = ArtpStream.receive(a, "frozen-" + round, 18740 + round, COUNT, null, BIN_MS)) {
                Map<String, Object> session = a.consoleJson("pando:session-create --name unitfrozen-" + round
                    + " --program passthrough --to 127.0.0.1:" + stream.port + " --units 2 --policy round-robin "
                    + "--json");
                String id = JsonValue.str(session, "id");
                assertEquals(List.of("b1", "c1"), JsonValue.list(session, "units"), session.toString());
                stream.send(id, SIZE, RATE);
                long inBefore = StreamRecovery.awaitDatagramsIn(a, id, COUNT / 20);
                Thread.sleep(ThreadLocalRandom.current().nextInt(1000));
                int logFrom = a.log().length();
                Instant[] paused = victim.pause(5_000); // SIGSTOP, 5 s, SIGCONT
                ArtpStream.Result r = stream.finish(120);
                r.assertDeliveredExactlyOnce();

                Map<String, Object> info = a.consoleJson("pando:session-info --json " + id);
                Map<String, Object> counters = JsonValue.obj(info, "counters");
                Matcher m = RESEND.matcher(a.log().substring(logFrom));
                double stopToResendMs = Double.NaN;
                while (m.find()) {
                    if (m.group(3).equals(unit)) {
                        stopToResendMs = StreamRecovery.msSince(paused[0], m.group(1));
                        break;
                    }
                }
                long gapMs = StreamRecovery.longestGapMs(JsonValue.list(r.recv(), "intervals"), BIN_MS);
                assertTrue(inBefore < COUNT * 19 / 20, "the stop came mid-stream: " + inBefore + " datagrams in before");
                String f = String.format(Locale.ROOT, "round %d: froze %s (unit %s) for %.1f s after >= %d datagrams; "
                    + "%d datagrams x %d B (sender paced at %d/s, receiver got %.0f/s) all arrived once; longest "
                    + "arrival gap %d ms; stop to resend %.1f ms; unit failures %d, resent %d, already delivered %d, "
                    + "duplicates suppressed %d, late from the failed unit %d; units now %s", round, victim.name, unit,
                    Duration.between(paused[0], paused[1]).toNanos() / 1e9, inBefore, COUNT, SIZE, RATE,
                    JsonValue.dbl(r.recv(), "datagrams_per_s"), gapMs, stopToResendMs,
                    StreamRecovery.num(counters, "unit_failures"), StreamRecovery.num(counters, "resent_after_unit_failure"),
                    StreamRecovery.num(counters, "recovered_already_delivered"), StreamRecovery.num(counters, "duplicates_suppressed"),
                    StreamRecovery.num(counters, "late_from_failed_unit"), JsonValue.list(info, "units"));
                System.out.println("[unitfail] " + f);
                figures.add(f);
                a.consoleOk("pando:session-close --json " + id);
            }
        }
        System.out.println("[unitfail] frozen summary:\n  " + String.join("\n  ", figures));
        for (KarafNode n : NODES) {
            assertFalse(n.log().contains("LEAK:"), n.name + " leaked buffers: " + n.home.resolve("data/log/karaf.log"));
        }
    }
}
