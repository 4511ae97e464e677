package io.pando.unit.impl;

import static io.pando.unit.impl.UnitCoreTest.assertIntact;
import static io.pando.unit.impl.UnitCoreTest.await;
import static io.pando.unit.impl.UnitCoreTest.datagram;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.pando.api.program.ActiveProgram;
import io.pando.api.program.Datagram;
import io.pando.api.program.ProgramContext;
import io.pando.api.router.Execution;
import io.pando.api.session.Flow;
import io.pando.api.session.FlowId;
import io.pando.api.session.SessionId;
import io.pando.api.unit.UnitId;
import io.pando.link.SessionPlan;
import io.pando.link.UnitChannel;
import io.pando.unit.impl.RecordingAggregation.CreditMode;
import io.pando.unit.impl.RecordingAggregation.Result;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Multi-flow sessions and timers on a unit running its program in-process: datagrams reach the program with their
 * flow, results reach the aggregation unit with the flow they were emitted on, timers are set, moved, cancelled,
 * fired in deadline order (never early), limited, and discarded when the session closes.
 */
class FlowsAndTimersTest {

    private static final UnitId UNIT = UnitId.of("u1");
    private static final long MIB = 1 << 20;
    private static final InetSocketAddress DEST = new InetSocketAddress("127.0.0.1", 9);

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

    private UnitCore core() {
        UnitCore c = new UnitCore(UNIT, 64 * MIB, MIB, "fifo", PooledByteBufAllocator.DEFAULT);
        cores.add(c);
        return c;
    }

    private RecordingAggregation aggregation() {
        RecordingAggregation a = new RecordingAggregation(CreditMode.IMMEDIATE);
        aggregations.add(a);
        return a;
    }

    /** A plan whose session has flows 0, 1 and 2. */
    static SessionPlan plan(long id, String program) {
        return new SessionPlan(new SessionId(id), "s" + id, program, Map.of(), DEST, List.of(UNIT), 16 * MIB,
            Optional.empty(), Execution.DEFAULT, List.of(new Flow(FlowId.of(0), "default", DEST),
                new Flow(FlowId.of(1), "one", new InetSocketAddress("127.0.0.1", 10)),
                new Flow(FlowId.of(2), "two", new InetSocketAddress("127.0.0.1", 11))));
    }

    static ByteBuffer longBytes(long v) {
        return ByteBuffer.allocate(8).putLong(v).flip();
    }

    // ---- flows

    @Test
    void eachDatagramGoesOutOnFlowsOneAndTwoAndTheProgramSeesItsFlow() throws Exception {
        UnitCore core = core();
        List<Long> seenFlows = new CopyOnWriteArrayList<>();
        List<Object> flowLists = new CopyOnWriteArrayList<>();
        core.addProgram("fan", new Factories.Programs((in, ctx) -> {
            seenFlows.add(in.flow().value());
            assertSame(ctx.flows().get((int) in.flow().value()), in.flow(), "the session's cached flow id");
            flowLists.add(ctx.flows());
            ctx.emit(FlowId.of(1), in.data());
            ctx.emit(FlowId.of(2), in.data());
        }));
        RecordingAggregation agg = aggregation();
        UnitChannel ch = core.open(plan(1, "fan"), agg, new RecordingEvents());
        int n = 200;
        for (int i = 0; i < n; i++) {
            ch.deliver(i, i % 3, datagram(i, 64), false);
        }
        ch.close().toCompletableFuture().get(5, TimeUnit.SECONDS);
        List<Result> results = agg.channel(new SessionId(1)).results();
        assertEquals(2 * n, results.size());
        for (int i = 0; i < n; i++) {
            Result a = results.get(2 * i);
            Result b = results.get(2 * i + 1);
            assertEquals(1, a.flow());
            assertEquals(2, b.flow());
            assertEquals(i, a.sequence());
            assertEquals(i, b.sequence());
            assertIntact(a.data(), i);
            assertIntact(b.data(), i);
            assertEquals(i % 3, seenFlows.get(i), "Datagram.flow() is the flow it was delivered on");
        }
        assertEquals(List.of(FlowId.of(0), FlowId.of(1), FlowId.of(2)), flowLists.get(0));
    }

