package io.pando.policies.impl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pando.api.policy.AggregationStrategy;
import io.pando.api.program.Datagram;
import io.pando.api.session.SessionId;
import io.pando.policies.api.ReorderStats;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class AggregationStrategiesTest {

    private static final SessionId S = new SessionId(7);
    private static final long MS = 1_000_000;

    /** Records what the strategy hands back; the datagram carries its sequence number in its bytes. */
    private static final class Recorder implements AggregationStrategy.Sink {
        final List<Long> sent = new ArrayList<>();
        int dropped;

        @Override
        public void send(SessionId session, Datagram datagram) {
            sent.add(datagram.data().getLong());
        }

        @Override
        public void drop(SessionId session, Datagram datagram) {
            dropped++;
        }
    }

    private static Datagram d(long seq) {
        return Datagram.of(Fixtures.FLOW, ByteBuffer.allocate(8).putLong(seq).array());
    }

    @Test
    void passThroughSendsAtOnce() {
        PassThroughStrategy strategy = new PassThroughStrategy();
        Recorder sink = new Recorder();
        strategy.arrived(S, 3, d(3), sink);
        strategy.arrived(S, 1, d(1), sink);
        assertEquals(List.of(3L, 1L), sink.sent);
    }

    @Test
    void reorderWindowReleasesInOrder() {
        AtomicLong clock = new AtomicLong();
        ReorderWindowStrategy window = new ReorderWindowStrategy(10 * MS, 64, clock::get);
        Recorder sink = new Recorder();
        for (long seq : new long[] {0, 2, 3, 1, 5, 4, 6}) {
            window.arrived(S, seq, d(seq), sink);
        }
        assertEquals(List.of(0L, 1L, 2L, 3L, 4L, 5L, 6L), sink.sent);
        ReorderStats stats = window.stats(S).orElseThrow();
        assertEquals(7, stats.arrived());
        assertEquals(7, stats.releasedInOrder());
        assertEquals(0, stats.releasedOutOfOrder());
        assertEquals(0, stats.heldNow());
        assertEquals(3, stats.heldTotal()); // 2, 3 and 5 waited
    }

    @Test
    void reorderWindowKeepsSiblingsOfOneInputTogether() {
        ReorderWindowStrategy window = new ReorderWindowStrategy(10 * MS, 64, () -> 0);
        Recorder sink = new Recorder();
        window.arrived(S, 0, d(0), sink);
        window.arrived(S, 2, d(2), sink);
        window.arrived(S, 2, d(2), sink);
        window.arrived(S, 1, d(1), sink);
        window.arrived(S, 1, d(1), sink); // a second output of input 1, after 2 was sent
        assertEquals(List.of(0L, 1L, 2L, 2L, 1L), sink.sent);
        assertEquals(1, window.stats(S).orElseThrow().releasedOutOfOrder());
    }

    @Test
    void reorderWindowReleasesAtTheDeadline() {
        AtomicLong clock = new AtomicLong(1_000 * MS);
        ReorderWindowStrategy window = new ReorderWindowStrategy(10 * MS, 64, clock::get);
        Recorder sink = new Recorder();
        window.arrived(S, 0, d(0), sink);
        window.arrived(S, 2, d(2), sink); // 1 is missing
        clock.addAndGet(4 * MS);
        window.arrived(S, 4, d(4), sink); // 3 is missing
        window.advance(clock.get(), sink);
        assertEquals(List.of(0L), sink.sent);
        clock.addAndGet(6 * MS); // 2 waited 10 ms: give up on 1
        window.advance(clock.get(), sink);
        assertEquals(List.of(0L, 2L), sink.sent);
        clock.addAndGet(4 * MS); // 4 waited 10 ms: give up on 3
        window.advance(clock.get(), sink);
        assertEquals(List.of(0L, 2L, 4L), sink.sent);
        window.arrived(S, 1, d(1), sink); // late: sent at once, counted
        window.arrived(S, 5, d(5), sink);
        assertEquals(List.of(0L, 2L, 4L, 1L, 5L), sink.sent);
        ReorderStats stats = window.stats(S).orElseThrow();
        assertEquals(2, stats.deadlineReleases());
        assertEquals(1, stats.releasedOutOfOrder());
        assertEquals(10 * MS, stats.maxHoldNanos());
    }

    @Test
    void reorderWindowOverflowReleasesTheOldestAndCountsIt() {
        ReorderWindowStrategy window = new ReorderWindowStrategy(10 * MS, 3, () -> 0);
        Recorder sink = new Recorder();
        window.arrived(S, 0, d(0), sink);
        window.arrived(S, 3, d(3), sink);
        window.arrived(S, 5, d(5), sink);
        window.arrived(S, 2, d(2), sink);
        assertEquals(List.of(0L), sink.sent);
        window.arrived(S, 7, d(7), sink); // full: release 2 (giving up on 1), then 3 follows in order
        assertEquals(List.of(0L, 2L, 3L), sink.sent);
        ReorderStats stats = window.stats(S).orElseThrow();
        assertEquals(1, stats.overflowReleases());
        assertEquals(2, stats.heldNow());
        Recorder rest = new Recorder();
        window.closed(S, rest);
        assertEquals(List.of(5L, 7L), rest.sent, "close sends what is held, in order");
        assertTrue(window.stats(S).isEmpty());
        assertEquals(5, window.totals().released());
    }

    @Test
    void reorderWindowPerSessionSettings() {
        ReorderWindowStrategy window = new ReorderWindowStrategy(10 * MS, 64, () -> 0);
        SessionId other = new SessionId(8);
        window.configure(other, 0, 1);
        Recorder sink = new Recorder();
        window.arrived(other, 0, d(0), sink);
        window.arrived(other, 2, d(2), sink);
        window.arrived(S, 0, d(0), sink);
        window.arrived(S, 2, d(2), sink);
        assertEquals(List.of(0L, 2L, 0L), sink.sent, "hold 0 disables holding for that session only");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> window.configure(S, -1, 4));
        assertTrue(e.getMessage().contains("max hold"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> window.configure(S, MS, 0));
        assertThrows(IllegalArgumentException.class, () -> new ReorderWindowStrategy(-1, 4, () -> 0));
        assertThrows(IllegalArgumentException.class, () -> new ReorderWindowStrategy(MS, 70_000, () -> 0));
    }

    @Test
    void reorderWindowLosesAndDuplicatesNothingUnderHeavyReordering() {
        AtomicLong clock = new AtomicLong();
        ReorderWindowStrategy window = new ReorderWindowStrategy(2 * MS, 32, clock::get);
        Recorder sink = new Recorder();
        Random random = new Random(5);
        int n = 100_000;
        List<Long> order = new ArrayList<>();
        for (long i = 0; i < n; i++) {
            order.add(i);
        }
        // shuffle within blocks of 40 (more than the depth) and drop nothing
        for (int i = 0; i < n; i += 40) {
            Collections.shuffle(order.subList(i, Math.min(n, i + 40)), random);
        }
        for (long seq : order) {
            clock.addAndGet(random.nextInt(20_000));
            window.arrived(S, seq, d(seq), sink);
            if (random.nextInt(50) == 0) {
                window.advance(clock.get(), sink);
            }
        }
        window.closed(S, sink);
        assertEquals(n, sink.sent.size());
        Set<Long> seen = new HashSet<>(sink.sent);
        assertEquals(n, seen.size(), "no duplicate");
        ReorderStats totals = window.totals();
        assertEquals(n, totals.arrived());
        assertEquals(n, totals.released());
        assertEquals(0, totals.heldNow());
        assertEquals(n, totals.releasedInOrder() + totals.releasedOutOfOrder());
        long outOfOrder = 0;
        long highest = -1;
        for (long seq : sink.sent) {
            if (seq < highest) {
                outOfOrder++;
            }
            highest = Math.max(highest, seq);
        }
        assertEquals(outOfOrder, totals.releasedOutOfOrder(), "the window counts what the receiver sees");
        assertEquals(0, sink.dropped);
    }

    @Test
    void reorderWindowPutsModestReorderingBackInOrder() {
        AtomicLong clock = new AtomicLong();
        ReorderWindowStrategy window = new ReorderWindowStrategy(10 * MS, 256, clock::get);
        Recorder sink = new Recorder();
        Random random = new Random(9);
        List<Long> order = new ArrayList<>();
        for (long i = 0; i < 50_000; i++) {
            order.add(i);
        }
        for (int i = 0; i < order.size(); i += 16) {
            Collections.shuffle(order.subList(i, i + 16), random);
        }
        for (long seq : order) {
            clock.addAndGet(1_000);
            window.arrived(S, seq, d(seq), sink);
            window.advance(clock.get(), sink);
        }
        for (int i = 0; i < sink.sent.size(); i++) {
            assertEquals(i, sink.sent.get(i));
        }
        assertEquals(0, window.totals().releasedOutOfOrder());
    }
}
