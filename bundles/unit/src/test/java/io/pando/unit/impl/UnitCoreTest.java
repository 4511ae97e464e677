package io.pando.unit.impl;

import io.pando.artp.testing.Configs;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.pando.api.program.ActiveProgram;
import io.pando.api.program.ProgramContext;
import io.pando.api.session.FlowId;
import io.pando.api.session.SessionId;
import io.pando.api.unit.UnitId;
import io.pando.link.SessionPlan;
import io.pando.link.UnitChannel;
import io.pando.policies.impl.DrrScheduler;
import io.pando.policies.impl.FifoScheduler;
import io.pando.unit.impl.RecordingAggregation.CreditMode;
import io.pando.unit.impl.RecordingAggregation.Result;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The parallel AR unit as plain Java: a {@link UnitCore} with a recording aggregation unit, recording session
 * events and small programs. Every buffer handed to the unit must come back released (paranoid leak detection).
 */
class UnitCoreTest {

    private static final UnitId UNIT = UnitId.of("u1");
    private static final long MIB = 1 << 20;

    private final List<UnitCore> cores = new ArrayList<>();
    private final List<RecordingAggregation> aggregations = new ArrayList<>();

    @AfterEach
    void stopEverything() throws InterruptedException {
        for (UnitCore c : cores) {
            c.stop();
        }
        for (RecordingAggregation a : aggregations) {
            a.shutdown();
        }
    }

    // ---- fixtures

    private UnitCore core(long capacity, long linkWindow, String scheduler) {
        UnitCore c = new UnitCore(UNIT, capacity, linkWindow, scheduler, PooledByteBufAllocator.DEFAULT);
        cores.add(c);
        return c;
    }

    private RecordingAggregation aggregation(CreditMode mode) {
        RecordingAggregation a = new RecordingAggregation(mode);
        aggregations.add(a);
        return a;
    }

    static SessionPlan plan(long id, String program, long quota) {
        return new SessionPlan(new SessionId(id), "s" + id, program, Map.of("k", "v"),
            new InetSocketAddress("127.0.0.1", 9), List.of(UNIT), quota, Optional.empty());
    }

    /** A datagram of {@code size} (>= 8) bytes: its number, then a pattern derived from it. */
    static ByteBuf datagram(long seq, int size) {
        ByteBuf b = PooledByteBufAllocator.DEFAULT.directBuffer(size);
        b.writeLong(seq);
        for (int i = 8; i < size; i++) {
            b.writeByte((int) (seq * 31 + i));
        }
        return b;
    }

    static long numberOf(byte[] data) {
        return ByteBuffer.wrap(data).getLong();
    }

    static void assertIntact(byte[] data, long seq) {
        assertEquals(seq, numberOf(data), "datagram number");
        for (int i = 8; i < data.length; i++) {
            if (data[i] != (byte) (seq * 31 + i)) {
                fail("datagram " + seq + " corrupt at byte " + i);
            }
        }
    }

