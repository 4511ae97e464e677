package com.example.pando.vendor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.pando.api.policy.LoadBalancingPolicy;
import io.pando.api.program.Datagram;
import io.pando.api.session.ActiveSession;
import io.pando.api.session.Flow;
import io.pando.api.session.FlowId;
import io.pando.api.session.SessionId;
import io.pando.api.session.SessionState;
import io.pando.api.unit.UnitId;
import io.pando.api.unit.UnitLoad;
import java.lang.management.ManagementFactory;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.ServiceLoader;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

class ConsistentHashPolicyTest {

    private static final Map<UnitId, UnitLoad> NO_LOADS = Map.of();
    private static final int FLOWS = 10_000;

    private static ActiveSession session(long id) {
        return new ActiveSession(new SessionId(id), "alice", SessionState.ACTIVE,
            List.of(new Flow(FlowId.of(0), "data", InetSocketAddress.createUnresolved("localhost", 9000))), Set.of());
    }

    private static List<UnitId> units(String... names) {
        return Arrays.stream(names).map(UnitId::of).toList();
    }

    private static List<UnitId> units(int n) {
        List<UnitId> units = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            units.add(UnitId.of("node-" + (char) ('a' + i) + ".unit-1"));
        }
        return List.copyOf(units);
    }

    /** Places flows 0..FLOWS-1 of one session. */
    private static Map<Long, UnitId> place(LoadBalancingPolicy policy, ActiveSession session, List<UnitId> units) {
        Map<Long, UnitId> placed = new HashMap<>();
        for (long f = 0; f < FLOWS; f++) {
            placed.put(f, policy.choose(Datagram.of(FlowId.of(f), new byte[1]), session, units, NO_LOADS));
        }
        return placed;
    }

    @Test
    void isFoundByServiceLoader() {
        List<LoadBalancingPolicy> found = ServiceLoader.load(LoadBalancingPolicy.class).stream()
            .map(ServiceLoader.Provider::get).toList();
        assertEquals(1, found.size(), found::toString);
        assertTrue(found.get(0) instanceof ConsistentHashPolicy);
    }

    @Test
    void aFlowSticksToOneUnit() {
        ConsistentHashPolicy policy = new ConsistentHashPolicy();
        List<UnitId> units = units(4);
        for (long s = 1; s <= 20; s++) {
            ActiveSession session = session(s);
            Map<Long, UnitId> first = place(policy, session, units);
            for (int round = 0; round < 3; round++) {
                assertEquals(first, place(policy, session, units));
            }
            // an equal list, a reordered list and another policy instance (another node) agree
            assertEquals(first, place(policy, session, new ArrayList<>(units)));
            List<UnitId> reversed = new ArrayList<>(units);
            Collections.reverse(reversed);
            assertEquals(first, place(policy, session, reversed));
            assertEquals(first, place(new ConsistentHashPolicy(), session, units));
        }
    }

    @Test
    void returnsTheCandidateItWasGiven() {
        ConsistentHashPolicy policy = new ConsistentHashPolicy();
        List<UnitId> units = units(3);
        List<UnitId> copies = units.stream().map(u -> UnitId.of(u.value())).toList();
        for (long f = 0; f < 100; f++) {
            UnitId chosen = policy.choose(Datagram.of(FlowId.of(f), new byte[0]), session(1), copies, NO_LOADS);
            assertSame(copies.get(copies.indexOf(chosen)), chosen);
        }
        UnitId only = UnitId.of("solo");
        assertSame(only, policy.choose(Datagram.of(FlowId.of(1), new byte[0]), session(1), List.of(only), NO_LOADS));
    }

    @Test
    void spreadsFlowsEvenly() {
        ConsistentHashPolicy policy = new ConsistentHashPolicy();
        List<List<UnitId>> unitSets = List.of(units(4), units("unit-0", "unit-1", "unit-2", "unit-3"),
            units("n1.u1", "n1.u2", "n2.u1", "n2.u2"));
        for (List<UnitId> units : unitSets) {
            for (long s : new long[] {1, 42, 0xFFFF_FFFF_FFFF_FFFFL}) {
                Map<UnitId, Long> perUnit = place(policy, session(s), units).values().stream()
                    .collect(Collectors.groupingBy(u -> u, Collectors.counting()));
                assertEquals(4, perUnit.size(), perUnit::toString);
                for (long count : perUnit.values()) {
                    assertTrue(Math.abs(count - FLOWS / 4.0) <= 0.15 * FLOWS / 4.0,
                        () -> "flows per unit outside 2500 ± 15%: " + perUnit + " (session " + s + ")");
                }
            }
        }
        // the first flow of many sessions spreads too
        Map<UnitId, Long> perUnit = new HashMap<>();
        for (long s = 1; s <= FLOWS; s++) {
            perUnit.merge(policy.choose(Datagram.of(FlowId.of(1), new byte[0]), session(s), units(4), NO_LOADS), 1L,
                Long::sum);
        }
        for (long count : perUnit.values()) {
            assertTrue(Math.abs(count - FLOWS / 4.0) <= 0.15 * FLOWS / 4.0, perUnit::toString);
        }
    }

    @Test
    void aJoiningUnitTakesAboutAFifthAndNothingElseMoves() {
        ConsistentHashPolicy policy = new ConsistentHashPolicy();
        ActiveSession session = session(7);
        List<UnitId> four = units(4);
        List<UnitId> five = units(5);
        UnitId joined = five.get(4);
        Map<Long, UnitId> before = place(policy, session, four);
        Map<Long, UnitId> after = place(policy, session, five);
        int moved = 0;
        for (long f = 0; f < FLOWS; f++) {
            if (!before.get(f).equals(after.get(f))) {
                assertEquals(joined, after.get(f), "a flow moved between old units");
                moved++;
            }
        }
        double share = moved / (double) FLOWS;
        assertTrue(share > 0.2 * 0.85 && share < 0.2 * 1.15, "moved " + share + " of the flows, expected ~0.2");
    }

    @Test
    void aLeavingUnitsFlowsSpreadAndNothingElseMoves() {
        ConsistentHashPolicy policy = new ConsistentHashPolicy();
        ActiveSession session = session(9);
        List<UnitId> four = units(4);
        UnitId leaving = four.get(2);
        List<UnitId> three = four.stream().filter(u -> !u.equals(leaving)).toList();
        Map<Long, UnitId> before = place(policy, session, four);
        Map<Long, UnitId> after = place(policy, session, three);
        Map<UnitId, Integer> receivedBy = new HashMap<>();
        int moved = 0;
        for (long f = 0; f < FLOWS; f++) {
            if (before.get(f).equals(leaving)) {
                assertNotEquals(leaving, after.get(f));
                receivedBy.merge(after.get(f), 1, Integer::sum);
                moved++;
            } else {
                assertEquals(before.get(f), after.get(f), "a flow of a remaining unit moved");
            }
        }
        assertTrue(moved > 0.25 * 0.85 * FLOWS && moved < 0.25 * 1.15 * FLOWS, "moved " + moved);
        assertEquals(3, receivedBy.size(), "the lost unit's flows go to every remaining unit: " + receivedBy);
        // back to four units: everything returns where it was
        assertEquals(before, place(policy, session, four));
    }

    @Test
    void buildsARingOncePerCandidateListAndBoundsTheCache() {
        ConsistentHashPolicy policy = new ConsistentHashPolicy();
        ActiveSession session = session(3);
        for (int i = 0; i < 100; i++) {
            policy.choose(Datagram.of(FlowId.of(i), new byte[0]), session, units(4), NO_LOADS);
            policy.choose(Datagram.of(FlowId.of(i), new byte[0]), session, units(3), NO_LOADS);
        }
        assertEquals(2, policy.cachedRings());
        for (int n = 2; n <= 40; n++) {
            policy.choose(Datagram.of(FlowId.of(1), new byte[0]), session, units("u" + n, "v" + n), NO_LOADS);
        }
        assertEquals(ConsistentHashPolicy.CACHED_RINGS, policy.cachedRings());
    }

    @Test
    void allocatesNothingPerCallOnceTheRingExists() {
        assumeTrue(ManagementFactory.getThreadMXBean() instanceof com.sun.management.ThreadMXBean);
        com.sun.management.ThreadMXBean threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        assumeTrue(threads.isThreadAllocatedMemorySupported() && threads.isThreadAllocatedMemoryEnabled());
        ConsistentHashPolicy policy = new ConsistentHashPolicy();
        ActiveSession session = session(5);
        List<UnitId> units = units(4);
        Datagram[] datagrams = new Datagram[1024];
        for (int i = 0; i < datagrams.length; i++) {
            datagrams[i] = Datagram.of(FlowId.of(i), new byte[0]);
        }
        long sink = 0;
        for (int i = 0; i < 200_000; i++) {
            sink += policy.choose(datagrams[i & 1023], session, units, NO_LOADS).value().length();
        }
        long thread = Thread.currentThread().getId();
        long before = threads.getThreadAllocatedBytes(thread);
        for (int i = 0; i < 1_000_000; i++) {
            sink += policy.choose(datagrams[i & 1023], session, units, NO_LOADS).value().length();
        }
        long allocated = threads.getThreadAllocatedBytes(thread) - before;
        assertTrue(sink > 0);
        assertTrue(allocated < 100_000, "a million calls allocated " + allocated + " bytes");
    }

    @Test
    void rejectsNonsenseVirtualNodeCounts() {
        assertThrows(IllegalArgumentException.class, () -> new ConsistentHashPolicy(0));
    }
}
