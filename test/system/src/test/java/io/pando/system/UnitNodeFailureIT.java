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
import java.util.concurrent.TimeUnit;
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
 * machine that stalls, its connections open and silent): A declares it failed by the data-path rule (it holds
 * datagrams and sends nothing for {@code stall.ms}, 300 ms; bundles/remote README, "Failure") well before its polls
 * would time out (3 s), and resends what it had not finished; its late results, once it runs again, are dropped as
 * those of a failed unit, and its units come back.
 *
 * <p>Measured and printed per repetition: the longest stretch without an arrival at the receiver (5 ms bins: the
 * last arrival before the fault to the first one after, as the aggregation unit holds later results until the
 * resent ones fill the gap), the longest one-way latency at the receiver (send call to delivery: on a loaded
 * machine mostly the sender's own queueing, so printed, not asserted), the time from the fault to node A's noticing (its control connection to the killed node closed; the frozen
 * node declared hung) and to the distribution unit's resend (their karaf.log lines), and the session's recovery
 * counters. A frozen node must be declared hung, and its datagrams given to the other unit, within 1 s of the stop
 * (measured from just before the {@code kill -STOP} process is started), with no arrival gap of 1 s.
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
    private static final Pattern STALLED = Pattern.compile(
        "(?m)^(\\S+) \\|.*unit node 127\\.0\\.0\\.1:(\\d+)/\\d+ sent nothing for \\d+ ms .*declared failed");

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
        KarafNode.closeAll("unitfail", NODES);
    }

    /** What a round did to its victim: the moment of the fault (and, for a freeze, of the SIGCONT). */
    private interface Fault {
        Instant[] apply(KarafNode victim) throws Exception;
    }

    /** What a round measured. */
    private record Round(String unit, long inBefore, Instant[] fault, ArtpStream.Result stream,
            Map<String, Object> info, Map<String, Object> counters, String log, double toResendMs, long gapMs,
            long falseAlarms) {

        /** @return ms from the fault to the first karaf.log line of node A that {@code line} matches for the unit */
        double msToLog(Pattern line, int port) {
            Matcher m = line.matcher(log);
            while (m.find()) {
                if (Integer.parseInt(m.group(2)) == port) {
                    return StreamRecovery.msSince(fault[0], m.group(1));
                }
            }
            return Double.NaN;
        }

        /** @return the longest one-way latency at the receiver (send call to delivery), ms */
        double latencyMaxMs() {
            return JsonValue.num(stream.recv(), "latency_us", "max") / 1e3;
        }
    }

    /**
     * One round: a round-robin session over b1 and c1 carries a paced stream; at a random moment after a twentieth
     * went through, {@code fault} strikes the victim. The receiver must get every datagram exactly once. Counts the
     * survivor's false alarms: its node declared hung by node A during the round although it ran (a starved node on
     * a loaded machine); each is one more unit failure of the session, and must lose nothing either.
     */
    private static Round round(String name, int port, KarafNode victim, Fault fault) throws Exception {
        String unit = victim == b ? "b1" : "c1";
        String survivor = victim == b ? "c1" : "b1";
        long survivorStalls = stallDetections(survivor);
        int logStart = a.log().length();
        try (ArtpStream stream = ArtpStream.receive(a, name, port, COUNT, null, BIN_MS)) {
            Map<String, Object> session = a.consoleJson("pando:session-create --name unit" + name + " --program "
                + "passthrough --to 127.0.0.1:" + stream.port + " --units 2 --policy round-robin --json");
            String id = JsonValue.str(session, "id");
            assertEquals(List.of("b1", "c1"), JsonValue.list(session, "units"), session.toString());
            stream.send(id, SIZE, RATE);
            // the stream lasts COUNT / RATE = 10 s once the sender runs (far longer on a loaded machine, where
            // a console call also takes seconds)
            long inBefore = StreamRecovery.awaitDatagramsIn(a, id, COUNT / 20);
            Thread.sleep(ThreadLocalRandom.current().nextInt(1000));
            int logFrom = a.log().length();
            Instant[] at = fault.apply(victim);
            ArtpStream.Result r = stream.finish(120);
            r.assertDeliveredExactlyOnce();
            assertTrue(inBefore < COUNT * 19 / 20, "the fault came mid-stream: " + inBefore + " datagrams in before");

            Map<String, Object> info = a.consoleJson("pando:session-info --json " + id);
            String all = a.log();
            if (!Double.isNaN(resendMs(all.substring(logStart, logFrom), id, unit, at[0]))) {
                System.out.println("[unitfail] " + name + ": a false alarm took " + unit + " out of the session before "
                    + "the fault (nothing lost); the round is run again");
                a.consoleOk("pando:session-close --json " + id);
                return null;
            }
            String log = all.substring(logFrom);
            double toResendMs = resendMs(log, id, unit, at[0]);
            assertFalse(Double.isNaN(toResendMs), "A logged the recovery of " + unit + "; karaf.log "
                + a.home.resolve("data/log/karaf.log"));
            a.consoleOk("pando:session-close --json " + id);
            return new Round(unit, inBefore, at, r, info, JsonValue.obj(info, "counters"), log, toResendMs,
                StreamRecovery.longestGapMs(JsonValue.list(r.recv(), "intervals"), BIN_MS), stallDetections(survivor) - survivorStalls);
        }
    }

    /** @return ms from {@code from} to the first resend of the unit's datagrams of the session in {@code log}, or NaN */
    private static double resendMs(String log, String session, String unit, Instant from) {
        Matcher m = RESEND.matcher(log);
        while (m.find()) {
            if (m.group(2).equals(session) && m.group(3).equals(unit)) {
                return StreamRecovery.msSince(from, m.group(1));
            }
        }
        return Double.NaN;
    }

    /**
     * A {@link #round}, run again (at most twice) when a false alarm took the victim's unit out of the session before
     * the fault struck (then the round measured nothing about the fault); {@code restore} brings the victim back
     * before another try.
     */
    private static Round roundDespiteFalseAlarms(String name, int port, KarafNode victim, Fault fault,
            Restore restore) throws Exception {
        for (int attempt = 0; attempt < 3; attempt++) {
            if (attempt > 0) {
                restore.run(victim);
            }
            a.awaitUnits(List.of("b1", "c1"), 120);
            Round r = round(attempt == 0 ? name : name + "-again-" + attempt, port, victim, fault);
            if (r != null) {
                return r;
            }
        }
        throw new AssertionError(name + ": three false alarms in a row took the victim out of the session before the "
            + "fault");
    }

    private interface Restore {
        void run(KarafNode victim) throws Exception;
    }

    @Test
    void aUnitNodeKilledMidStreamLosesNothingAndDuplicatesNothing() throws Exception {
        long resentTotal = 0;
        List<String> figures = new ArrayList<>();
        KarafNode[] victims = {b, c, b};
        for (int i = 0; i < victims.length; i++) {
            KarafNode victim = victims[i];
            Round r = roundDespiteFalseAlarms("fail-" + i, 18730 + i, victim, v -> new Instant[] {v.kill()},
                UnitNodeFailureIT::startUnitNode);
            long resent = JsonValue.num(r.counters, "resent_after_unit_failure");
            resentTotal += resent;
            assertEquals(1 + r.falseAlarms, JsonValue.num(r.counters, "unit_failures"),
                "the killed unit failed once (and the survivor at each false alarm): " + r.counters);
            assertEquals(List.of(victim == b ? "c1" : "b1"), JsonValue.list(r.info, "units"),
                "the session goes on on the survivor: " + r.info);
            String f = String.format(Locale.ROOT, "round %d: killed %s (unit %s) after >= %d datagrams; %d datagrams "
                + "x %d B (sender paced at %d/s, receiver got %.0f/s) all arrived once; longest arrival gap %d "
                + "ms, latency max %.0f ms; kill to control connection lost %.1f ms, to resend %.1f ms; resent %d, "
                + "already delivered %d, duplicates suppressed %d, late from the dead unit %d, recovery %d us, "
                + "retained bytes high water %d; false alarms on the survivor %d", i, victim.name, r.unit, r.inBefore,
                COUNT, SIZE, RATE,
                JsonValue.dbl(r.stream.recv(), "datagrams_per_s"), r.gapMs, r.latencyMaxMs(),
                r.msToLog(LOST, controlPort(victim)), r.toResendMs, resent,
                StreamRecovery.num(r.counters, "recovered_already_delivered"), StreamRecovery.num(r.counters, "duplicates_suppressed"),
                StreamRecovery.num(r.counters, "late_from_failed_unit"), StreamRecovery.num(r.counters, "recovery_us_max"),
                StreamRecovery.num(r.counters, "retained_bytes_high_water"), r.falseAlarms);
            System.out.println("[unitfail] " + f);
            figures.add(f);
            startUnitNode(victim);
        }
        System.out.println("[unitfail] summary:\n  " + String.join("\n  ", figures));
        assertTrue(resentTotal > 0, "the killed units had datagrams in flight that were given again: " + figures);
        assertNoLeaks();
    }

    @Test
    void aUnitNodeFrozenForFiveSecondsIsDetectedOnTheDataPathInUnderASecond() throws Exception {
        List<String> figures = new ArrayList<>();
        KarafNode[] victims = {c, b, c};
        for (int i = 0; i < victims.length; i++) {
            KarafNode victim = victims[i];
            String unit = victim == b ? "b1" : "c1";
            long stallsBefore = stallDetections(unit);
            Round r = roundDespiteFalseAlarms("frozen-" + i, 18740 + i, victim, v -> v.pause(5_000), // SIGSTOP, 5 s
                v -> { });
            double toDetectMs = r.msToLog(STALLED, controlPort(victim));
            a.awaitUnits(List.of("b1", "c1"), 120); // back once it runs again
            long stalls = stallDetections(unit) - stallsBefore;
            String f = String.format(Locale.ROOT, "round %d: froze %s (unit %s) for %.1f s after >= %d datagrams; "
                + "%d datagrams x %d B (sender paced at %d/s, receiver got %.0f/s) all arrived once; longest "
                + "arrival gap %d ms, latency max %.0f ms; stop to declared hung %.1f ms, to resend %.1f ms; stall "
                + "detections %d; unit failures %d, resent %d, already delivered %d, duplicates suppressed %d, late "
                + "from the failed unit %d; units now %s; false alarms on the survivor %d", i, victim.name, r.unit,
                Duration.between(r.fault[0], r.fault[1]).toNanos() / 1e9, r.inBefore, COUNT, SIZE, RATE,
                JsonValue.dbl(r.stream.recv(), "datagrams_per_s"), r.gapMs, r.latencyMaxMs(), toDetectMs,
                r.toResendMs, stalls, StreamRecovery.num(r.counters, "unit_failures"), StreamRecovery.num(r.counters, "resent_after_unit_failure"),
                StreamRecovery.num(r.counters, "recovered_already_delivered"), StreamRecovery.num(r.counters, "duplicates_suppressed"),
                StreamRecovery.num(r.counters, "late_from_failed_unit"), JsonValue.list(r.info, "units"), r.falseAlarms);
            System.out.println("[unitfail] " + f);
            figures.add(f);
            assertTrue(stalls >= 1, "declared hung by the data-path rule: " + f); // more: an earlier false alarm
            assertTrue(toDetectMs < 1_000, "declared hung within 1 s of the stop: " + f);
            assertTrue(r.toResendMs < 1_000, "its datagrams given to the other unit within 1 s of the stop: " + f);
            assertTrue(r.gapMs < 1_000, "the stream never stopped for 1 s: " + f);
            assertEquals(1 + r.falseAlarms, StreamRecovery.num(r.counters, "unit_failures"), "the frozen unit failed once: " + f);
            assertTrue(StreamRecovery.num(r.counters, "resent_after_unit_failure") > 0, "what it held was given again: " + f);
        }
        System.out.println("[unitfail] frozen summary:\n  " + String.join("\n  ", figures));
        assertNoLeaks();
    }

    /**
     * @return node A's count of data-path stall detections for the unit's node ({@code pando:units}), once A lists
     *     the unit (it may be reconnecting after a false alarm)
     */
    private static long stallDetections(String unit) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        do {
            KarafNode.Console units = a.console("pando:units --json");
            if (units.exit() == 0) {
                for (Map<String, Object> u : units.jsonArray()) {
                    if (unit.equals(u.get("id"))) {
                        return JsonValue.num(u, "counters", "remote_node_stall_detections");
                    }
                }
            }
            Thread.sleep(200);
        } while (System.nanoTime() < deadline);
        throw new AssertionError("node A lists no unit " + unit + " within 60 s");
    }

    private static int controlPort(KarafNode n) {
        return n == b ? B_CONTROL : C_CONTROL;
    }

    private static void assertNoLeaks() {
        for (KarafNode n : NODES) {
            assertFalse(n.log().contains("LEAK:"), n.name + " leaked buffers: " + n.home.resolve("data/log/karaf.log"));
        }
    }
}