    static int sizeOf(long i) {
        return 16 + (int) ((i * 37) % 1200);
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

    static Factories.Programs passthrough() {
        return new Factories.Programs(new PassthroughProgram());
    }

    static Factories.Schedulers fifo() {
        return new Factories.Schedulers(FifoScheduler::new);
    }

    static Factories.Schedulers drr() {
        return new Factories.Schedulers(() -> new DrrScheduler(Configs.of(DrrScheduler.Config.class, Map.of())));
    }

    // ---- the datagram path

    @Test
    void everyDatagramIsProcessedExactlyOnceInPerSessionOrder() throws Exception {
        UnitCore core = core(64 * MIB, MIB, "fifo");
        core.addScheduler("fifo", fifo());
        Factories.Programs programs = passthrough();
        core.addProgram("passthrough", programs);
        RecordingAggregation agg = aggregation(CreditMode.ASYNC);
        RecordingEvents events = new RecordingEvents();
        int sessions = 3;
        int n = 3_000;
        List<UnitChannel> channels = new ArrayList<>();
        for (int s = 1; s <= sessions; s++) {
            channels.add(core.open(plan(s, "passthrough", 16 * MIB), agg, events));
        }
        List<Thread> senders = new ArrayList<>();
        for (UnitChannel ch : channels) {
            Thread t = new Thread(() -> {
                for (int i = 0; i < n; i++) {
                    ch.deliver(i, datagram(i, sizeOf(i)), false);
                }
            });
            senders.add(t);
            t.start();
        }
        for (Thread t : senders) {
            t.join();
        }
        long bytesPerSession = 0;
        for (int i = 0; i < n; i++) {
            bytesPerSession += sizeOf(i);
        }
        for (int s = 1; s <= sessions; s++) {
            RecordingAggregation.Channel out = agg.channel(new SessionId(s));
            await(() -> out.count() >= n, "the results of session " + s);
            List<Result> results = out.results();
            assertEquals(n, results.size(), "one result per datagram");
            for (int i = 0; i < n; i++) {
                assertEquals(i, results.get(i).sequence(), "session order, and the input's sequence");
                assertIntact(results.get(i).data(), i);
                assertEquals(sizeOf(i), results.get(i).data().length);
            }
        }
        await(() -> core.counters().get("buffer_bytes") == 0, "every byte credited back");
        Map<String, Long> unit = core.counters();
        assertEquals(sessions, unit.get("sessions"));
        assertEquals(sessions * (long) n, unit.get("datagrams_in"));
        assertEquals(sessions * bytesPerSession, unit.get("bytes_in"));
        assertEquals(sessions * (long) n, unit.get("datagrams_out"));
        assertEquals(sessions * bytesPerSession, unit.get("bytes_out"));
        assertEquals(0, unit.get("program_errors"));
        assertEquals(sessions * 16 * MIB, unit.get("buffer_reserved"));
        assertEquals(64 * MIB, unit.get("buffer_capacity"));
        assertEquals(MIB, unit.get("link_window"));
        assertEquals(0, unit.get("link_in_flight"));
        assertEquals(0, unit.get("scheduler_mismatches"));
        for (UnitChannel ch : channels) {
            Map<String, Long> acct = ch.counters();
            assertEquals(n, acct.get("datagrams_in"));
            assertEquals(bytesPerSession, acct.get("bytes_in"));
            assertEquals(n, acct.get("datagrams_out"));
            assertEquals(bytesPerSession, acct.get("bytes_out"));
            assertEquals(0, acct.get("waiting_for_program"));
            assertEquals(0, acct.get("queued_results"));
            assertEquals(0, acct.get("buffer_bytes"));
            assertEquals(0, acct.get("quota_overflows"));
            assertEquals(0, acct.get("pushbacks"));
            assertEquals(16 * MIB, acct.get("quota_bytes"));
            assertTrue(acct.get("buffer_high_water") > 0 && acct.get("buffer_high_water") <= 16 * MIB, acct::toString);
        }
        assertTrue(events.congestion().isEmpty(), "never over quota");
        for (UnitChannel ch : channels) {
            ch.close().toCompletableFuture().get(5, TimeUnit.SECONDS);
        }
        assertEquals(0, core.counters().get("sessions"));
        assertEquals(0, core.counters().get("buffer_reserved"));
        assertEquals(sessions, programs.gets.get(), "one instance per session");
        assertEquals(sessions, programs.ungets.get(), "every instance given back at close");
    }

    @Test
    void resultsCarryTheSequenceOfTheirInput() throws Exception {
        UnitCore core = core(16 * MIB, MIB, "fifo");
        // input k yields k % 3 results: none, one, two
        core.addProgram("fan", new Factories.Programs((in, ctx) -> {
            long k = in.data().getLong();
            for (int i = 0; i < k % 3; i++) {
                ByteBuffer b = ByteBuffer.allocate(12).putLong(k).putInt(i);
                ctx.emit(in.flow(), b.flip());
            }
        }));
        RecordingAggregation agg = aggregation(CreditMode.IMMEDIATE);
        UnitChannel ch = core.open(plan(1, "fan", MIB), agg, new RecordingEvents());
        long[] sequences = {7, 8, 100, 101, 102, 5000, 5001};
        for (long seq : sequences) {
            ch.deliver(seq, datagram(seq, 64), false);
        }
        ch.close().toCompletableFuture().get(5, TimeUnit.SECONDS);
        List<Result> results = agg.channel(new SessionId(1)).results();
        List<String> got = new ArrayList<>();
        for (Result r : results) {
            ByteBuffer b = ByteBuffer.wrap(r.data());
            long from = b.getLong();
            assertEquals(from, r.sequence(), "a result carries the sequence of the datagram it was computed from");
            got.add(r.sequence() + "#" + b.getInt());
        }
        assertEquals(List.of("7#0", "8#0", "8#1", "100#0", "101#0", "101#1", "5000#0", "5000#1"), got);
    }

    // ---- buffer pool, quota, congestion

    @Test
    void aDatagramIsAcknowledgedOnlyAfterAllItsResultsAndThoseOfEveryEarlierOneAndInBatches() throws Exception {
        UnitCore core = core(16 * MIB, 4096, "fifo"); // a small link window: results wait in the unit
        core.addProgram("fan", new Factories.Programs((in, ctx) -> { // input k yields k % 3 results
            long k = in.data().getLong();
            for (int i = 0; i < k % 3; i++) {
                ctx.emit(in.flow(), ByteBuffer.allocate(512).putLong(k).putInt(i).position(512).flip());
            }
        }));
        RecordingAggregation agg = aggregation(CreditMode.ASYNC);
        UnitChannel ch = core.open(plan(1, "fan", 8 * MIB), agg, new RecordingEvents());
        int n = 3_000;
        for (int i = 0; i < n; i++) {
            ch.deliver(i, datagram(i, 64), false);
        }
        ch.close().toCompletableFuture().get(10, TimeUnit.SECONDS);
        RecordingAggregation.Channel c = agg.channel(new SessionId(1));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while ((c.acks().isEmpty() || c.acks().get(c.acks().size() - 1)[0] != n - 1)
            && System.nanoTime() < deadline) {
            Thread.sleep(1); // the last acknowledgement is told by a task after the last result
        }
        List<Result> results = c.results();
        List<long[]> acks = c.acks();
        assertFalse(acks.isEmpty());
        assertEquals(n - 1, acks.get(acks.size() - 1)[0], "the last datagram is acknowledged");
        assertTrue(acks.size() < n / 2, "acknowledgements are batched: " + acks.size() + " for " + n + " datagrams");
        long previous = -1;
        for (long[] a : acks) {
            assertTrue(a[0] > previous, "cumulative, in the order given");
            previous = a[0];
            int before = 0;
            for (int r = 0; r < results.size(); r++) {
                if (results.get(r).sequence() <= a[0]) {
                    assertTrue(r < a[1], "result " + r + " of datagram " + results.get(r).sequence()
                        + " came after the acknowledgement of " + a[0]);
                    before++;
                }
            }
            long expected = 0;
            for (long k = 0; k <= a[0]; k++) {
                expected += k % 3;
            }
            assertEquals(expected, before, "every result up to " + a[0] + " came before its acknowledgement");
        }
        assertEquals(Long.valueOf(acks.size()), ch.counters().get("acknowledgements"));
    }

    @Test
    void congestionIsReportedOnceAboveHalfTheQuotaAndClearedOnceBackAtAQuarter() throws Exception {
        UnitCore core = core(16 * MIB, MIB, "fifo");
        core.addProgram("passthrough", passthrough());
        RecordingAggregation agg = aggregation(CreditMode.MANUAL);
        RecordingEvents events = new RecordingEvents();
        UnitChannel ch = core.open(plan(1, "passthrough", 10_000), agg, events);
        RecordingAggregation.Channel out = agg.channel(new SessionId(1));
        // Results stay charged until credited, and while a datagram is processed both it and its result are:
        // with 4 results held the 5th datagram and its result make 6,000 > 5,000 (half the quota).
        for (int i = 0; i < 4; i++) {
            ch.deliver(i, datagram(i, 1000), false);
        }
        await(() -> out.count() == 4, "4 results");
        assertEquals(List.of(), events.congestion(), () -> "half the quota is not above it " + ch.counters());
        assertEquals(4_000, ch.counters().get("buffer_bytes"), "results are charged until credited");

        ch.deliver(4, datagram(4, 1000), false);
        await(() -> out.count() == 5, "5 results");
        assertEquals(List.of(true), events.congestion());
        for (int i = 5; i < 11; i++) { // what the sender was already granted: accepted, over the quota too
            ch.deliver(i, datagram(i, 1000), false);
        }
        await(() -> out.count() == 11, "11 results");
        assertEquals(List.of(true), events.congestion(), "one report per crossing, not per datagram");
        Map<String, Long> acct = ch.counters();
        assertEquals(11_000, acct.get("buffer_bytes"));
        assertEquals(1, acct.get("pushbacks"));
        assertTrue(acct.get("quota_overflows") >= 1, acct::toString);
        assertTrue(acct.get("buffer_high_water") >= 11_000, acct::toString);

        for (int i = 0; i < 8; i++) { // 11,000 -> 3,000: still above a quarter of the quota
            out.creditOne();
        }
        assertEquals(List.of(true), events.congestion());
        out.creditOne(); // 2,000 <= 2,500
        assertEquals(List.of(true, false), events.congestion());
        agg.creditAll();
        assertEquals(List.of(true, false), events.congestion());
        assertEquals(0, ch.counters().get("buffer_bytes"));

        for (int i = 11; i < 17; i++) { // a second crossing is reported again
            ch.deliver(i, datagram(i, 1000), false);
        }
        await(() -> out.count() == 17, "17 results");
        assertEquals(List.of(true, false, true), events.congestion());
        agg.creditAll();
        assertEquals(List.of(true, false, true, false), events.congestion());
        assertEquals(2, ch.counters().get("pushbacks"));
        ch.close().toCompletableFuture().get(5, TimeUnit.SECONDS);
    }

    @Test
    void poolRefusesASessionThatDoesNotFitAndFreesItsReservationAtClose() throws Exception {
        UnitCore core = core(100_000, MIB, "fifo");
        core.addProgram("passthrough", passthrough());
        RecordingAggregation agg = aggregation(CreditMode.IMMEDIATE);
        UnitChannel first = core.open(plan(1, "passthrough", 60_000), agg, new RecordingEvents());
        IllegalStateException e = assertThrows(IllegalStateException.class,
            () -> core.open(plan(2, "passthrough", 60_000), agg, new RecordingEvents()));
        assertTrue(e.getMessage().contains("u1") && e.getMessage().contains("cannot reserve 60000 bytes")
            && e.getMessage().contains("session 2") && e.getMessage().contains("60000 of 100000 reserved"),
            e.getMessage());
        assertEquals(60_000, core.counters().get("buffer_reserved"), "a refused session reserves nothing");
        assertEquals(1, core.counters().get("sessions"));

        IllegalStateException dup = assertThrows(IllegalStateException.class,
            () -> core.open(plan(1, "passthrough", 10_000), agg, new RecordingEvents()));
        assertTrue(dup.getMessage().contains("already serves session 1"), dup.getMessage());
        assertEquals(60_000, core.counters().get("buffer_reserved"));

        agg.attachFailure = new NoSuchElementException("session 3 is not open at the aggregation unit");
        assertThrows(NoSuchElementException.class,
            () -> core.open(plan(3, "passthrough", 10_000), agg, new RecordingEvents()));
        agg.attachFailure = null;
        assertEquals(60_000, core.counters().get("buffer_reserved"), "a failed attach gives the reservation back");
        assertEquals(1, core.counters().get("sessions"));

        first.deliver(0, datagram(0, 100), false);
        first.close().toCompletableFuture().get(5, TimeUnit.SECONDS);
        assertEquals(0, core.counters().get("buffer_reserved"));
        UnitChannel second = core.open(plan(2, "passthrough", 60_000), agg, new RecordingEvents());
        UnitChannel third = core.open(plan(3, "passthrough", 40_000), agg, new RecordingEvents());
        assertEquals(100_000, core.counters().get("buffer_reserved"), "the pool may be reserved in full");
        second.close().toCompletableFuture().get(5, TimeUnit.SECONDS);
        third.close().toCompletableFuture().get(5, TimeUnit.SECONDS);
    }

    // ---- validation before a session opens

    @Test
    void validateRefusesAnUnknownProgramAndParametersTheProgramRejects() {
        UnitCore core = core(16 * MIB, MIB, "fifo");
        Factories.Programs keyed = new Factories.Programs(new ActiveProgram() {
            @Override
            public void process(io.pando.api.program.Datagram in, ProgramContext ctx) {
            }

            @Override
            public void validate(Map<String, String> parameters) {
                if (!parameters.containsKey("key")) {
                    throw new IllegalArgumentException("parameter 'key' is required");
                }
            }
        });
        core.addProgram("keyed", keyed);
        IllegalArgumentException unknown = assertThrows(IllegalArgumentException.class,
            () -> core.validate(plan(1, "nope", MIB)));
        assertEquals("no active program 'nope' on unit u1; registered: [keyed]", unknown.getMessage());
        SessionPlan noKey = new SessionPlan(new SessionId(2), "s2", "keyed", Map.of(),
            new InetSocketAddress("127.0.0.1", 9), List.of(UNIT), MIB, Optional.empty());
        IllegalArgumentException rejected = assertThrows(IllegalArgumentException.class, () -> core.validate(noKey));
        assertEquals("parameter 'key' is required", rejected.getMessage());
        core.validate(new SessionPlan(new SessionId(3), "s3", "keyed", Map.of("key", "k"),
            new InetSocketAddress("127.0.0.1", 9), List.of(UNIT), MIB, Optional.empty()));
        assertEquals(2, keyed.gets.get(), "a fresh instance per validation");
        assertEquals(2, keyed.ungets.get(), "given back, accepted or not");
        assertEquals(0, core.counters().get("sessions"), "validation opens nothing");
        assertEquals(0, core.counters().get("buffer_reserved"));
    }

    // ---- programs come and go

    @Test
    void datagramsWaitForAnAbsentProgramAndNoneIsLost() throws Exception {
        UnitCore core = core(16 * MIB, MIB, "fifo");
        RecordingAggregation agg = aggregation(CreditMode.IMMEDIATE);
        UnitChannel ch = core.open(plan(1, "later", MIB), agg, new RecordingEvents());
        assertEquals(java.util.Set.of(), core.programs());
        long bytes = 0;
        for (int i = 0; i < 100; i++) {
            ch.deliver(i, datagram(i, sizeOf(i)), false);
            bytes += sizeOf(i);
        }
        long total = bytes;
        await(() -> ch.counters().get("waiting_for_program") == 100, "100 datagrams held");
        Map<String, Long> acct = ch.counters();
        assertEquals(total, acct.get("buffer_bytes"), "held datagrams are charged to the quota");
        assertEquals(0, acct.get("datagrams_out"));
        assertEquals(0, agg.channel(new SessionId(1)).count());

        core.addProgram("later", passthrough());
        RecordingAggregation.Channel out = agg.channel(new SessionId(1));
        await(() -> out.count() == 100, "the held datagrams processed");
        List<Result> results = out.results();
        for (int i = 0; i < 100; i++) {
            assertEquals(i, results.get(i).sequence());
            assertIntact(results.get(i).data(), i);
        }
        assertEquals(0, ch.counters().get("waiting_for_program"));
        assertEquals(java.util.Set.of("later"), core.programs());
        ch.close().toCompletableFuture().get(5, TimeUnit.SECONDS);
    }

    @Test
    void programsRemovedAndAddedUnderLoadLoseNothing() throws Exception {
        UnitCore core = core(64 * MIB, MIB, "fifo");
        core.addScheduler("fifo", fifo());
        List<Factories.Programs> generations = new ArrayList<>();
        Factories.Programs current = passthrough();
        generations.add(current);
        core.addProgram("passthrough", current);
        RecordingAggregation agg = aggregation(CreditMode.ASYNC);
        UnitChannel ch = core.open(plan(1, "passthrough", 32 * MIB), agg, new RecordingEvents());
        int n = 10_000;
        Thread sender = new Thread(() -> {
            for (int i = 0; i < n; i++) {
                ch.deliver(i, datagram(i, sizeOf(i)), false);
            }
        });
        sender.start();
        int removals = 0;
        for (int round = 0; round < 10; round++) {
            Factories.Programs next = passthrough();
            generations.add(next);
            if (round % 2 == 0) { // update in place: away for a moment, then back
                core.removeProgram("passthrough", current);
                Thread.sleep(1);
                core.addProgram("passthrough", next);
            } else { // greedy replacement: the new one first, then the old one goes
                core.addProgram("passthrough", next);
                Thread.sleep(1);
                core.removeProgram("passthrough", current);
            }
            removals++;
            current = next;
            Thread.sleep(2);
        }
        sender.join();
        RecordingAggregation.Channel out = agg.channel(new SessionId(1));
        await(() -> out.count() == n, n + " results");
        List<Result> results = out.results();
        for (int i = 0; i < n; i++) {
            assertEquals(i, results.get(i).sequence(), "per-session order across program swaps");
            assertIntact(results.get(i).data(), i);
        }
        // a swap is counted when the instance in use goes; a provider replaced before any session took it is not
        long swaps = ch.counters().get("program_swaps");
        assertTrue(swaps >= 1 && swaps <= removals, "program_swaps " + swaps);
        ch.close().toCompletableFuture().get(5, TimeUnit.SECONDS);
        for (Factories.Programs g : generations) {
            assertEquals(g.gets.get(), g.ungets.get(), "every instance a unit took is given back");
        }
    }

    // ---- packet scheduler

    @Test
    void schedulerSwapsWithQueuedResultsKeepPerSessionOrderAndLoseNothing() throws Exception {
        UnitCore core = core(64 * MIB, 2_000, "fifo");
        core.addProgram("passthrough", passthrough());
        Factories.Schedulers fifo = fifo();
        Factories.Schedulers drr = drr();
        core.addScheduler("fifo", fifo);
        core.addScheduler("drr", drr);
        await(() -> core.scheduler().equals("fifo"), "fifo in use");
        RecordingAggregation agg = aggregation(CreditMode.MANUAL);
        int sessions = 3;
        int perSession = 300;
        List<UnitChannel> channels = new ArrayList<>();
        for (int s = 1; s <= sessions; s++) {
            channels.add(core.open(plan(s, "passthrough", 8 * MIB), agg, new RecordingEvents()));
        }
        for (int i = 0; i < perSession; i++) {
            for (UnitChannel ch : channels) {
                ch.deliver(i, datagram(i, 500), false);
            }
        }
        int total = sessions * perSession;
        await(() -> queued(channels) == total - 4, "results queued behind the link window");
        assertTrue(agg.maxOutstanding.get() <= 2_000);

        core.selectScheduler("drr");
        assertEquals("drr", core.scheduler());
        pump(agg, 100);
        core.selectScheduler("fifo");
        assertEquals("fifo", core.scheduler());
        pump(agg, 100);
        core.removeScheduler("fifo", fifo); // the selected scheduler goes away: the unit falls back
        assertEquals("arrival-order", core.scheduler());
        pump(agg, 100);
        Factories.Schedulers fifo2 = fifo();
        core.addScheduler("fifo", fifo2); // it comes back: the unit takes it again
        await(() -> core.scheduler().equals("fifo"), "fifo back");
        pump(agg, 100);
        core.selectScheduler("drr");
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (delivered(agg) < total && System.nanoTime() < deadline) { // a loaded machine pauses the unit's loop
            pump(agg, Integer.MAX_VALUE);
        }
        assertEquals(total, delivered(agg), "every result");
        pump(agg, Integer.MAX_VALUE);

        for (int s = 1; s <= sessions; s++) {
            List<Result> results = agg.channel(new SessionId(s)).results();
            assertEquals(perSession, results.size());
            for (int i = 0; i < perSession; i++) {
                assertEquals(i, results.get(i).sequence(), "session " + s + " keeps its order");
                assertIntact(results.get(i).data(), i);
            }
        }
        Map<String, Long> c = core.counters();
        assertEquals(0, c.get("scheduler_mismatches"), c::toString);
        assertEquals(6, c.get("scheduler_switches"), "fifo, drr, fifo, fallback, fifo, drr: " + c);
        assertTrue(agg.maxOutstanding.get() <= 2_000);
        assertEquals(2, fifo.gets.get(), "taken at the start and when selected again");
        assertEquals(2, fifo.ungets.get());
        assertEquals(1, fifo2.gets.get());
        assertEquals(1, fifo2.ungets.get());
        assertEquals(2, drr.gets.get());
        assertEquals(1, drr.ungets.get(), "the one in use is still held");
        for (UnitChannel ch : channels) {
            ch.close().toCompletableFuture().get(5, TimeUnit.SECONDS);
        }
    }

    @Test
    void selectingAnUnknownSchedulerIsRefusedWithTheRegisteredNames() {
        UnitCore core = core(MIB, MIB, "fifo");
        core.addScheduler("fifo", fifo());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> core.selectScheduler("wfq"));
        assertTrue(e.getMessage().contains("'wfq'") && e.getMessage().contains("[fifo]"), e.getMessage());
    }

