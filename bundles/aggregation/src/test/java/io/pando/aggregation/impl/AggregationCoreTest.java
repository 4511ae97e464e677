package io.pando.aggregation.impl;

import io.pando.artp.testing.Configs;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.pando.api.policy.AggregationStrategy;
import io.pando.api.program.Datagram;
import io.pando.api.session.SessionId;
import io.pando.api.unit.UnitId;
import io.pando.artp.ArtpConfig;
import io.pando.artp.ErrorCode;
import io.pando.link.AggregationChannel;
import io.pando.link.Credit;
import io.pando.link.SessionPlan;
import io.pando.policies.impl.PassThroughStrategy;
import io.pando.policies.impl.ReorderWindowStrategy;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The aggregation unit as plain Java: a real {@link AggregationCore} sending over ARTP to a real receiver on
 * loopback, fed by fake units, driven by the real strategies. Every buffer must be released.
 */
class AggregationCoreTest {

    private static final UnitId U1 = UnitId.of("u1");
    private static final UnitId U2 = UnitId.of("u2");
    /** Quick to give up on a handshake: 50 + 100 + 200 ms. */
    private static final ArtpConfig FAST = ArtpConfig.builder().initialRto(Duration.ofMillis(50))
        .handshakeAttempts(3).build();

    private final List<AutoCloseable> closing = new ArrayList<>();

    @AfterEach
    void closeEverything() throws Exception {
        for (int i = closing.size() - 1; i >= 0; i--) {
            closing.get(i).close();
        }
    }

    // ---- fixtures

    /** A unit as the aggregation unit sees it: it delivers results and counts the credit it gets back. */
    static final class FakeUnit implements Credit {
        final AtomicLong delivered = new AtomicLong();
        final AtomicLong credited = new AtomicLong();
        final AtomicInteger credits = new AtomicInteger();
        final AggregationChannel channel;

        FakeUnit(AggregationCore core, SessionId session, UnitId unit) {
            this.channel = core.attach(session, unit, this);
        }

        void deliver(long seq, int size) {
            delivered.addAndGet(size);
            channel.deliver(seq, datagram(seq, size));
        }

        @Override
        public void release(int bytes) {
            credited.addAndGet(bytes);
            credits.incrementAndGet();
        }
    }

    /** A strategy source that counts instances, like DS would. */
    static final class Strategies implements StrategyFactory {
        final Supplier<AggregationStrategy> supplier;
        final AtomicInteger gets = new AtomicInteger();
        final AtomicInteger ungets = new AtomicInteger();

        Strategies(Supplier<AggregationStrategy> supplier) {
            this.supplier = supplier;
        }

        @Override
        public AggregationStrategy get() {
            gets.incrementAndGet();
            return supplier.get();
        }

        @Override
        public void unget(AggregationStrategy strategy) {
            ungets.incrementAndGet();
        }
    }

    static Strategies reorderWindow(long holdMillis) {
        return new Strategies(() -> new ReorderWindowStrategy(Configs.of(ReorderWindowStrategy.Config.class,
            Map.of("max_hold_ms", holdMillis))));
    }

    static Strategies passThrough() {
        return new Strategies(PassThroughStrategy::new);
    }

    private AggregationCore core(String strategy) {
        AggregationCore core = new AggregationCore(new InetSocketAddress("127.0.0.1", 0), FAST, strategy);
        closing.add(core::stop);
        return core;
    }

    private Receiver receiver(ArtpConfig config) {
        Receiver r = new Receiver(config);
        closing.add(r);
        return r;
    }

    static SessionPlan plan(long id, InetSocketAddress destination, Optional<Long> holdMillis) {
        return new SessionPlan(new SessionId(id), "s" + id, "passthrough", Map.of(), destination, List.of(U1, U2),
            1 << 20, holdMillis);
    }

    static ByteBuf datagram(long seq, int size) {
        ByteBuf b = PooledByteBufAllocator.DEFAULT.directBuffer(size);
        b.writeLong(seq);
        for (int i = 8; i < size; i++) {
            b.writeByte((int) (seq * 17 + i));
        }
        return b;
    }

    static void assertIntact(byte[] data) {
        long seq = ByteBuffer.wrap(data).getLong();
        for (int i = 8; i < data.length; i++) {
            if (data[i] != (byte) (seq * 17 + i)) {
                fail("datagram " + seq + " corrupt at byte " + i);
            }
        }
    }

    static int sizeOf(long seq) {
        return 8 + (int) ((seq * 53) % 1000);
    }

