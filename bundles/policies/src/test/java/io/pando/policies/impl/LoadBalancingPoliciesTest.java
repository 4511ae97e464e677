package io.pando.policies.impl;

import static io.pando.policies.impl.Fixtures.datagram;
import static io.pando.policies.impl.Fixtures.session;
import static io.pando.policies.impl.Fixtures.units;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pando.api.program.Datagram;
import io.pando.api.session.ActiveSession;
import io.pando.api.unit.UnitId;
import io.pando.api.unit.UnitLoad;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class LoadBalancingPoliciesTest {

    private static final Map<UnitId, UnitLoad> NO_LOADS = Map.of();

    @Test
    void affinityKeepsASessionOnOneUnit() {
        AffinityPolicy policy = new AffinityPolicy(1024);
        List<UnitId> units = units(4);
        for (long s = 1; s <= 200; s++) {
            ActiveSession session = session(s);
            UnitId first = policy.choose(datagram(10), session, units, NO_LOADS);
            for (int i = 0; i < 50; i++) {
                assertEquals(first, policy.choose(datagram(10), session, units, NO_LOADS));
            }
        }
    }

    @Test
    void affinitySpreadsSessionsAndOnlyMovesThoseOfALostUnit() {
        AffinityPolicy policy = new AffinityPolicy(4096);
        List<UnitId> units = units(4);
        Map<Long, UnitId> before = new HashMap<>();
        int[] perUnit = new int[4];
        for (long s = 1; s <= 2000; s++) {
            UnitId u = policy.choose(datagram(10), session(s), units, NO_LOADS);
            before.put(s, u);
            perUnit[units.indexOf(u)]++;
        }
        for (int count : perUnit) {
            assertTrue(count > 400 && count < 600, "sessions per unit " + java.util.Arrays.toString(perUnit));
        }
        // a unit joins: nobody moves
        List<UnitId> grown = new ArrayList<>(units);
        grown.add(UnitId.of("unit-new"));
        for (long s = 1; s <= 2000; s++) {
            assertEquals(before.get(s), policy.choose(datagram(10), session(s), grown, NO_LOADS));
        }
        // unit-2 leaves: only its sessions move, and they spread over the others
        List<UnitId> shrunk = new ArrayList<>(grown);
        shrunk.remove(UnitId.of("unit-2"));
        int moved = 0;
        for (long s = 1; s <= 2000; s++) {
            UnitId now = policy.choose(datagram(10), session(s), shrunk, NO_LOADS);
            if (before.get(s).equals(UnitId.of("unit-2"))) {
                assertNotEquals(UnitId.of("unit-2"), now);
                moved++;
            } else {
                assertEquals(before.get(s), now);
            }
            assertEquals(now, policy.choose(datagram(10), session(s), shrunk, NO_LOADS), "stable after rehash");
        }
        assertEquals(perUnit[2], moved);
    }

    @Test
    void affinityRejectsBadConfiguration() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new AffinityPolicy(0));
        assertTrue(e.getMessage().contains("max.sessions"), e.getMessage());
    }

    @Test
    void roundRobinSharesDatagramsAndBytesEqually() {
        RoundRobinPolicy policy = new RoundRobinPolicy(1024);
        List<UnitId> units = units(3);
        Random random = new Random(7);
        long[] bytes = new long[3];
        long[] count = new long[3];
        ActiveSession session = session(42);
        UnitId previous = null;
        for (int i = 0; i < 300_000; i++) {
            int length = 64 + random.nextInt(1400);
            UnitId u = policy.choose(datagram(length), session, units, NO_LOADS);
            assertNotEquals(previous, u, "consecutive datagrams take turns");
            previous = u;
            bytes[units.indexOf(u)] += length;
            count[units.indexOf(u)]++;
        }
        long total = bytes[0] + bytes[1] + bytes[2];
        for (int i = 0; i < 3; i++) {
            assertEquals(100_000, count[i]);
            assertEquals(1.0 / 3, (double) bytes[i] / total, 0.01, "byte share of unit " + i);
        }
    }

    @Test
    void roundRobinIsPerSessionAndSafeUnderConcurrency() throws Exception {
        RoundRobinPolicy policy = new RoundRobinPolicy(1024);
        List<UnitId> units = units(4);
        ActiveSession session = session(5);
        Datagram d = datagram(100);
        AtomicLong[] counts = {new AtomicLong(), new AtomicLong(), new AtomicLong(), new AtomicLong()};
        Thread[] threads = new Thread[4];
        for (int t = 0; t < threads.length; t++) {
            threads[t] = new Thread(() -> {
                for (int i = 0; i < 100_000; i++) {
                    counts[units.indexOf(policy.choose(d, session, units, NO_LOADS))].incrementAndGet();
                }
            });
            threads[t].start();
        }
        for (Thread thread : threads) {
            thread.join();
        }
        for (AtomicLong c : counts) {
            assertEquals(100_000, c.get(), "exact shares even with 4 threads");
        }
    }

    @Test
    void weightedFollowsTheRatiosSmoothly() {
        List<UnitId> units = units(3);
        WeightedPolicy policy = new WeightedPolicy(Map.of(units.get(0), 5, units.get(1), 1), 1, 1024);
        ActiveSession session = session(9);
        int[] counts = new int[3];
        int longestRun = 0;
        int run = 0;
        UnitId previous = null;
        for (int i = 0; i < 70_000; i++) {
            UnitId u = policy.choose(datagram(100), session, units, NO_LOADS);
            counts[units.indexOf(u)]++;
            run = u.equals(previous) ? run + 1 : 1;
            longestRun = Math.max(longestRun, run);
            previous = u;
        }
        assertEquals(50_000, counts[0]);
        assertEquals(10_000, counts[1]);
        assertEquals(10_000, counts[2]);
        assertTrue(longestRun <= 4, "smooth: the heavy unit never gets 5 in a row, got " + longestRun);
    }

    @Test
    void weightedScheduleIsTheSmoothOrder() {
        List<UnitId> units = units(3);
        WeightedPolicy.Schedule schedule = new WeightedPolicy.Schedule(units,
            u -> u.equals(units.get(0)) ? 5 : 1);
        assertEquals("[0, 0, 1, 0, 2, 0, 0]", java.util.Arrays.toString(schedule.order));
    }

    @Test
    void weightedZeroKeepsAUnitOutUnlessAllAreZero() {
        List<UnitId> units = units(2);
        WeightedPolicy policy = new WeightedPolicy(Map.of(units.get(0), 0), 2, 1024);
        for (int i = 0; i < 100; i++) {
            assertEquals(units.get(1), policy.choose(datagram(1), session(3), units, NO_LOADS));
        }
        WeightedPolicy allZero = new WeightedPolicy(Map.of(), 0, 1024);
        int[] counts = new int[2];
        for (int i = 0; i < 100; i++) {
            counts[units.indexOf(allZero.choose(datagram(1), session(3), units, NO_LOADS))]++;
        }
        assertEquals(50, counts[0]);
        assertEquals(50, counts[1]);
    }

    @Test
    void weightedFollowsACandidateChange() {
        List<UnitId> units = units(3);
        WeightedPolicy policy = new WeightedPolicy(Map.of(units.get(2), 3), 1, 1024);
        ActiveSession session = session(11);
        policy.choose(datagram(1), session, units, NO_LOADS);
        List<UnitId> two = List.of(units.get(0), units.get(2));
        int[] counts = new int[3];
        for (int i = 0; i < 4000; i++) {
            counts[units.indexOf(policy.choose(datagram(1), session, two, NO_LOADS))]++;
        }
        assertEquals(1000, counts[0]);
        assertEquals(0, counts[1]);
        assertEquals(3000, counts[2]);
    }

    @Test
    void weightedRejectsBadConfiguration() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
            () -> PolicySettings.parseWeights("weighted", "weights", new String[] {"unit-1=abc"}, UnitId::of, 0,
                1000));
        assertTrue(e.getMessage().contains("KEY=WEIGHT") && e.getMessage().contains("unit-1=abc"), e.getMessage());
        assertThrows(IllegalArgumentException.class,
            () -> PolicySettings.parseWeights("weighted", "weights", new String[] {"unit-1=1001"}, UnitId::of, 0,
                1000));
        assertThrows(IllegalArgumentException.class,
            () -> PolicySettings.parseWeights("weighted", "weights", new String[] {" bad id=1"}, UnitId::of, 0,
                1000));
        assertThrows(IllegalArgumentException.class,
            () -> PolicySettings.parseWeights("weighted", "weights", new String[] {"a=1", "a=2"}, UnitId::of, 0,
                1000));
        assertThrows(IllegalArgumentException.class, () -> new WeightedPolicy(Map.of(), -1, 1024));
    }

    private static UnitLoad load(UnitId unit, long atMillis, double cpu, long buffer, long queued) {
        return new UnitLoad(unit, Instant.ofEpochMilli(atMillis), cpu, buffer, 1000, 1, queued);
    }

    @Test
    void leastLoadedChoosesTheLowestLoad() {
        long now = 1_000_000;
        LeastLoadedPolicy policy = new LeastLoadedPolicy(LeastLoadedPolicy.Metric.COMBINED, 1000, 0.0, () -> now);
        List<UnitId> units = units(3);
        Map<UnitId, UnitLoad> loads = Map.of(
            units.get(0), load(units.get(0), now - 10, 0.9, 100, 0),
            units.get(1), load(units.get(1), now - 10, 0.2, 500, 0), // buffer 0.5 dominates
            units.get(2), load(units.get(2), now - 10, 0.3, 100, 0));
        for (int i = 0; i < 100; i++) {
            assertEquals(units.get(2), policy.choose(datagram(1), session(1), units, loads));
        }
        LeastLoadedPolicy cpu = new LeastLoadedPolicy(LeastLoadedPolicy.Metric.CPU, 1000, 0.0, () -> now);
        assertEquals(units.get(1), cpu.choose(datagram(1), session(1), units, loads));
    }

    @Test
    void leastLoadedBreaksTiesDeterministically() {
        long now = 5_000;
        List<UnitId> units = units(3);
        Map<UnitId, UnitLoad> loads = Map.of(
            units.get(0), load(units.get(0), now, 0.5, 0, 0),
            units.get(1), load(units.get(1), now, 0.1, 0, 0),
            units.get(2), load(units.get(2), now, 0.1, 0, 0));
        List<UnitId> first = new ArrayList<>();
        List<UnitId> second = new ArrayList<>();
        LeastLoadedPolicy a = new LeastLoadedPolicy(LeastLoadedPolicy.Metric.CPU, 1000, 0.0, () -> now);
        LeastLoadedPolicy b = new LeastLoadedPolicy(LeastLoadedPolicy.Metric.CPU, 1000, 0.0, () -> now);
        for (int i = 0; i < 6; i++) {
            first.add(a.choose(datagram(1), session(1), units, loads));
            second.add(b.choose(datagram(1), session(1), units, loads));
        }
        // tied units take turns (fewest assigned since report, then candidate order); unit-0 never
        assertEquals(List.of(units.get(1), units.get(2), units.get(1), units.get(2), units.get(1), units.get(2)),
            first);
        assertEquals(first, second);
    }

    @Test
    void leastLoadedTreatsMissingAndStaleReportsAsUnknown() {
        AtomicLong clock = new AtomicLong(10_000);
        LeastLoadedPolicy policy = new LeastLoadedPolicy(LeastLoadedPolicy.Metric.CPU, 1000, 0.0, clock::get);
        List<UnitId> units = units(3);
        Map<UnitId, UnitLoad> loads = new HashMap<>();
        loads.put(units.get(2), load(units.get(2), 9_500, 0.95, 0, 0));
        // unit-0 and unit-1 have no report: a reported unit, even a busy one, is preferred
        assertEquals(units.get(2), policy.choose(datagram(1), session(1), units, loads));
        clock.set(11_000); // the report is now stale: everyone is unknown, they take turns
        List<UnitId> chosen = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            chosen.add(policy.choose(datagram(1), session(1), units, loads));
        }
        // unit-2 already had one since its report: the others catch up first
        assertEquals(List.of(units.get(0), units.get(1), units.get(0), units.get(1), units.get(2)), chosen);
    }

    @Test
    void leastLoadedQueueMetricCountsWhatItSentSinceTheReport() {
        long now = 1_000;
        LeastLoadedPolicy policy = new LeastLoadedPolicy(LeastLoadedPolicy.Metric.QUEUE, 1000, 0.0, () -> now);
        List<UnitId> units = units(2);
        Map<UnitId, UnitLoad> loads = Map.of(
            units.get(0), load(units.get(0), now, 0, 0, 10),
            units.get(1), load(units.get(1), now, 0, 0, 0));
        int[] counts = new int[2];
        for (int i = 0; i < 30; i++) {
            counts[units.indexOf(policy.choose(datagram(1), session(1), units, loads))]++;
        }
        // unit-1 takes 10 to catch up, then they alternate: 10 + 20/2 and 20/2
        assertEquals(10, counts[0]);
        assertEquals(20, counts[1]);
        assertEquals(20, policy.assignedSinceReport(units.get(1)));
    }

    @Test
    void leastLoadedRejectsBadConfiguration() {
        assertThrows(IllegalArgumentException.class,
            () -> new LeastLoadedPolicy(LeastLoadedPolicy.Metric.CPU, 0, 0.0, () -> 0));
        assertThrows(IllegalArgumentException.class,
            () -> new LeastLoadedPolicy(LeastLoadedPolicy.Metric.CPU, 10, Double.NaN, () -> 0));
        assertThrows(IllegalArgumentException.class, () -> new LeastLoadedPolicy(null, 10, 0, () -> 0));
    }

    @Test
    void tablesStayBounded() {
        RoundRobinPolicy policy = new RoundRobinPolicy(16);
        List<UnitId> units = units(2);
        for (long s = 1; s <= 1000; s++) {
            policy.choose(datagram(1), session(s), units, NO_LOADS);
        }
        AffinityPolicy affinity = new AffinityPolicy(16);
        for (long s = 1; s <= 1000; s++) {
            affinity.choose(datagram(1), session(s), units, NO_LOADS);
        }
        // a forgotten session is re-pinned by hashing: same unit as long as the units did not change
        assertEquals(AffinityPolicy.rendezvous(session(1).id(), units),
            affinity.choose(datagram(1), session(1), units, NO_LOADS));
    }
}