    @Test
    void theLoadCountsQueuedDatagramsOfBusySessionsAndForgetsThemOnceProcessed() throws Exception {
        UnitCore core = core(64 * MIB, MIB, "fifo");
        core.addProgram("passthrough", passthrough());
        RecordingAggregation agg = aggregation(CreditMode.IMMEDIATE);
        List<UnitChannel> idle = new ArrayList<>();
        for (int i = 0; i < 100; i++) { // idle sessions: never listed, never counted
            idle.add(core.open(plan(100 + i, "passthrough", 64 * 1024), agg, new RecordingEvents()));
        }
        UnitChannel held = core.openForHandover(plan(1, "passthrough", MIB), agg, new RecordingEvents());
        for (int i = 0; i < 5; i++) { // held until the hand-over: queued
            held.deliver(i, datagram(i, 100), false);
        }
        await(() -> core.load().queuedDatagrams() == 5, "the five held datagrams in the load");
        held.takeOver(io.pando.link.SessionHandover.EMPTY);
        await(() -> agg.channel(new SessionId(1)).results().size() == 5, "the five results");
        await(() -> core.load().queuedDatagrams() == 0, "nothing queued once they are processed");
        assertEquals(101, core.load().sessions());
        held.close().toCompletableFuture().get(5, TimeUnit.SECONDS);
        for (UnitChannel ch : idle) {
            ch.close().toCompletableFuture().get(5, TimeUnit.SECONDS);
        }
    }