    @Test
    void emitAndControlOnAFlowTheSessionLacksAreRefusedNamingItsFlows() throws Exception {
        UnitCore core = core();
        List<String> outcome = new CopyOnWriteArrayList<>();
        core.addProgram("bad", new Factories.Programs((in, ctx) -> {
            for (FlowId f : List.of(FlowId.of(3), FlowId.of(0xFFFF_FFFFL))) {
                try {
                    ctx.emit(f, in.data());
                } catch (IllegalArgumentException e) {
                    outcome.add(e.getMessage());
                }
                try {
                    ctx.sendControl(f, in.data());
                } catch (IllegalArgumentException e) {
                    outcome.add(e.getMessage());
                }
            }
            ctx.sendControl(FlowId.of(2), in.data());
        }));
        RecordingAggregation agg = aggregation();
        RecordingEvents events = new RecordingEvents();
        UnitChannel ch = core.open(plan(1, "bad"), agg, events);
        ch.deliver(0, 1, datagram(0, 16), false);
        ch.close().toCompletableFuture().get(5, TimeUnit.SECONDS);
        assertEquals(4, outcome.size(), outcome.toString());
        assertEquals("session 1 has no flow 3; its flows: [0, 1, 2]", outcome.get(0));
        assertTrue(outcome.get(2).contains("no flow 4294967295"), outcome.get(2));
        assertEquals(0, agg.channel(new SessionId(1)).count());
        assertEquals(1, events.control().size(), "control on a flow of the session goes out");
        assertEquals(List.of(2L), events.controlFlows(), "on the flow the program named");
    }

    @Test
    void aDatagramOfAFlowThePlanLacksIsReleasedAndCounted() throws Exception {
        UnitCore core = core();
        core.addProgram("passthrough", new Factories.Programs(new PassthroughProgram()));
        RecordingAggregation agg = aggregation();
        UnitChannel ch = core.open(plan(1, "passthrough"), agg, new RecordingEvents());
        ByteBuf stray = datagram(0, 32);
        ch.deliver(0, 9, stray, false);
        assertEquals(0, stray.refCnt(), "released at once");
        ch.deliver(1, 2, datagram(1, 32), false);
        ch.close().toCompletableFuture().get(5, TimeUnit.SECONDS);
        Map<String, Long> c = ch.counters();
        assertEquals(1, c.get("unknown_flow"), c.toString());
        assertEquals(1, c.get("datagrams_in"), c.toString());
        assertEquals(0, c.get("buffer_bytes"));
        List<Result> out = agg.channel(new SessionId(1)).results();
        assertEquals(1, out.size());
        assertEquals(2, out.get(0).flow(), "passthrough keeps the flow");
    }

    // ---- timers

    /** A program driven by its datagrams' first long: a command for its timers. */
    static final class TimerProgram implements ActiveProgram {
        final List<String> fired = new CopyOnWriteArrayList<>();
        final List<Long> early = new CopyOnWriteArrayList<>();
        final Map<Long, Long> due = new java.util.concurrent.ConcurrentHashMap<>();

        void set(ProgramContext ctx, long timer, long micros) {
            due.put(timer, System.nanoTime() + micros * 1000); // before the unit's clock reading: never later
            ctx.setTimer(timer, micros);
        }

        @Override
        public void process(Datagram in, ProgramContext ctx) {
            long cmd = in.data().getLong(0);
            if (cmd == 1) { // A at 60 ms, B at 20, C at 40, D at 30; then A moved to 10, C cancelled, D moved to 50
                set(ctx, 'A', 60_000);
                set(ctx, 'B', 20_000);
                set(ctx, 'C', 40_000);
                set(ctx, 'D', 30_000);
                set(ctx, 'A', 10_000);
                ctx.cancelTimer('C');
                ctx.cancelTimer('X'); // not set: nothing
                set(ctx, 'D', 50_000);
            }
        }

