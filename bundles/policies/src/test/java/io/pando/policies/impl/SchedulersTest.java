package io.pando.policies.impl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pando.api.policy.PacketScheduler;
import io.pando.api.session.SessionId;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import org.junit.jupiter.api.Test;

class SchedulersTest {

    private static final SessionId A = new SessionId(1);
    private static final SessionId B = new SessionId(2);
    private static final SessionId C = new SessionId(3);

    /** The unit's side: one FIFO of lengths per session, driving a scheduler like the unit does. */
    private static final class Unit {
        final PacketScheduler scheduler;
        final Map<SessionId, ArrayDeque<Integer>> queues = new HashMap<>();
        final Map<SessionId, Long> sentBytes = new HashMap<>();

        Unit(PacketScheduler scheduler) {
            this.scheduler = scheduler;
        }

        void enqueue(SessionId s, int length) {
            queues.computeIfAbsent(s, k -> new ArrayDeque<>()).add(length);
            scheduler.enqueued(s, length);
        }

        SessionId sendOne() {
            Optional<SessionId> next = scheduler.next();
            assertTrue(next.isPresent(), "something is queued");
            SessionId s = next.get();
            Integer length = queues.get(s).poll();
            assertTrue(length != null, "the scheduler chose a session with queued datagrams: " + s);
            sentBytes.merge(s, (long) length, Long::sum);
            scheduler.dequeued(s, length);
            return s;
        }
    }

    @Test
    void fifoSendsInArrivalOrderAcrossSessions() {
        Unit unit = new Unit(new FifoScheduler());
        SessionId[] order = {A, B, A, C, B, A};
        for (SessionId s : order) {
            unit.enqueue(s, 100);
        }
        for (SessionId s : order) {
            assertEquals(s, unit.sendOne());
        }
        assertEquals(Optional.empty(), unit.scheduler.next());
    }

    @Test
    void fifoSurvivesADropOutOfOrder() {
        FifoScheduler fifo = new FifoScheduler();
        fifo.enqueued(A, 10);
        fifo.enqueued(B, 10);
        fifo.enqueued(B, 10);
        fifo.enqueued(A, 10);
        fifo.dequeued(B, 10); // the unit dropped B's head while A is first
        assertEquals(Optional.of(A), fifo.next());
        fifo.dequeued(A, 10);
        assertEquals(Optional.of(B), fifo.next());
        fifo.dequeued(B, 10);
        assertEquals(Optional.of(A), fifo.next());
        fifo.dequeued(A, 10);
        assertEquals(Optional.empty(), fifo.next());
        assertEquals(0, fifo.queued());
    }

    @Test
    void fifoGrowsAndSweepsIdleSessions() {
        FifoScheduler fifo = new FifoScheduler();
        for (long s = 1; s <= 5000; s++) {
            fifo.enqueued(new SessionId(s), 1);
        }
        for (long s = 1; s <= 5000; s++) {
            assertEquals(Optional.of(new SessionId(s)), fifo.next());
            fifo.dequeued(new SessionId(s), 1);
        }
        assertEquals(Optional.empty(), fifo.next());
    }

    @Test
    void drrSharesBytesByWeightWhateverTheDatagramSizes() {
        DrrScheduler drr = new DrrScheduler(1500, 1, Map.of(A, 1, B, 2, C, 5));
        Unit unit = new Unit(drr);
        Random random = new Random(3);
        // A sends small datagrams, B large ones, C mixed: all stay backlogged
        for (int round = 0; round < 200_000; round++) {
            for (SessionId s : new SessionId[] {A, B, C}) {
                if (unit.queues.getOrDefault(s, new ArrayDeque<>()).size() < 50) {
                    int length = s == A ? 64 + random.nextInt(64) : s == B ? 1400 + random.nextInt(100)
                        : 64 + random.nextInt(1436);
                    for (int k = 0; k < 30; k++) {
                        unit.enqueue(s, length);
                    }
                }
            }
            unit.sendOne();
        }
        double total = unit.sentBytes.values().stream().mapToLong(Long::longValue).sum();
        assertEquals(1.0 / 8, unit.sentBytes.get(A) / total, 0.02 / 8, "A's share");
        assertEquals(2.0 / 8, unit.sentBytes.get(B) / total, 0.02 * 2 / 8, "B's share");
        assertEquals(5.0 / 8, unit.sentBytes.get(C) / total, 0.02 * 5 / 8, "C's share");
    }

    @Test
    void drrEqualWeightsShareEquallyAndSmallQuantaSkipIdleRounds() {
        DrrScheduler drr = new DrrScheduler(64, 1, Map.of());
        Unit unit = new Unit(drr);
        for (int i = 0; i < 20_000; i++) {
            unit.enqueue(A, 9000);
            unit.enqueue(B, 300);
        }
        for (int i = 0; i < 20_000; i++) {
            unit.sendOne();
        }
        double a = unit.sentBytes.get(A);
        double b = unit.sentBytes.get(B);
        assertEquals(0.5, a / (a + b), 0.02, "equal byte shares with 30x different sizes");
    }

    @Test
    void drrForgetsTheDeficitOfAnEmptiedSession() {
        DrrScheduler drr = new DrrScheduler(1000, 1, Map.of());
        drr.enqueued(A, 100);
        assertEquals(Optional.of(A), drr.next());
        assertEquals(1000, drr.deficit(A));
        drr.dequeued(A, 100);
        assertEquals(0, drr.deficit(A), "DRR: an idle session keeps no credit");
        assertEquals(0, drr.backlogged());
        assertEquals(Optional.empty(), drr.next());
    }

    @Test
    void drrServesEveryBackloggedSessionAndLosesNothing() {
        Unit unit = new Unit(new DrrScheduler(500, 1, Map.of(B, 3)));
        Random random = new Random(11);
        int queued = 0;
        for (int i = 0; i < 10_000; i++) {
            SessionId s = new SessionId(1 + random.nextInt(20));
            unit.enqueue(s, 1 + random.nextInt(2000));
            queued++;
        }
        for (int i = 0; i < queued; i++) {
            unit.sendOne();
        }
        assertEquals(Optional.empty(), unit.scheduler.next());
        unit.queues.values().forEach(q -> assertTrue(q.isEmpty()));
    }

    @Test
    void drrRejectsBadConfiguration() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
            () -> new DrrScheduler(10, 1, Map.of()));
        assertTrue(e.getMessage().contains("quantum") && e.getMessage().contains("[64, 1048576]"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new DrrScheduler(1500, 0, Map.of()));
        assertThrows(IllegalArgumentException.class, () -> new DrrScheduler(1500, 1, Map.of(A, 0)));
        assertThrows(IllegalArgumentException.class,
            () -> PolicySettings.parseWeights("drr", "weights", new String[] {"0=3"}, SessionId::parse, 1, 1000));
    }
}