    private static long queued(List<UnitChannel> channels) {
        long n = 0;
        for (UnitChannel ch : channels) {
            n += ch.counters().get("queued_results");
        }
        return n;
    }

    private static long delivered(RecordingAggregation agg) {
        long n = 0;
        for (RecordingAggregation.Channel c : agg.channels.values()) {
            n += c.count();
        }
        return n;
    }

    /** Returns the credit of up to {@code results} results, one at a time, as the unit delivers them. */
    private static void pump(RecordingAggregation agg, int results) throws InterruptedException {
        int done = 0;
        long idleSince = System.nanoTime();
        while (done < results && System.nanoTime() - idleSince < TimeUnit.MILLISECONDS.toNanos(500)) {
            boolean any = false;
            for (RecordingAggregation.Channel c : agg.channels.values()) {
                if (done < results && c.creditOne() >= 0) {
                    done++;
                    any = true;
                }
            }
            if (any) {
                idleSince = System.nanoTime();
            } else {
                Thread.sleep(1);
            }
        }
    }

    // ---- link window

    @Test
    void linkWindowBoundsTheBytesAtTheAggregationUnit() throws Exception {
        UnitCore core = core(16 * MIB, 10_000, "fifo");
        core.addProgram("passthrough", passthrough());
        RecordingAggregation agg = aggregation(CreditMode.MANUAL);
        UnitChannel ch = core.open(plan(1, "passthrough", 8 * MIB), agg, new RecordingEvents());
        for (int i = 0; i < 50; i++) {
            ch.deliver(i, datagram(i, 1000), false);
        }
        RecordingAggregation.Channel out = agg.channel(new SessionId(1));
        await(() -> ch.counters().get("queued_results") == 40, "40 results waiting for the window");
        assertEquals(10, out.count(), "a full window and no more");
        assertEquals(10_000, core.counters().get("link_in_flight"));
        pump(agg, Integer.MAX_VALUE);
        await(() -> out.count() == 50, "every result");
        pump(agg, Integer.MAX_VALUE);
        assertTrue(agg.maxOutstanding.get() <= 10_000, "max outstanding " + agg.maxOutstanding.get());
        assertEquals(0, core.counters().get("link_in_flight"));
        ch.close().toCompletableFuture().get(5, TimeUnit.SECONDS);
    }