        @Override
        public void onTimer(long timer, ProgramContext ctx) {
            long late = System.nanoTime() - due.get(timer);
            if (late < 0) {
                early.add(timer);
            }
            fired.add(String.valueOf((char) timer));
            ctx.emit(ctx.flows().get(1), longBytes(timer));
        }
    }

    @Test
    void timersFireInDeadlineOrderNeverEarlyAfterMovesAndCancels() throws Exception {
        UnitCore core = core();
        TimerProgram p = new TimerProgram();
        core.addProgram("timers", new Factories.Programs(p));
        RecordingAggregation agg = aggregation();
        UnitChannel ch = core.open(plan(1, "timers"), agg, new RecordingEvents());
        ch.deliver(41, datagram(1, 16), false);
        ch.deliver(UnitChannel.NO_SEQUENCE, datagram(7, 16), true); // control: not a sequence to carry
        await(() -> p.fired.size() == 3, "three timers fired");
        Thread.sleep(80); // C would have fired by now
        assertEquals(List.of("A", "B", "D"), p.fired);
        assertEquals(List.of(), p.early, "no timer fires before its deadline");
        List<Result> out = agg.channel(new SessionId(1)).results();
        assertEquals(3, out.size());
        for (Result r : out) {
            assertEquals(41, r.sequence(), "a timer's results carry the sequence of the last datagram processed");
            assertEquals(1, r.flow());
        }
        Map<String, Long> c = ch.counters();
        assertEquals(6, c.get("timers_set"), c.toString());
        assertEquals(3, c.get("timers_fired"), c.toString());
        assertEquals(1, c.get("timers_cancelled"), c.toString());
        assertEquals(0, c.get("timers"), c.toString());
        assertEquals(6, core.counters().get("timers_set"));
        assertEquals(3, core.counters().get("timers_fired"));
        ch.close().toCompletableFuture().get(5, TimeUnit.SECONDS);
        assertEquals(0, ch.counters().get("timers_discarded"));
    }

    @Test
    void aTimerSetBeforeAnyDatagramCarriesSequenceZeroAndDelayZeroFiresAfterTheCall() throws Exception {
        UnitCore core = core();
        List<String> order = new CopyOnWriteArrayList<>();
        core.addProgram("zero", new Factories.Programs(new ActiveProgram() {
            @Override
            public void process(Datagram in, ProgramContext ctx) {
                ctx.setTimer(5, 0);
                order.add("process");
            }

            @Override
            public void onTimer(long timer, ProgramContext ctx) {
                order.add("timer " + timer);
                ctx.emit(in(ctx), longBytes(timer));
            }

            private FlowId in(ProgramContext ctx) {
                return ctx.flows().get(0);
            }
        }));
        RecordingAggregation agg = aggregation();
        UnitChannel ch = core.open(plan(1, "zero"), agg, new RecordingEvents());
        ch.deliver(UnitChannel.NO_SEQUENCE, datagram(0, 16), true);
        // the timer's result reaches the aggregation unit after onTimer has returned: wait for the result itself
        await(() -> order.size() == 2 && !agg.channel(new SessionId(1)).results().isEmpty(), "the timer's result");
        assertEquals(List.of("process", "timer 5"), order);
        assertEquals(0, agg.channel(new SessionId(1)).results().get(0).sequence(), "no datagram processed: 0");
        ch.close().toCompletableFuture().get(5, TimeUnit.SECONDS);
    }

    /**
     * Holds its datagrams (copies) and releases them from a timer 5 ms after the first one it holds: a flush.
     */
    static final class Flusher implements ActiveProgram {
        private final ArrayList<byte[]> held = new ArrayList<>();
        private boolean armed;
        int flushes;