    static void await(BooleanSupplier condition, String what) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                fail("timed out waiting for " + what);
            }
            Thread.sleep(1);
        }
    }

    /** Every number in [0, n) exactly once, every datagram intact. */
    static void assertExactlyOnce(Receiver r, int n) {
        BitSet seen = new BitSet();
        for (byte[] d : r.received()) {
            long seq = ByteBuffer.wrap(d).getLong();
            assertFalse(seen.get((int) seq), "duplicate " + seq);
            seen.set((int) seq);
            assertEquals(sizeOf(seq), d.length, "length of " + seq);
            assertIntact(d);
        }
        assertEquals(n, seen.cardinality());
        assertEquals(n, seen.nextClearBit(0));
    }

    // ---- order

    @Test
    void theReorderWindowPutsTheResultsOfTwoUnitsBackInIngressOrder() throws Exception {
        Receiver receiver = receiver(ArtpConfig.defaults());
        AggregationCore core = core(ReorderWindowStrategy.NAME);
        Strategies rw = reorderWindow(10);
        core.addStrategy(ReorderWindowStrategy.NAME, rw);
        core.addStrategy(PassThroughStrategy.NAME, passThrough());
        SessionPlan plan = plan(1, receiver.address(), Optional.of(10_000L)); // no deadline release in a test
        core.open(plan).toCompletableFuture().get(5, TimeUnit.SECONDS);
        await(() -> ReorderWindowStrategy.NAME.equals(core.strategy()), "the strategy bound");
        FakeUnit a = new FakeUnit(core, plan.id(), U1);
        FakeUnit b = new FakeUnit(core, plan.id(), U2);
        int n = 4_000;
        a.deliver(0, sizeOf(0)); // the window starts at the first arrival
        await(() -> receiver.count() == 1, "the first datagram");
        // each unit delivers its own datagrams out of order: blocks of 8 reversed, evens by a, odds by b
        Thread ta = new Thread(() -> deliverBlocksReversed(a, 1, n, 0));
        Thread tb = new Thread(() -> deliverBlocksReversed(b, 1, n, 1));
        ta.start();
        tb.start();
        ta.join();
        tb.join();
        await(() -> receiver.count() == n, n + " datagrams at the receiver");
        assertExactlyOnce(receiver, n);
        if (core.counters(plan.id()).get("egress_artp_retransmitted") == 0) {
            // ARTP delivers in completion order: only a retransmission could reorder what the window sent
            List<Long> order = receiver.numbers();
            for (int i = 0; i < n; i++) {
                assertEquals(i, order.get(i), "ingress order restored");
            }
        }
        Map<String, Long> reorder = core.reorder(plan.id());
        assertEquals(0, reorder.get("out_of_order"), reorder::toString);
        assertEquals(0, reorder.get("max_displacement"));
        assertEquals(n, reorder.get("window_arrived"));
        assertEquals(n, reorder.get("window_released_in_order"));
        assertEquals(0, reorder.get("window_released_out_of_order"));
        assertEquals(0, reorder.get("window_held_now"));
        assertTrue(reorder.get("window_held_total") > 0, reorder::toString);
        assertEquals(0, reorder.get("window_deadline_releases"), reorder::toString);
        Map<String, Long> last = core.close(plan.id()).toCompletableFuture().get(10, TimeUnit.SECONDS);
        assertEquals(n, last.get("results_in"));
        assertEquals(n, last.get("datagrams_out"));
        assertEquals(a.delivered.get() + b.delivered.get(), last.get("bytes_out"));
        assertEquals(0, core.counters().get("egress_lost"));
        assertEquals(a.delivered.get(), a.credited.get(), "every byte of unit 1 credited exactly once");
        assertEquals(b.delivered.get(), b.credited.get(), "every byte of unit 2 credited exactly once");
        assertTrue(receiver.closed.await(5, TimeUnit.SECONDS));
        assertEquals(ErrorCode.NO_ERROR, receiver.closeCode, "the egress closes in order");
        assertEquals(Map.of(), core.counters(plan.id()), "forgotten after close");
        assertEquals(Map.of(), core.reorder(plan.id()));
        assertEquals(0, core.counters().get("sessions"));
        assertEquals(0, core.counters().get("held"));
    }

    /** Delivers the numbers in [from, n) of one parity, in blocks of 8 numbers sent highest first. */
    private static void deliverBlocksReversed(FakeUnit unit, int from, int n, int parity) {
        for (int block = from; block < n; block += 8) {
            for (int seq = Math.min(block + 7, n - 1); seq >= block; seq--) {
                if (seq % 2 == parity) {
                    unit.deliver(seq, sizeOf(seq));
                }
            }
        }
    }

    @Test
    void aGapIsGivenUpAfterTheSessionsHoldTimeAndALateResultIsCountedOutOfOrder() throws Exception {
        Receiver receiver = receiver(ArtpConfig.defaults());
        AggregationCore core = core(ReorderWindowStrategy.NAME);
        core.addStrategy(ReorderWindowStrategy.NAME, reorderWindow(10_000)); // the session's own hold time wins
        SessionPlan plan = plan(13, receiver.address(), Optional.of(100L));
        core.open(plan).toCompletableFuture().get(5, TimeUnit.SECONDS);
        FakeUnit a = new FakeUnit(core, plan.id(), U1);
        a.deliver(0, sizeOf(0));
        long t0 = System.nanoTime();
        a.deliver(2, sizeOf(2));
        await(() -> receiver.count() == 2, "2 released by the deadline");
        long waited = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
        assertTrue(waited >= 95 && waited < 2_000, "held about the session's 100 ms: " + waited);
        a.deliver(1, sizeOf(1)); // too late: sent at once
        await(() -> receiver.count() == 3, "the late one");
        assertEquals(List.of(0L, 2L, 1L), receiver.numbers());
        Map<String, Long> reorder = core.reorder(plan.id());
        assertEquals(1, reorder.get("window_deadline_releases"), reorder::toString);
        assertEquals(1, reorder.get("window_released_out_of_order"));
        assertEquals(1, reorder.get("out_of_order"));
        assertEquals(1, reorder.get("max_displacement"));
        assertTrue(reorder.get("window_max_hold_ns") >= TimeUnit.MILLISECONDS.toNanos(95), reorder::toString);
        core.close(plan.id()).toCompletableFuture().get(5, TimeUnit.SECONDS);
        assertEquals(a.delivered.get(), a.credited.get());
    }

    @Test
    void passThroughSendsAtOnceAndTheEgressMeasuresTheReordering() throws Exception {
        Receiver receiver = receiver(ArtpConfig.defaults());
        AggregationCore core = core(PassThroughStrategy.NAME);
        core.addStrategy(PassThroughStrategy.NAME, passThrough());
        SessionPlan plan = plan(2, receiver.address(), Optional.empty());
        core.open(plan).toCompletableFuture().get(5, TimeUnit.SECONDS);
        FakeUnit a = new FakeUnit(core, plan.id(), U1);
        FakeUnit b = new FakeUnit(core, plan.id(), U2);
        int n = 2_000;
        List<Long> sent = new ArrayList<>();
        for (int block = 0; block < n; block += 4) { // blocks of 4, highest first, alternating units
            for (int seq = block + 3; seq >= block; seq--) {
                (seq % 2 == 0 ? a : b).deliver(seq, sizeOf(seq));
                sent.add((long) seq);
            }
        }
        long outOfOrder = 0;
        long maxDisplacement = 0;
        long highest = -1;
        for (long seq : sent) {
            if (seq < highest) {
                outOfOrder++;
                maxDisplacement = Math.max(maxDisplacement, highest - seq);
            } else {
                highest = seq;
            }
        }
        await(() -> receiver.count() == n, n + " datagrams");
        assertExactlyOnce(receiver, n);
        Map<String, Long> c = core.counters(plan.id());
        assertEquals(outOfOrder, c.get("out_of_order"), c::toString);
        assertEquals(maxDisplacement, c.get("max_displacement"));
        assertEquals(3L * n / 4, outOfOrder);
        assertEquals(3, maxDisplacement);
        assertFalse(core.reorder(plan.id()).containsKey("window_arrived"), "pass-through keeps no window");
        core.close(plan.id()).toCompletableFuture().get(10, TimeUnit.SECONDS);
        assertEquals(a.delivered.get(), a.credited.get());
        assertEquals(b.delivered.get(), b.credited.get());
        assertEquals(n, a.credits.get() + b.credits.get(), "one credit per result");
    }

    // ---- credit

    @Test
    void creditIsDeferredWhileTheEgressIsOverItsHighWaterMarkAndReturnedWhenItDrains() throws Exception {
        Receiver receiver = receiver(ArtpConfig.builder().datagramWindow(16).build());
        receiver.pauseOnConnect = true; // the destination takes 16 datagrams, then nothing until resumed
        AggregationCore core = new AggregationCore(new InetSocketAddress("127.0.0.1", 0),
            ArtpConfig.builder().sendWaterMarks(2_000, 8_000).build(), PassThroughStrategy.NAME);
        closing.add(core::stop);
        core.addStrategy(PassThroughStrategy.NAME, passThrough());
        SessionPlan plan = plan(3, receiver.address(), Optional.empty());
        core.open(plan).toCompletableFuture().get(5, TimeUnit.SECONDS);
        FakeUnit a = new FakeUnit(core, plan.id(), U1);
        int n = 200;
        for (int i = 0; i < n; i++) {
            a.deliver(i, 1_000);
        }
        await(() -> receiver.count() == 16, "the credit the destination granted");
        await(() -> core.counters(plan.id()).get("datagrams_out") == n, "every result handed to the egress");
        Thread.sleep(50);
        Map<String, Long> c = core.counters(plan.id());
        assertTrue(c.get("credit_deferred") > 0, c::toString);
        assertTrue(a.credited.get() < a.delivered.get(), "a slow destination pushes back: " + a.credited);
        assertEquals(a.delivered.get() - a.credited.get(), 1_000 * c.get("credit_deferred"));
        receiver.connections.get(0).resumeReceiving();
        await(() -> receiver.count() == n, "every datagram");
        await(() -> a.credited.get() == a.delivered.get(), "the deferred credit");
        assertEquals(0, core.counters(plan.id()).get("credit_deferred"));
        core.close(plan.id()).toCompletableFuture().get(10, TimeUnit.SECONDS);
        assertEquals(n, a.credits.get(), "credited exactly once");
        assertEquals(a.delivered.get(), a.credited.get());
        assertExactlyOnceFixedSize(receiver, n);
    }

    private static void assertExactlyOnceFixedSize(Receiver r, int n) {
        BitSet seen = new BitSet();
        for (byte[] d : r.received()) {
            int seq = (int) ByteBuffer.wrap(d).getLong();
            assertFalse(seen.get(seq));
            seen.set(seq);
            assertIntact(d);
        }
        assertEquals(n, seen.cardinality());
    }

    // ---- switching strategies

    @Test
    void switchingStrategiesMidStreamLosesNothing() throws Exception {
        Receiver receiver = receiver(ArtpConfig.defaults());
        AggregationCore core = core(ReorderWindowStrategy.NAME);
        Strategies rw = reorderWindow(5);
        Strategies pt = passThrough();
        core.addStrategy(ReorderWindowStrategy.NAME, rw);
        core.addStrategy(PassThroughStrategy.NAME, pt);
        SessionPlan plan = plan(4, receiver.address(), Optional.empty());
        core.open(plan).toCompletableFuture().get(5, TimeUnit.SECONDS);
        FakeUnit a = new FakeUnit(core, plan.id(), U1);
        FakeUnit b = new FakeUnit(core, plan.id(), U2);
        int n = 10_000;
        Thread ta = new Thread(() -> deliverBlocksReversed(a, 0, n, 0));
        Thread tb = new Thread(() -> deliverBlocksReversed(b, 0, n, 1));
        ta.start();
        tb.start();
        int switches = 0;
        Strategies rw2 = null;
        for (int i = 0; ta.isAlive() || tb.isAlive() || i < 6; i++) {
            switch (i % 3) {
                case 0 -> core.selectStrategy(PassThroughStrategy.NAME);
                case 1 -> core.selectStrategy(ReorderWindowStrategy.NAME);
                default -> { // the selected strategy is updated: away, then a new instance
                    core.removeStrategy(ReorderWindowStrategy.NAME, rw2 == null ? rw : rw2);
                    assertEquals("direct", core.strategy());
                    rw2 = reorderWindow(5);
                    core.addStrategy(ReorderWindowStrategy.NAME, rw2);
                    switches++;
                }
            }
            switches++;
            Thread.sleep(2);
        }
        ta.join();
        tb.join();
        await(() -> receiver.count() == n, n + " datagrams");
        Map<String, Long> last = core.close(plan.id()).toCompletableFuture().get(10, TimeUnit.SECONDS);
        assertExactlyOnce(receiver, n);
        assertEquals(n, last.get("datagrams_out"));
        assertEquals(a.delivered.get(), a.credited.get(), "every byte credited exactly once");
        assertEquals(b.delivered.get(), b.credited.get(), "every byte credited exactly once");
        Map<String, Long> totals = core.counters();
        assertEquals(0, totals.get("held"));
        assertEquals(0, totals.get("strategy_errors"), totals::toString);
        assertEquals(n, totals.get("datagrams_in"));
        assertEquals(n, totals.get("datagrams_out"));
        // an update's asynchronous rebind may find the next selection already made: at least 3 of every 4
        assertTrue(core.counters().get("strategy_switches") >= 3 * switches / 4, core.counters()::toString);
    }

    @Test
    void removingTheStrategyInUseSendsWhatItHeldAndLaterResultsGoStraightThrough() throws Exception {
        Receiver receiver = receiver(ArtpConfig.defaults());
        AggregationCore core = core(ReorderWindowStrategy.NAME);
        Strategies rw = reorderWindow(10);
        core.addStrategy(ReorderWindowStrategy.NAME, rw);
        SessionPlan plan = plan(5, receiver.address(), Optional.of(10_000L));
        core.open(plan).toCompletableFuture().get(5, TimeUnit.SECONDS);
        FakeUnit a = new FakeUnit(core, plan.id(), U1);
        a.deliver(0, sizeOf(0));
        for (long seq : new long[] {2, 3, 4}) {
            a.deliver(seq, sizeOf(seq));
        }
        await(() -> receiver.count() == 1, "0 sent");
        await(() -> core.reorder(plan.id()).getOrDefault("window_held_now", -1L) == 3, "2, 3, 4 held for 1");
        assertEquals(sizeOf(0), a.credited.get(), "held results are not credited");
        core.removeStrategy(ReorderWindowStrategy.NAME, rw);
        assertEquals("direct", core.strategy());
        assertEquals(1, rw.ungets.get());
        await(() -> receiver.count() == 4, "what the window held");
        a.deliver(1, sizeOf(1));
        await(() -> receiver.count() == 5, "1 straight through");
        assertEquals(List.of(0L, 2L, 3L, 4L, 1L), receiver.numbers());
        await(() -> a.credited.get() == a.delivered.get(), "all credit");
        core.close(plan.id()).toCompletableFuture().get(10, TimeUnit.SECONDS);
    }

    @Test
    void selectingAnUnknownStrategyIsRefusedWithTheRegisteredNames() {
        AggregationCore core = core(PassThroughStrategy.NAME);
        core.addStrategy(PassThroughStrategy.NAME, passThrough());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
            () -> core.selectStrategy("magic"));
        assertEquals("no aggregation strategy 'magic'; registered: [pass-through]", e.getMessage());
    }

    // ---- close

    @Test
    void closeFlushesWhatTheStrategyHoldsAndReturnsTheCounters() throws Exception {
        Receiver receiver = receiver(ArtpConfig.defaults());
        AggregationCore core = core(ReorderWindowStrategy.NAME);
        core.addStrategy(ReorderWindowStrategy.NAME, reorderWindow(10));
        SessionPlan plan = plan(6, receiver.address(), Optional.of(10_000L));
        core.open(plan).toCompletableFuture().get(5, TimeUnit.SECONDS);
        FakeUnit a = new FakeUnit(core, plan.id(), U1);
        for (long seq : new long[] {0, 3, 2}) {
            a.deliver(seq, sizeOf(seq));
        }
        await(() -> receiver.count() == 1, "0 sent, 2 and 3 held");
        long t0 = System.nanoTime();
        Map<String, Long> last = core.close(plan.id()).toCompletableFuture().get(5, TimeUnit.SECONDS);
        assertTrue(System.nanoTime() - t0 < TimeUnit.SECONDS.toNanos(5), "no waiting for the 10 s deadline");
        assertEquals(List.of(0L, 2L, 3L), receiver.numbers(), "flushed in sequence order before the close");
        assertEquals(3, last.get("results_in"));
        assertEquals(3, last.get("datagrams_out"));
        assertEquals(sizeOf(0) + sizeOf(2) + sizeOf(3), last.get("bytes_out"));
        assertEquals(0, core.counters().get("egress_lost"));
        assertEquals(0, last.get("credit_deferred"));
        assertEquals(0, last.get("egress_artp_bytes_in_flight"), "the destination acknowledged everything");
        assertEquals(a.delivered.get(), a.credited.get());
        assertTrue(receiver.closed.await(5, TimeUnit.SECONDS));
        assertEquals(ErrorCode.NO_ERROR, receiver.closeCode);
        assertEquals(Map.of(), core.close(plan.id()).toCompletableFuture().get(1, TimeUnit.SECONDS),
            "closing an unknown session is a no-op");
    }

    // ---- failures

    @Test
    void aSessionBeyondTheEgressConnectionCapLosesItsResultsCountedWithTheReason() throws Exception {
        Receiver r = receiver(FAST);
        AggregationCore core = new AggregationCore(new InetSocketAddress("127.0.0.1", 0),
            ArtpConfig.builder().initialRto(Duration.ofMillis(50)).maxConnections(1).build(), PassThroughStrategy.NAME);
        closing.add(core::stop);
        SessionPlan first = plan(1, r.address(), Optional.empty());
        SessionPlan second = plan(2, r.address(), Optional.empty());
        core.open(first).toCompletableFuture().get(1, TimeUnit.SECONDS);
        core.open(second).toCompletableFuture().get(1, TimeUnit.SECONDS); // idle sessions hold no connection
        FakeUnit a = new FakeUnit(core, first.id(), U1);
        a.deliver(0, sizeOf(0));
        await(() -> core.counters(first.id()).get("datagrams_out") == 1, "the first session's result sent");
        FakeUnit b = new FakeUnit(core, second.id(), U1);
        b.deliver(0, sizeOf(0));
        b.deliver(1, sizeOf(1));
        await(() -> core.counters(second.id()).get("egress_lost") == 2, "the second session's results counted lost");
        Map<String, Long> c = core.counters(second.id());
        assertEquals(1, c.get("egress_failed"), c::toString);
        assertEquals(0, c.get("datagrams_out"), c::toString);
        assertEquals(b.delivered.get(), b.credited.get(), "every credit is back");
        Map<String, Long> totals = core.counters();
        assertEquals(1, totals.get("egress_max_connections"), totals::toString);
        assertEquals(1, totals.get("egress_connections"), totals::toString);
        assertEquals(1, totals.get("egress_connection_limit"), totals::toString);
        assertEquals(1, totals.get("egress_failed"), totals::toString);
        assertEquals(1, core.close(first.id()).toCompletableFuture().get(5, TimeUnit.SECONDS).get("datagrams_out"));
        await(() -> core.counters().get("egress_connections") == 0, "the first session's connection closed");
        SessionPlan third = plan(3, r.address(), Optional.empty()); // the slot is free again
        core.open(third).toCompletableFuture().get(1, TimeUnit.SECONDS);
        FakeUnit t = new FakeUnit(core, third.id(), U1);
        t.deliver(0, sizeOf(0));
        await(() -> core.counters(third.id()).get("datagrams_out") == 1, "the third session's result sent");
        assertEquals(1, core.counters().get("egress_connection_limit"));
    }

    @Test
    void anUnreachableDestinationLosesItsResultsCountedAndSaysWhyInBoundedTime() throws Exception {
        InetSocketAddress nobody;
        try (DatagramSocket s = new DatagramSocket(0, java.net.InetAddress.getLoopbackAddress())) {
            nobody = new InetSocketAddress(s.getLocalAddress(), s.getLocalPort());
        }
        AggregationCore core = core(PassThroughStrategy.NAME);
        SessionPlan plan = plan(7, nobody, Optional.empty());
        core.open(plan).toCompletableFuture().get(1, TimeUnit.SECONDS); // nothing is sent yet: nothing to fail
        FakeUnit a = new FakeUnit(core, plan.id(), U1);
        long t0 = System.nanoTime();
        for (int i = 0; i < 3; i++) {
            a.deliver(i, sizeOf(i));
        }
        await(() -> core.counters(plan.id()).get("egress_lost") == 3, "the three results counted lost");
        assertTrue(System.nanoTime() - t0 < TimeUnit.SECONDS.toNanos(5));
        Map<String, Long> c = core.counters(plan.id());
        assertEquals(1, c.get("egress_failed"), c::toString);
        assertEquals(0, c.get("datagrams_out"));
        assertEquals(0, c.get("egress_waiting"));
        assertEquals(a.delivered.get(), a.credited.get(), "every credit is back");
        a.deliver(3, sizeOf(3)); // later results are dropped at once, not retried
        await(() -> core.counters(plan.id()).get("egress_lost") == 4, "the fourth result counted lost");
        assertEquals(1, core.counters().get("egress_failed"));
        assertEquals(4, core.close(plan.id()).toCompletableFuture().get(5, TimeUnit.SECONDS).get("egress_lost"));
        assertEquals(0, core.counters().get("sessions"), "nothing left behind");
        NoSuchElementException ne = assertThrows(NoSuchElementException.class,
            () -> core.attach(plan.id(), U1, bytes -> { }));
        assertEquals("session 7 is not open at the aggregation unit", ne.getMessage());
    }

    @Test
    void anIdleSessionHoldsNoConnectionAndItsFirstResultsArriveInOrder() throws Exception {
        Receiver receiver = receiver(ArtpConfig.defaults());
        AggregationCore core = core(PassThroughStrategy.NAME);
        core.addStrategy(PassThroughStrategy.NAME, passThrough());
        SessionPlan plan = plan(9, receiver.address(), Optional.empty());
        core.open(plan).toCompletableFuture().get(1, TimeUnit.SECONDS);
        FakeUnit a = new FakeUnit(core, plan.id(), U1);
        Thread.sleep(200);
        assertEquals(List.of(), receiver.connections, "no connection before the first result");
        assertEquals(0, core.counters(plan.id()).get("egress_waiting"));
        int n = 50; // all sent before the connection can be open: they wait for it, then leave in order
        for (int i = 0; i < n; i++) {
            a.deliver(i, sizeOf(i));
        }
        await(() -> receiver.count() == n, "every result");
        List<Long> expected = new ArrayList<>();
        for (long i = 0; i < n; i++) {
            expected.add(i);
        }
        assertEquals(expected, receiver.numbers(), "in the order the unit delivered them");
        assertExactlyOnce(receiver, n);
        assertEquals(1, receiver.connections.size(), "one connection for all of them");
        Map<String, Long> last = core.close(plan.id()).toCompletableFuture().get(5, TimeUnit.SECONDS);
        assertEquals(n, last.get("datagrams_out"));
        assertEquals(0, last.get("egress_lost"));
        assertEquals(0, last.get("egress_failed"));
        assertEquals(a.delivered.get(), a.credited.get());
    }

    @Test
    void aSessionClosedWhileItsConnectionOpensStillSendsWhatWaited() throws Exception {
        Receiver receiver = receiver(ArtpConfig.defaults());
        AggregationCore core = core(PassThroughStrategy.NAME);
        SessionPlan plan = plan(10, receiver.address(), Optional.empty());
        core.open(plan).toCompletableFuture().get(1, TimeUnit.SECONDS);
        FakeUnit a = new FakeUnit(core, plan.id(), U1);
        a.deliver(0, sizeOf(0));
        a.deliver(1, sizeOf(1));
        Map<String, Long> last = core.close(plan.id()).toCompletableFuture().get(5, TimeUnit.SECONDS);
        assertEquals(2, last.get("datagrams_out"), last::toString);
        assertEquals(0, last.get("egress_lost"));
        await(() -> receiver.count() == 2, "both results");
        assertEquals(List.of(0L, 1L), receiver.numbers());
        assertTrue(receiver.closed.await(5, TimeUnit.SECONDS), "the connection is closed after them");
        assertEquals(ErrorCode.NO_ERROR, receiver.closeCode);
        assertEquals(a.delivered.get(), a.credited.get());
    }

    @Test
    void aSessionOpensOnce() throws Exception {
        Receiver receiver = receiver(ArtpConfig.defaults());
        AggregationCore core = core(PassThroughStrategy.NAME);
        SessionPlan plan = plan(8, receiver.address(), Optional.empty());
        core.open(plan).toCompletableFuture().get(5, TimeUnit.SECONDS);
        ExecutionException e = assertThrows(ExecutionException.class,
            () -> core.open(plan).toCompletableFuture().get(5, TimeUnit.SECONDS));
        assertEquals("session 8 is already open", e.getCause().getMessage());
        core.close(plan.id()).toCompletableFuture().get(5, TimeUnit.SECONDS);
    }

    @Test
    void resultsForADestinationThatWentAwayAreCountedLostAndCredited() throws Exception {
        Receiver receiver = receiver(ArtpConfig.defaults());
        AggregationCore core = core(PassThroughStrategy.NAME);
        core.addStrategy(PassThroughStrategy.NAME, passThrough());
        SessionPlan plan = plan(9, receiver.address(), Optional.empty());
        core.open(plan).toCompletableFuture().get(5, TimeUnit.SECONDS);
        FakeUnit a = new FakeUnit(core, plan.id(), U1);
        a.deliver(0, 100);
        await(() -> receiver.count() == 1, "the first result");
        receiver.connections.get(0).reset(ErrorCode.APPLICATION_ABORT, "receiver gone");
        Thread.sleep(100);
        for (int i = 1; i <= 10; i++) {
            a.deliver(i, 100);
        }
        await(() -> a.credited.get() == a.delivered.get(), "credit for the lost results");
        Map<String, Long> last = core.close(plan.id()).toCompletableFuture().get(5, TimeUnit.SECONDS);
        assertEquals(11, last.get("results_in"));
        assertEquals(1, last.get("datagrams_out"));
        assertEquals(1, receiver.count());
        assertEquals(10, core.counters().get("egress_lost"), "the unit's total");
    }

    @Test
    void theSessionCountsTheResultsItLostUnderItsOwnKey() throws Exception {
        Receiver receiver = receiver(ArtpConfig.defaults());
        AggregationCore core = core(PassThroughStrategy.NAME);
        core.addStrategy(PassThroughStrategy.NAME, passThrough());
        SessionPlan plan = plan(12, receiver.address(), Optional.empty());
        core.open(plan).toCompletableFuture().get(5, TimeUnit.SECONDS);
        FakeUnit a = new FakeUnit(core, plan.id(), U1);
        a.deliver(0, 100);
        await(() -> receiver.count() == 1, "the first result");
        receiver.connections.get(0).reset(ErrorCode.APPLICATION_ABORT, "receiver gone");
        Thread.sleep(100);
        for (int i = 1; i <= 10; i++) {
            a.deliver(i, 100);
        }
        await(() -> a.credited.get() == a.delivered.get(), "credit for the lost results");
        assertEquals(10, core.counters(plan.id()).get("egress_lost"), () -> core.counters(plan.id()).toString());
        Map<String, Long> last = core.close(plan.id()).toCompletableFuture().get(5, TimeUnit.SECONDS);
        assertEquals(10, last.get("egress_lost"), last::toString);
    }

    @Test
    void aMisbehavingStrategyLosesNothing() throws Exception {
        Receiver receiver = receiver(ArtpConfig.defaults());
        AggregationCore core = core("odd");
        // throws on every third datagram, sends every other one twice, and keeps what it holds when closed
        List<Datagram> kept = new ArrayList<>();
        core.addStrategy("odd", new Strategies(() -> new AggregationStrategy() {
            int calls;

            @Override
            public void arrived(SessionId session, long sequence, Datagram datagram, Sink sink) {
                calls++;
                if (calls % 3 == 0) {
                    throw new IllegalStateException("strategy bug");
                }
                if (calls % 3 == 1) {
                    sink.send(session, datagram);
                    sink.send(session, datagram);
                } else {
                    kept.add(datagram);
                }
            }

            @Override
            public void advance(long nowNanos, Sink sink) {
            }

            @Override
            public void closed(SessionId session, Sink sink) {
            }
        }));
        core.addStrategy(PassThroughStrategy.NAME, passThrough());
        SessionPlan plan = plan(10, receiver.address(), Optional.empty());
        core.open(plan).toCompletableFuture().get(5, TimeUnit.SECONDS);
        FakeUnit a = new FakeUnit(core, plan.id(), U1);
        int n = 30;
        for (int i = 0; i < n; i++) {
            a.deliver(i, sizeOf(i));
        }
        await(() -> core.counters().get("datagrams_in") == n
            && core.counters(plan.id()).get("egress_waiting") == 0, "all arrived and handed to the strategy");
        assertEquals(10, core.counters().get("held"), "what the strategy kept");
        core.selectStrategy(PassThroughStrategy.NAME); // the old one releases nothing: the unit sends it anyway
        await(() -> receiver.count() == n, "every result once");
        assertExactlyOnce(receiver, n);
        Map<String, Long> totals = core.counters();
        assertEquals(0, totals.get("held"));
        assertEquals(10 + 10 + 10, totals.get("strategy_errors"), "10 throws, 10 double sends, 10 kept back");
        core.close(plan.id()).toCompletableFuture().get(5, TimeUnit.SECONDS);
        assertEquals(a.delivered.get(), a.credited.get());
        assertEquals(n, a.credits.get());
    }

    // ---- bugs

    @Test
    void aSessionClosedWhileItsEgressConnectsLeavesNoConnectionBehind() throws Exception {
        Receiver receiver = receiver(ArtpConfig.defaults());
        AggregationCore core = core(PassThroughStrategy.NAME);
        SessionPlan plan = plan(11, receiver.address(), Optional.empty());
        CompletableFuture<Void> opened = core.open(plan).toCompletableFuture();
        core.close(plan.id()).toCompletableFuture().get(5, TimeUnit.SECONDS); // before the handshake completes
        try {
            opened.get(5, TimeUnit.SECONDS);
        } catch (ExecutionException expected) {
            // refusing the late connection is fine too
        }
        Thread.sleep(300);
        assertTrue(receiver.endpoint.connections().isEmpty(),
            "the destination still has a connection from a closed session: " + receiver.endpoint.connections());
    }

    // ---- flows

    /** Pass-through that records the flow of every datagram it is handed. */
    static final class FlowRecorder implements AggregationStrategy {
        final List<Long> flows = new java.util.concurrent.CopyOnWriteArrayList<>();

        @Override
        public void arrived(SessionId session, long sequence, Datagram datagram, Sink sink) {
            flows.add(datagram.flow().value());
            sink.send(session, datagram);
        }

        @Override
        public void advance(long nowNanos, Sink sink) {
        }

        @Override
        public void closed(SessionId session, Sink sink) {
        }
    }

    static io.pando.api.session.Flow flow(long id, Receiver to) {
        return new io.pando.api.session.Flow(io.pando.api.session.FlowId.of(id), "f" + id, to.address());
    }

    @Test
    void eachFlowReachesItsOwnDestinationTaggedAndUnknownFlowsAreCounted() throws Exception {
        Receiver r1 = receiver(ArtpConfig.defaults());
        Receiver r2 = receiver(ArtpConfig.defaults());
        Receiver r3 = receiver(ArtpConfig.defaults());
        AggregationCore core = core("flows");
        FlowRecorder recorder = new FlowRecorder();
        core.addStrategy("flows", new Strategies(() -> recorder));
        // flow 0 and flow 1 share r1's connection: r1 tells them apart by the flow datagram
        SessionPlan plan = new SessionPlan(new SessionId(21), "s21", "passthrough", Map.of(), r1.address(),
            List.of(U1, U2), 1 << 20, Optional.empty(), io.pando.api.router.Execution.DEFAULT,
            List.of(flow(0, r1), flow(1, r1), flow(2, r2), flow(3, r3)));
        core.open(plan).toCompletableFuture().get(5, TimeUnit.SECONDS);
        Thread.sleep(100);
        assertEquals(0, r1.connections.size() + r2.connections.size() + r3.connections.size(),
            "no connection before the first result");
        FakeUnit a = new FakeUnit(core, plan.id(), U1);
        FakeUnit b = new FakeUnit(core, plan.id(), U2);
        int n = 400;
        long sent = 0;
        for (int seq = 0; seq < n; seq++) {
            FakeUnit u = seq % 2 == 0 ? a : b;
            int size = sizeOf(seq);
            u.delivered.addAndGet(size);
            ByteBuf d;
            if (seq % 8 == 5) { // room in front of the data: the prefix goes there, no copy
                d = PooledByteBufAllocator.DEFAULT.directBuffer(12 + size);
                d.writerIndex(12).readerIndex(12);
                ByteBuf body = datagram(seq, size);
                d.writeBytes(body);
                body.release();
            } else {
                d = datagram(seq, size);
            }
            u.channel.deliver(seq, seq % 4, d);
            sent += size;
        }
        a.delivered.addAndGet(100);
        a.channel.deliver(n, 9, datagram(n, 100)); // no flow 9 in the plan
        await(() -> r1.count() == n / 2 && r2.count() == n / 4 && r3.count() == n / 4, "every result");
        assertEquals(List.of(1, 1, 1), List.of(r1.connections.size(), r2.connections.size(), r3.connections.size()),
            "one connection per distinct destination");
        for (long f = 0; f < 4; f++) { // each destination's connection opens on its own: flows may interleave
            long flow = f;
            assertEquals(n / 4, recorder.flows.stream().filter(x -> x == flow).count(), "the strategy sees flow " + f);
        }
        assertEquals(n, recorder.flows.size(), "the unknown flow never reaches the strategy");
        BitSet seen = new BitSet();
        for (Receiver r : List.of(r1, r2, r3)) {
            for (Receiver.Arrived x : r.arrived()) {
                byte[] data = x.data();
                long flow = 0;
                if (x.control()) {
                    ByteBuf buf = io.netty.buffer.Unpooled.wrappedBuffer(data);
                    flow = io.pando.artp.ControlBlock.flowOf(buf);
                    assertTrue(flow > 0, "a CONTROL datagram on an egress is a flow datagram of flow > 0");
                    data = java.util.Arrays.copyOfRange(data, 12, data.length);
                }
                long seq = ByteBuffer.wrap(data).getLong();
                assertEquals(seq % 4, flow, "datagram " + seq + " tagged with its flow");
                assertEquals(r, flow == 0 || flow == 1 ? r1 : flow == 2 ? r2 : r3, "flow " + flow + " at its destination");
                assertEquals(sizeOf(seq), data.length);
                assertIntact(data);
                assertFalse(seen.get((int) seq));
                seen.set((int) seq);
            }
        }
        assertEquals(n, seen.cardinality());
        Map<String, Long> c = core.counters(plan.id());
        assertEquals(1, c.get("results_unknown_flow"));
        assertEquals(n + 1, c.get("results_in"));
        assertEquals(n, c.get("datagrams_out"));
        assertEquals(sent, c.get("bytes_out"));
        assertEquals(0, c.get("egress_lost"));
        assertEquals(3, c.get("egress_connections"));
        for (int f = 0; f < 4; f++) {
            assertEquals(n / 4, c.get("flow_" + f + "_datagrams_out"), "flow " + f);
        }
        assertEquals(1, core.counters().get("unknown_flow"));
        await(() -> a.credited.get() == a.delivered.get() && b.credited.get() == b.delivered.get(),
            "every byte credited, the unknown flow's too");
        Map<String, Long> last = core.close(plan.id()).toCompletableFuture().get(10, TimeUnit.SECONDS);
        assertEquals(n, last.get("datagrams_out"));
        for (Receiver r : List.of(r1, r2, r3)) {
            assertTrue(r.closed.await(5, TimeUnit.SECONDS));
            assertEquals(ErrorCode.NO_ERROR, r.closeCode, "every egress closes in order");
        }
    }

    @Test
    void onlyTheFlowsOfAnUnreachableDestinationLoseTheirResults() throws Exception {
        Receiver r1 = receiver(ArtpConfig.defaults());
        InetSocketAddress nobody;
        try (DatagramSocket s = new DatagramSocket(0, java.net.InetAddress.getLoopbackAddress())) {
            nobody = new InetSocketAddress("127.0.0.1", s.getLocalPort());
        }
        AggregationCore core = core(PassThroughStrategy.NAME);
        SessionPlan plan = new SessionPlan(new SessionId(22), "s22", "passthrough", Map.of(), r1.address(),
            List.of(U1), 1 << 20, Optional.empty(), io.pando.api.router.Execution.DEFAULT,
            List.of(flow(0, r1), new io.pando.api.session.Flow(io.pando.api.session.FlowId.of(4), "gone", nobody)));
        core.open(plan).toCompletableFuture().get(1, TimeUnit.SECONDS);
        FakeUnit a = new FakeUnit(core, plan.id(), U1);
        for (int i = 0; i < 10; i++) {
            int size = sizeOf(i);
            a.delivered.addAndGet(size);
            a.channel.deliver(i, i % 2 == 0 ? 0 : 4, datagram(i, size));
        }
        await(() -> r1.count() == 5, "flow 0's results");
        await(() -> core.counters(plan.id()).get("egress_lost") == 5, "flow 4's results counted lost");
        assertEquals(List.of(0L, 2L, 4L, 6L, 8L), r1.numbers());
        Map<String, Long> c = core.counters(plan.id());
        assertEquals(1, c.get("egress_failed"), c::toString);
        assertEquals(5, c.get("flow_0_datagrams_out"));
        assertEquals(0, c.get("flow_4_datagrams_out"));
        assertEquals(a.delivered.get(), a.credited.get(), "every byte credited, the lost ones too");
        Map<String, Long> last = core.close(plan.id()).toCompletableFuture().get(5, TimeUnit.SECONDS);
        assertEquals(5, last.get("datagrams_out"));
        await(() -> r1.endpoint.connections().isEmpty(), "the connection that did open is closed");
    }

    @Test
    void theFlowPrefixGoesIntoTheHeadroomWhenTheBufferHasItAndIsNotShared() {
        ByteBuf roomy = PooledByteBufAllocator.DEFAULT.directBuffer(64);
        roomy.writerIndex(13).readerIndex(13).writeLong(42); // as a result from a remote unit arrives
        ByteBuf out = AggregationCore.withFlowPrefix(roomy, 7);
        assertTrue(out == roomy, "no copy");
        assertEquals(7, io.pando.artp.ControlBlock.flowOf(out));
        assertEquals(20, out.readableBytes());
        assertEquals(42, out.getLong(out.readerIndex() + 12));
        out.release();

        ByteBuf tight = datagram(5, 40);
        out = AggregationCore.withFlowPrefix(tight, 0xFFFF_FFFFL);
        assertTrue(out != tight, "a copy");
        assertEquals(0, tight.refCnt(), "the result is released once copied");
        assertEquals(0xFFFF_FFFFL, io.pando.artp.ControlBlock.flowOf(out));
        out.skipBytes(12);
        byte[] b = new byte[40];
        out.readBytes(b);
        assertIntact(b);
        out.release();

        ByteBuf shared = PooledByteBufAllocator.DEFAULT.directBuffer(64);
        shared.writeZero(12).readerIndex(12);
        shared.writeLong(1);
        shared.retain(); // someone else holds it too: its headroom is not ours to write
        out = AggregationCore.withFlowPrefix(shared, 3);
        assertTrue(out != shared);
        assertEquals(1, shared.refCnt());
        assertEquals(0, shared.getInt(0), "untouched");
        shared.release();
        out.release();
    }
}