    @Test
    void linkWindowIsNeverExceededWhateverTheResultSizes() throws Exception {
        UnitCore core = core(16 * MIB, 10_000, "fifo");
        core.addProgram("passthrough", passthrough());
        RecordingAggregation agg = aggregation(CreditMode.MANUAL);
        UnitChannel ch = core.open(plan(1, "passthrough", 8 * MIB), agg, new RecordingEvents());
        for (int i = 0; i < 20; i++) {
            ch.deliver(i, datagram(i, 3_000), false);
        }
        RecordingAggregation.Channel out = agg.channel(new SessionId(1));
        await(() -> out.count() + ch.counters().get("queued_results") == 20, "every datagram processed");
        pump(agg, Integer.MAX_VALUE);
        await(() -> out.count() == 20, "every result");
        pump(agg, Integer.MAX_VALUE);
        ch.close().toCompletableFuture().get(5, TimeUnit.SECONDS);
        assertTrue(agg.maxOutstanding.get() <= 10_000,
            "at most linkWindow (10000) bytes at the aggregation unit, saw " + agg.maxOutstanding.get());
    }

    @Test
    void aResultLargerThanTheWindowStillGoesOneAtATime() throws Exception {
        UnitCore core = core(16 * MIB, 1_000, "fifo");
        core.addProgram("passthrough", passthrough());
        RecordingAggregation agg = aggregation(CreditMode.MANUAL);
        UnitChannel ch = core.open(plan(1, "passthrough", 8 * MIB), agg, new RecordingEvents());
        for (int i = 0; i < 5; i++) {
            ch.deliver(i, datagram(i, 5_000), false);
        }
        RecordingAggregation.Channel out = agg.channel(new SessionId(1));
        await(() -> ch.counters().get("queued_results") == 4, "four waiting");
        assertEquals(1, out.count());
        pump(agg, Integer.MAX_VALUE);
        await(() -> out.count() == 5, "every result");
        pump(agg, Integer.MAX_VALUE);
        assertEquals(5_000, agg.maxOutstanding.get(), "one oversized result at a time");
        ch.close().toCompletableFuture().get(5, TimeUnit.SECONDS);
    }