        @Override
        public void process(Datagram in, ProgramContext ctx) {
            held.add(in.copyData());
            if (!armed) {
                ctx.setTimer(1, 5_000);
                armed = true;
            }
        }

        @Override
        public void onTimer(long timer, ProgramContext ctx) {
            for (byte[] d : held) {
                ctx.emit(ctx.flows().get(2), ByteBuffer.wrap(d));
            }
            held.clear();
            armed = false;
            flushes++;
        }
    }

    @Test
    void aTimerFlushesHeldDatagramsInOrder() throws Exception {
        UnitCore core = core();
        Flusher f = new Flusher();
        core.addProgram("flush", new Factories.Programs(f));
        RecordingAggregation agg = aggregation();
        UnitChannel ch = core.open(plan(1, "flush"), agg, new RecordingEvents());
        int n = 500;
        for (int i = 0; i < n; i++) {
            ch.deliver(i, datagram(i, 100), false);
            if (i % 100 == 99) {
                Thread.sleep(10);
            }
        }
        RecordingAggregation.Channel out = agg.channel(new SessionId(1));
        await(() -> out.count() == n, "every held datagram flushed");
        List<Result> results = out.results();
        long lastSeq = -1;
        for (int i = 0; i < n; i++) {
            assertIntact(results.get(i).data(), i);
            assertEquals(2, results.get(i).flow());
            assertTrue(results.get(i).sequence() >= i, "a flush carries the last sequence processed");
            assertTrue(results.get(i).sequence() >= lastSeq);
            lastSeq = results.get(i).sequence();
        }
        Map<String, Long> c = ch.counters();
        assertTrue(c.get("timers_fired") >= 2, c.toString());
        assertEquals(c.get("timers_set"), c.get("timers_fired"), c.toString());
        ch.close().toCompletableFuture().get(5, TimeUnit.SECONDS);
        assertEquals(0, core.counters().get("buffer_bytes"));
    }

    @Test
    void timerLimitsAreCheckedWithClearErrors() throws Exception {
        UnitCore core = core();
        List<String> outcome = new CopyOnWriteArrayList<>();
        core.addProgram("limits", new Factories.Programs((in, ctx) -> {
            for (long d : new long[] {-1, ProgramContext.MAX_TIMER_DELAY_MICROS + 1}) {
                try {
                    ctx.setTimer(0, d);
                } catch (IllegalArgumentException e) {
                    outcome.add(e.getMessage());
                }
            }
            ctx.setTimer(0, ProgramContext.MAX_TIMER_DELAY_MICROS);
            for (int i = 1; i < ProgramContext.MAX_TIMERS; i++) {
                ctx.setTimer(i, 3_000_000);
            }
            try {
                ctx.setTimer(ProgramContext.MAX_TIMERS, 1);
            } catch (IllegalStateException e) {
                outcome.add(e.getMessage());
            }
            ctx.setTimer(7, 1_000_000); // moving one at the limit works
            ctx.cancelTimer(8);
            ctx.setTimer(-5, 1_000_000); // and a cancel makes room
            outcome.add("ok");
        }));
        RecordingAggregation agg = aggregation();
        UnitChannel ch = core.open(plan(1, "limits"), agg, new RecordingEvents());
        ch.deliver(0, datagram(0, 16), false);
        await(() -> outcome.contains("ok"), "the program");
        assertEquals(4, outcome.size(), outcome.toString());
        assertEquals("a timer's delay is in [0, 3600000000] µs, got -1", outcome.get(0));
        assertTrue(outcome.get(1).contains("got 3600000001"), outcome.get(1));
        assertTrue(outcome.get(2).startsWith("at most 1024 timers may be set at one time; session 1 has 1024"),
            outcome.get(2));
        Map<String, Long> c = ch.counters();
        assertEquals(1024, c.get("timers"));
        assertEquals(1026, c.get("timers_set"));
        assertEquals(0, c.get("program_errors"), "the program caught them");
        long t0 = System.nanoTime();
        ch.close().toCompletableFuture().get(5, TimeUnit.SECONDS);
        assertTrue(System.nanoTime() - t0 < TimeUnit.SECONDS.toNanos(1), "timers do not keep a session open");
        c = ch.counters();
        assertEquals(1024, c.get("timers_discarded"), c.toString());
        assertEquals(0, c.get("timers"));
        assertEquals(1024, core.counters().get("timers_discarded"));
        assertEquals(0, core.counters().get("timers"), "none left in the unit's heap");
    }