    // ---- failures of the program

    @Test
    void aFailingProgramIsCountedTheUnitGoesOnAndTheInputIsReleased() throws Exception {
        UnitCore core = core(16 * MIB, MIB, "fifo");
        core.addProgram("flaky", new Factories.Programs((in, ctx) -> {
            long k = in.data().getLong();
            if (k % 4 == 1) {
                throw new java.io.IOException("no " + k);
            }
            if (k % 4 == 3) {
                throw new AssertionError("an Error is survived too: " + k);
            }
            ctx.emit(in.flow(), in.data());
        }));
        RecordingAggregation agg = aggregation(CreditMode.IMMEDIATE);
        UnitChannel ch = core.open(plan(1, "flaky", MIB), agg, new RecordingEvents());
        for (int i = 0; i < 1000; i++) {
            ch.deliver(i, datagram(i, 100), false);
        }
        ch.close().toCompletableFuture().get(5, TimeUnit.SECONDS);
        List<Result> results = agg.channel(new SessionId(1)).results();
        assertEquals(500, results.size());
        for (int i = 0; i < 500; i++) {
            assertEquals(2L * i, results.get(i).sequence());
        }
        assertEquals(500, core.counters().get("program_errors"));
        assertEquals(0, core.counters().get("buffer_bytes"), "every failed input uncharged");
        assertEquals(1000, core.counters().get("datagrams_in"));
        assertEquals(500, core.counters().get("datagrams_out"));
    }

    @Test
    void aProgramThatCannotBeInstantiatedHoldsTheDatagramsUntilAWorkingOneComes() throws Exception {
        UnitCore core = core(16 * MIB, MIB, "fifo");
        core.addProgram("p", new ProgramFactory() {
            @Override
            public ActiveProgram get() {
                throw new IllegalStateException("bundle stopping");
            }

            @Override
            public void unget(ActiveProgram program) {
            }
        });
        RecordingAggregation agg = aggregation(CreditMode.IMMEDIATE);
        UnitChannel ch = core.open(plan(1, "p", MIB), agg, new RecordingEvents());
        for (int i = 0; i < 10; i++) {
            ch.deliver(i, datagram(i, 100), false);
        }
        await(() -> ch.counters().get("waiting_for_program") == 10, "held");
        assertTrue(ch.counters().get("program_errors") >= 1, "each failed attempt is counted");
        core.addProgram("p", passthrough());
        ch.close().toCompletableFuture().get(5, TimeUnit.SECONDS);
        assertEquals(10, agg.channel(new SessionId(1)).count());
    }

    // ---- close

    @Test
    void closeCompletesOnlyOnceEveryResultWasCredited() throws Exception {
        UnitCore core = core(16 * MIB, MIB, "fifo");
        Factories.Programs programs = passthrough();
        core.addProgram("passthrough", programs);
        RecordingAggregation agg = aggregation(CreditMode.MANUAL);
        UnitChannel ch = core.open(plan(1, "passthrough", MIB), agg, new RecordingEvents());
        for (int i = 0; i < 20; i++) {
            ch.deliver(i, datagram(i, 700), false);
        }
        CompletableFuture<Void> closed = ch.close().toCompletableFuture();
        RecordingAggregation.Channel out = agg.channel(new SessionId(1));
        await(() -> out.count() == 20, "every result at the aggregation unit");
        Thread.sleep(20);
        assertFalse(closed.isDone(), "results not yet credited");
        for (int i = 0; i < 19; i++) {
            out.creditOne();
        }
        Thread.sleep(20);
        assertFalse(closed.isDone(), "one result not yet credited");
        assertEquals(1, core.counters().get("sessions"));
        out.creditOne();
        closed.get(5, TimeUnit.SECONDS);
        assertEquals(0, core.counters().get("sessions"));
        assertEquals(0, core.counters().get("buffer_reserved"));
        assertEquals(0, core.counters().get("buffer_bytes"));
        assertEquals(1, programs.ungets.get());
    }

    @Test
    void closeOfAnIdleSessionCompletesAtOnce() throws Exception {
        UnitCore core = core(16 * MIB, MIB, "fifo");
        UnitChannel ch = core.open(plan(1, "never-registered", MIB), aggregation(CreditMode.IMMEDIATE),
            new RecordingEvents());
        ch.close().toCompletableFuture().get(5, TimeUnit.SECONDS);
        assertEquals(0, core.counters().get("buffer_reserved"));
    }

    // ---- control, state, counters

    @Test
    void controlStateAndCountersAreAccountedPerSession() throws Exception {
        UnitCore core = core(16 * MIB, MIB, "fifo");
        AtomicReference<Map<String, String>> parameters = new AtomicReference<>();
        core.addProgram("counting", new Factories.Programs((in, ctx) -> {
            parameters.set(ctx.parameters());
            if (in.isControl()) {
                ctx.sendControl(in.flow(), in.data()); // tell the peers what we were told
                return;
            }
            long seen = ctx.state("seen").map(b -> ByteBuffer.wrap(b).getLong()).orElse(0L);
            ctx.putState("seen", ByteBuffer.allocate(8).putLong(seen + 1).array());
            ctx.emit(in.flow(), in.data());
        }));
        RecordingAggregation agg = aggregation(CreditMode.IMMEDIATE);
        RecordingEvents events = new RecordingEvents();
        UnitChannel ch = core.open(plan(1, "counting", MIB), agg, events);
        for (int i = 0; i < 10; i++) {
            ch.deliver(i, datagram(i, 100), false);
        }
        ch.deliver(UnitChannel.NO_SEQUENCE, datagram(99, 40), true);
        ch.deliver(10, datagram(10, 100), false);
        await(() -> agg.channel(new SessionId(1)).count() == 11, "11 results");
        Map<String, Long> acct = ch.counters();
        assertEquals(12, acct.get("datagrams_in"));
        assertEquals(1140, acct.get("bytes_in"));
        assertEquals(1, acct.get("control_in"));
        assertEquals(11, acct.get("datagrams_out"));
        assertEquals(1100, acct.get("bytes_out"));
        assertEquals(1, acct.get("control_sent"));
        assertEquals("seen".length() + 8, acct.get("state_bytes"));
        assertEquals(0, acct.get("program_errors"));
        assertTrue(acct.get("cpu_ns") > 0);
        assertEquals(MIB, acct.get("quota_bytes"));
        assertEquals(1, events.control().size());
        assertIntact(events.control().get(0), 99);
        assertEquals(Map.of("k", "v"), parameters.get());
        assertTrue(core.counters().get("cpu_ns") >= acct.get("cpu_ns"));
        assertEquals("local", core.location());
        assertEquals(UNIT, core.id());
        assertEquals(1, core.load().sessions());
        ch.close().toCompletableFuture().get(5, TimeUnit.SECONDS);
        assertEquals(0, core.load().sessions());
    }

    @Test
    void theProgramContextIsValidOnlyDuringProcess() throws Exception {
        UnitCore core = core(16 * MIB, MIB, "fifo");
        AtomicReference<ProgramContext> kept = new AtomicReference<>();
        core.addProgram("keeper", new Factories.Programs((in, ctx) -> kept.set(ctx)));
        UnitChannel ch = core.open(plan(1, "keeper", MIB), aggregation(CreditMode.IMMEDIATE), new RecordingEvents());
        ch.deliver(0, datagram(0, 10), false);
        await(() -> kept.get() != null, "process called");
        Thread.sleep(5);
        assertThrows(IllegalStateException.class, () -> kept.get().emit(FlowId.of(0), ByteBuffer.allocate(4)));
        ch.close().toCompletableFuture().get(5, TimeUnit.SECONDS);
    }