    @Test
    void aFailingOnTimerIsCountedAndTheProgramGoesOn() throws Exception {
        UnitCore core = core();
        List<Long> calls = new CopyOnWriteArrayList<>();
        core.addProgram("throws", new Factories.Programs(new ActiveProgram() {
            @Override
            public void process(Datagram in, ProgramContext ctx) {
                ctx.setTimer(1, 1_000);
                ctx.setTimer(2, 2_000);
            }

            @Override
            public void onTimer(long timer, ProgramContext ctx) {
                calls.add(timer);
                if (timer == 1) {
                    throw new IllegalStateException("timer 1 fails");
                }
                ctx.emit(ctx.flows().get(0), longBytes(timer));
            }
        }));
        RecordingAggregation agg = aggregation();
        UnitChannel ch = core.open(plan(1, "throws"), agg, new RecordingEvents());
        ch.deliver(3, datagram(0, 16), false);
        await(() -> calls.size() == 2, "both timers");
        await(() -> agg.channel(new SessionId(1)).count() == 1, "the second timer's result");
        Map<String, Long> c = ch.counters();
        assertEquals(1, c.get("program_errors"), c.toString());
        assertEquals(2, c.get("timers_fired"), c.toString());
        ch.close().toCompletableFuture().get(5, TimeUnit.SECONDS);
    }

    @Test
    void timersWaitForAnAbsentProgramAndFireWhenItIsBack() throws Exception {
        UnitCore core = core();
        TimerProgram p = new TimerProgram();
        Factories.Programs v1 = new Factories.Programs(p);
        core.addProgram("timers", v1);
        RecordingAggregation agg = aggregation();
        UnitChannel ch = core.open(plan(1, "timers"), agg, new RecordingEvents());
        ch.deliver(5, datagram(1, 16), false);
        await(() -> ch.counters().get("timers") == 3, "timers set");
        core.removeProgram("timers", v1); // the program leaves; its timers stay with the session
        Thread.sleep(80);
        assertEquals(List.of(), p.fired);
        assertEquals(3, ch.counters().get("timers"));
        core.addProgram("timers", new Factories.Programs(p));
        await(() -> p.fired.size() == 3, "the due timers fired");
        assertEquals(List.of("A", "B", "D"), p.fired);
        ch.close().toCompletableFuture().get(5, TimeUnit.SECONDS);
    }

    @Test
    void theContextRefusesTimerCallsOutsideACall() throws Exception {
        UnitCore core = core();
        java.util.concurrent.atomic.AtomicReference<ProgramContext> kept = new java.util.concurrent.atomic.AtomicReference<>();
        core.addProgram("keeper", new Factories.Programs((in, ctx) -> kept.set(ctx)));
        UnitChannel ch = core.open(plan(1, "keeper"), aggregation(), new RecordingEvents());
        ch.deliver(0, datagram(0, 10), false);
        await(() -> kept.get() != null, "process called");
        Thread.sleep(5);
        assertThrows(IllegalStateException.class, () -> kept.get().setTimer(1, 1));
        assertThrows(IllegalStateException.class, () -> kept.get().flows());
        ch.close().toCompletableFuture().get(5, TimeUnit.SECONDS);
    }
}