    @Test
    void stopReleasesWhatTheUnitHoldsAndRefusesNewSessions() throws Exception {
        UnitCore core = new UnitCore(UNIT, 16 * MIB, MIB, "fifo", PooledByteBufAllocator.DEFAULT);
        UnitChannel ch = core.open(plan(1, "absent", MIB), aggregation(CreditMode.IMMEDIATE), new RecordingEvents());
        List<ByteBuf> held = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            ByteBuf b = datagram(i, 100);
            held.add(b);
            ch.deliver(i, b, false);
        }
        await(() -> ch.counters().get("waiting_for_program") == 10, "held");
        core.stop();
        for (ByteBuf b : held) {
            assertEquals(0, b.refCnt(), "released at stop");
        }
        IllegalStateException e = assertThrows(IllegalStateException.class,
            () -> core.open(plan(2, "absent", MIB), aggregation(CreditMode.IMMEDIATE), new RecordingEvents()));
        assertTrue(e.getMessage().contains("stopping"), e.getMessage());
        ByteBuf late = datagram(10, 100);
        ch.deliver(10, late, false); // after the loop ended: refused by the executor, released
        assertEquals(0, late.refCnt());
    }

    // ---- bugs

    @Test
    void aSessionOfAStoppedUnitStillClosesAndReports() throws Exception {
        UnitCore core = new UnitCore(UNIT, 16 * MIB, MIB, "fifo", PooledByteBufAllocator.DEFAULT);
        core.addProgram("passthrough", passthrough());
        UnitChannel ch = core.open(plan(1, "passthrough", MIB), aggregation(CreditMode.IMMEDIATE),
            new RecordingEvents());
        ch.deliver(0, datagram(0, 100), false);
        core.stop();
        ch.close().toCompletableFuture().get(1, TimeUnit.SECONDS);
        Map<String, Long> last = ch.counters();
        assertEquals(1, last.get("datagrams_in"));
    }

    @Test
    void aDatagramDeliveredWhileTheUnitStopsIsReleased() throws Exception {
        UnitCore core = new UnitCore(UNIT, 16 * MIB, MIB, "fifo", PooledByteBufAllocator.DEFAULT);
        core.addProgram("passthrough", passthrough());
        RecordingAggregation agg = aggregation(CreditMode.IMMEDIATE);
        UnitChannel ch = core.open(plan(1, "passthrough", MIB), agg, new RecordingEvents());
        CountDownLatch busy = new CountDownLatch(1);
        core.execute(() -> { // keeps the loop busy so that stop()'s clean-up queues behind it
            try {
                busy.await(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        Thread stopper = new Thread(core::stop);
        stopper.start();
        await(() -> {
            try {
                core.open(plan(1000 + System.nanoTime() % 1000, "passthrough", 1), agg, new RecordingEvents());
                return false;
            } catch (IllegalStateException e) {
                return e.getMessage().contains("stopping");
            }
        }, "the unit stopping");
        Thread.sleep(50); // stop() has queued its clean-up
        ByteBuf late = datagram(0, 100);
        ch.deliver(0, late, false); // accepted: queued behind the clean-up
        busy.countDown();
        stopper.join(10_000);
        try {
            assertEquals(0, late.refCnt(), "a datagram the unit accepted is released when the unit stops");
        } finally {
            if (late.refCnt() > 0) {
                late.release(late.refCnt());
            }
        }
    }

    @Test
    void aDatagramDeliveredAfterCloseIsReleasedAndUncharged() throws Exception {
        UnitCore core = core(16 * MIB, MIB, "fifo");
        core.addProgram("passthrough", passthrough());
        RecordingAggregation agg = aggregation(CreditMode.IMMEDIATE);
        UnitChannel ch = core.open(plan(1, "passthrough", MIB), agg, new RecordingEvents());
        ch.deliver(0, datagram(0, 100), false);
        ch.close().toCompletableFuture().get(5, TimeUnit.SECONDS);
        ByteBuf late = datagram(UnitChannel.NO_SEQUENCE, 100);
        ch.deliver(UnitChannel.NO_SEQUENCE, late, true);
        try {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(1);
            while (late.refCnt() > 0 && System.nanoTime() < deadline) {
                Thread.sleep(5);
            }
            assertEquals(0, late.refCnt(), "released");
            assertEquals(0, core.counters().get("buffer_bytes"), "not charged to the pool any more");
        } finally {
            if (late.refCnt() > 0) {
                late.release(late.refCnt());
            }
        }
    }

    @Test
    void putStateWithNullRemovesTheKey() throws Exception {
        List<Object> outcome = runOnce((in, ctx) -> {
            ctx.putState("a", new byte[] {1, 2, 3});
            ctx.putState("a", null);
            return ctx.state("a").isPresent();
        });
        assertEquals(List.of(false), outcome);
    }

    @Test
    void putStateOverTheQuotaThrowsIllegalStateException() throws Exception {
        List<Object> outcome = runOnce((in, ctx) -> {
            byte[] big = new byte[UnitCore.MAX_STATE_VALUE];
            try {
                for (int i = 0; i < 32; i++) {
                    ctx.putState("k" + i, big);
                }
                return "no exception";
            } catch (RuntimeException e) {
                return e.getClass().getSimpleName();
            }
        });
        assertEquals(List.of("IllegalStateException"), outcome);
    }

    @Test
    void emitOnAFlowTheSessionDoesNotHaveIsRefused() throws Exception {
        List<Object> outcome = runOnce((in, ctx) -> {
            try {
                ctx.emit(FlowId.of(4711), in.data());
                return "emitted";
            } catch (IllegalArgumentException e) {
                return "refused";
            }
        });
        assertEquals(List.of("refused"), outcome);
    }

    /** A program body that returns an outcome; exceptions are outcomes too. */
    interface Probe {
        Object run(io.pando.api.program.Datagram in, ProgramContext ctx) throws Exception;
    }

    private List<Object> runOnce(Probe probe) throws Exception {
        UnitCore core = core(16 * MIB, MIB, "fifo");
        List<Object> outcome = new java.util.concurrent.CopyOnWriteArrayList<>();
        core.addProgram("probe", new Factories.Programs((in, ctx) -> {
            try {
                outcome.add(probe.run(in, ctx));
            } catch (Exception | Error e) {
                outcome.add(e.getClass().getSimpleName());
            }
        }));
        UnitChannel ch = core.open(plan(1, "probe", MIB), aggregation(CreditMode.IMMEDIATE), new RecordingEvents());
        ch.deliver(0, datagram(0, 16), false);
        ch.close().toCompletableFuture().get(5, TimeUnit.SECONDS);
        return outcome;
    }
}
