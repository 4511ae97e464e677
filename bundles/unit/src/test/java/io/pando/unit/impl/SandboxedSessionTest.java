package io.pando.unit.impl;

import static io.pando.unit.impl.UnitCoreTest.assertIntact;
import static io.pando.unit.impl.UnitCoreTest.datagram;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.netty.buffer.PooledByteBufAllocator;
import io.pando.api.program.ActiveProgram;
import io.pando.api.router.Execution;
import io.pando.api.router.Isolation;
import io.pando.api.session.SessionId;
import io.pando.api.unit.UnitId;
import io.pando.ee.sandbox.launch.RingFile;
import io.pando.ee.sandbox.testing.ProgramJars;
import io.pando.link.SessionPlan;
import io.pando.link.UnitChannel;
import io.pando.unit.impl.RecordingAggregation.CreditMode;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A unit running programs in real sandbox processes (bundles/ee-sandbox's runtime, bubblewrap and a cgroup where
 * this machine has them): datagrams go through in order and intact, state comes back to the unit, a sandbox that
 * overruns its CPU budget costs exactly the datagram it was processing and is restarted with every other
 * datagram sent again, a program swap loses nothing, and a sandbox that cannot start refuses the session.
 */
class SandboxedSessionTest {

    private static final UnitId UNIT = UnitId.of("u1");
    private static final long MIB = 1 << 20;

    @TempDir
    Path dir;

    private UnitCore core;
    private RecordingAggregation agg;

    @BeforeEach
    void start() throws IOException {
        Path runtime = Path.of(System.getProperty("pando.sandbox.runtime", "../ee-sandbox/target/runtime"));
        LaunchedSandboxes processes = LaunchedSandboxes.create(runtime, "auto");
        assertEquals(null, processes.unavailable(), "the sandbox runtime is built before this module");
        core = new UnitCore(UNIT, 64 * MIB, MIB, "fifo", PooledByteBufAllocator.DEFAULT,
            new SandboxHost(processes, dir.resolve("jars"), "u1"), null);
        agg = new RecordingAggregation(CreditMode.IMMEDIATE);
    }

    @AfterEach
    void stop() throws InterruptedException {
        core.stop();
        agg.shutdown();
    }

    /** An uploaded program: untrusted (runs in a process by default), packed from a jar built here. */
    private ProgramFactory upload(ProgramJars.Spec spec) throws IOException {
        Path jar = ProgramJars.build(Files.createDirectories(dir.resolve(spec.className + "-" + System.nanoTime())),
            spec);
        return new ProgramFactory() {
            @Override
            public ActiveProgram get() {
                throw new AssertionError("an upload never runs in the router's JVM");
            }

            @Override
            public void unget(ActiveProgram program) {
            }

            @Override
            public boolean trusted() {
                return false;
            }

            @Override
            public Path jar(Path d) {
                return jar;
            }
        };
    }

    private static SessionPlan plan(long id, String program, Map<String, String> params, long budgetMicros) {
        return new SessionPlan(new SessionId(id), "s" + id, program, params, new InetSocketAddress("127.0.0.1", 9),
            List.of(UNIT), 16 * MIB, Optional.empty(), new Execution(Optional.empty(), budgetMicros, 128, 1.0));
    }

    /** A plan whose session has flows 0, 1 and 2. */
    private static SessionPlan flowPlan(long id, String program, long budgetMicros) {
        SessionPlan p = plan(id, program, Map.of(), budgetMicros);
        return new SessionPlan(p.id(), p.name(), p.program(), p.parameters(), p.destination(), p.units(),
            p.quotaBytes(), p.reorderWindowMillis(), p.execution(), FlowsAndTimersTest.plan(id, program).flows());
    }

    private static void await(BooleanSupplier condition, long seconds, String what) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                fail("timed out waiting for " + what);
            }
            Thread.sleep(5);
        }
    }

    private static final ProgramJars.Spec ECHO = ProgramJars.program("test.Echo",
        "ctx.emit(in.flow(), in.data());"
            + "long n = ctx.state(\"count\").map(b -> java.nio.ByteBuffer.wrap(b).getLong()).orElse(0L) + 1;"
            + "ctx.putState(\"count\", java.nio.ByteBuffer.allocate(8).putLong(n).array());", "")
        .name("echo");

    @Test
    void datagramsGoThroughTheSandboxInOrderAndItsStateComesBack() throws Exception {
        core.addProgram("echo", upload(ECHO));
        RecordingEvents events = new RecordingEvents();
        SessionPlan plan = plan(1, "echo", Map.of(), 20_000);
        assertEquals(Isolation.PROCESS, UnitCore.isolation(plan, upload(ECHO)));
        UnitChannel ch = core.open(plan, agg, events); // returns once the sandbox said READY
        int n = 3000;
        for (int i = 0; i < n; i++) {
            ch.deliver(i, datagram(i, 16 + i % 1400), false);
        }
        RecordingAggregation.Channel out = agg.channel(plan.id());
        await(() -> out.count() == n, 30, n + " results");
        List<RecordingAggregation.Result> results = out.results();
        for (int i = 0; i < n; i++) {
            assertEquals(i, results.get(i).sequence(), "results keep the input order");
            assertIntact(results.get(i).data(), i);
        }
        Map<String, Long> c = ch.counters();
        assertEquals(1L, c.get("sandbox_starts"), c.toString());
        assertEquals(0L, c.get("program_errors"), c.toString());
        assertEquals(1L, c.get("isolation_process"), c.toString());
        assertEquals(8L + "count".length(), c.get("state_bytes"), "the program's state is the unit's: " + c);
        assertEquals(1L, c.get("sandbox_rings"), "batches and results went through the shared-memory rings: " + c);
        assertEquals(0L, c.get("sandbox_ring_fallbacks"), c.toString());
        assertTrue(c.get("sandbox_wakes_received") > 0, "the sandbox woke the unit: " + c);
        ch.close().toCompletableFuture().get(10, TimeUnit.SECONDS);
        assertEquals(List.of(), events.faults());
    }

    @Test
    void datagramsAndResultsLargerThanHalfARingGoOnTheSocketInTheirPlace() throws Exception {
        core.addProgram("echo", upload(ECHO));
        RecordingEvents events = new RecordingEvents();
        SessionPlan plan = plan(1, "echo", Map.of(), 1_000_000);
        UnitChannel ch = core.open(plan, agg, events);
        int n = 40;
        int big = (RingFile.DEFAULT_CAPACITY / 2) + 1000; // a record larger than half a ring: spilled
        for (int i = 0; i < n; i++) {
            ch.deliver(i, datagram(i, i % 4 == 1 ? big : 16 + i * 50), false);
        }
        RecordingAggregation.Channel out = agg.channel(plan.id());
        await(() -> out.count() == n, 60, n + " results");
        List<RecordingAggregation.Result> results = out.results();
        for (int i = 0; i < n; i++) {
            assertEquals(i, results.get(i).sequence(), "results keep the input order");
            assertEquals(i % 4 == 1 ? big : 16 + i * 50, results.get(i).data().length);
            assertIntact(results.get(i).data(), i);
        }
        Map<String, Long> c = ch.counters();
        assertEquals(1L, c.get("sandbox_rings"), c.toString());
        assertEquals(0L, c.get("sandbox_protocol_errors"), c.toString());
        assertEquals(1L, c.get("sandbox_starts"), c.toString());
        ch.close().toCompletableFuture().get(10, TimeUnit.SECONDS);
        assertEquals(List.of(), events.faults());
    }

    @Test
    void aProgramOverItsCpuBudgetCostsOneDatagramAndTheSandboxIsRestarted() throws Exception {
        ProgramJars.Spec loop = ProgramJars.program("test.LoopOn100",
            "if (in.data().getLong(0) == 100) { long x = 0; while (in.length() > 0) { x++; } ctx.putState(\"x\", new byte[(int) x & 1]); }"
                + "ctx.emit(in.flow(), in.data());", "").name("loop-on-100");
        core.addProgram("loop-on-100", upload(loop));
        RecordingEvents events = new RecordingEvents();
        SessionPlan plan = plan(2, "loop-on-100", Map.of(), 5_000);
        UnitChannel ch = core.open(plan, agg, events);
        int n = 300; // datagram 100 is past the sandbox's warm-up (32 datagrams with a larger budget)
        for (int i = 0; i < n; i++) {
            ch.deliver(i, datagram(i, 64), false);
        }
        RecordingAggregation.Channel out = agg.channel(plan.id());
        await(() -> out.count() == n - 1, 60, (n - 1) + " results (every datagram but the one that looped)");
        List<Long> seen = new ArrayList<>();
        out.results().forEach(r -> seen.add(r.sequence()));
        assertTrue(!seen.contains(100L), "datagram 100 was stopped: " + seen.subList(95, 105));
        assertEquals(n - 1, seen.stream().distinct().count(), "no duplicates");
        Map<String, Long> c = ch.counters();
        assertEquals(1L, c.get("program_killed"), c.toString());
        assertEquals(1L, c.get("program_over_budget"), c.toString());
        assertEquals(2L, c.get("sandbox_starts"), "restarted once: " + c);
        assertEquals(1, events.faults().size(), events.faults().toString());
        assertTrue(events.faults().get(0).contains("CPU budget"), events.faults().toString());
        ch.close().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }

    @Test
    void aNewVersionOfTheProgramTakesOverWithoutLosingDatagrams() throws Exception {
        ProgramFactory v1 = upload(ProgramJars.program("test.V1",
            "ctx.emit(in.flow(), in.data());", "").name("versioned"));
        ProgramFactory v2 = upload(ProgramJars.program("test.V2",
            "java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(in.length() + 1);"
                + "b.put(in.data()).put((byte) 2).flip(); ctx.emit(in.flow(), b);", "").name("versioned"));
        core.addProgram("versioned", v1);
        SessionPlan plan = plan(3, "versioned", Map.of(), 20_000);
        UnitChannel ch = core.open(plan, agg, new RecordingEvents());
        int n = 4000;
        Thread sender = new Thread(() -> {
            for (int i = 0; i < n; i++) {
                ch.deliver(i, datagram(i, 100), false);
                if (i % 100 == 0) {
                    try {
                        Thread.sleep(2);
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            }
        });
        sender.start();
        Thread.sleep(20);
        core.addProgram("versioned", v2); // the new version first, then the old one goes
        core.removeProgram("versioned", v1);
        sender.join();
        RecordingAggregation.Channel out = agg.channel(plan.id());
        await(() -> out.count() == n, 60, n + " results across the swap");
        List<RecordingAggregation.Result> results = out.results();
        int upgraded = 0;
        for (int i = 0; i < n; i++) {
            RecordingAggregation.Result r = results.get(i);
            assertEquals(i, r.sequence());
            if (r.data().length == 101) {
                upgraded++;
                assertEquals(2, r.data()[100]);
            } else if (upgraded > 0) {
                fail("datagram " + i + " went through the old version after the new one took over");
            }
        }
        assertTrue(upgraded > 0 && upgraded < n, "the swap happened during the stream: " + upgraded + " by v2");
        Map<String, Long> c = ch.counters();
        assertEquals(1L, c.get("program_swaps"), c.toString());
        assertEquals(0L, c.get("program_killed"), c.toString());
        ch.close().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }

    @Test
    void aSandboxThatCannotStartRefusesTheSessionWithTheReason() throws Exception {
        ProgramJars.Spec picky = ProgramJars.program("test.Picky", "ctx.emit(in.flow(), in.data());",
            "@Override public void validate(java.util.Map<String, String> p) {"
                + " if (!p.containsKey(\"key\")) throw new IllegalArgumentException(\"parameter key is required\"); }")
            .name("picky");
        core.addProgram("picky", upload(picky));
        IllegalStateException e = assertThrows(IllegalStateException.class,
            () -> core.open(plan(4, "picky", Map.of(), 20_000), agg, new RecordingEvents()));
        assertTrue(e.getMessage().contains("parameter key is required"), e.getMessage());
        await(() -> core.counters().get("sessions") == 0L, 10, "the refused session to be gone");
        UnitChannel ok = core.open(plan(5, "picky", Map.of("key", "v"), 20_000), agg, new RecordingEvents());
        ok.close().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }

    // ---- flows and timers (protocol version 2)

    @Test
    void eachDatagramGoesOutOnFlowsOneAndTwoAndUnknownFlowsAreRefused() throws Exception {
        ProgramJars.Spec fan = ProgramJars.program("test.Fan",
            "if (in.data().getLong(0) == 0) {"
                + " try { ctx.emit(FlowId.of(3), in.data()); } catch (IllegalArgumentException e) {"
                + " ctx.emit(FlowId.of(0), bytes(e.getMessage() + \" \" + ctx.flows())); } }"
                + "ctx.emit(FlowId.of(1), in.data()); ctx.emit(FlowId.of(2), in.data());"
                + "if (in.flow() != ctx.flows().get((int) in.flow().value())) throw new IllegalStateException(\"flow\");",
            "").name("fan");
        core.addProgram("fan", upload(fan));
        SessionPlan plan = flowPlan(11, "fan", 20_000);
        UnitChannel ch = core.open(plan, agg, new RecordingEvents());
        int n = 500;
        for (int i = 0; i < n; i++) {
            ch.deliver(i, i % 3, datagram(i, 16 + i % 700), false);
        }
        RecordingAggregation.Channel out = agg.channel(plan.id());
        await(() -> out.count() == 2 * n + 1, 30, (2 * n + 1) + " results");
        List<RecordingAggregation.Result> results = out.results();
        assertEquals(0, results.get(0).flow());
        assertEquals("session has no flow 3; its flows: [0, 1, 2] [0, 1, 2]",
            new String(results.get(0).data(), java.nio.charset.StandardCharsets.UTF_8));
        for (int i = 0; i < n; i++) {
            RecordingAggregation.Result a = results.get(1 + 2 * i);
            RecordingAggregation.Result b = results.get(2 + 2 * i);
            assertEquals(1, a.flow());
            assertEquals(2, b.flow());
            assertEquals(i, a.sequence());
            assertIntact(a.data(), i);
            assertIntact(b.data(), i);
        }
        Map<String, Long> c = ch.counters();
        assertEquals(0L, c.get("program_errors"), "every datagram saw the session's flow id: " + c);
        assertEquals(0L, c.get("sandbox_protocol_errors"), c.toString());
        ch.close().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }

    @Test
    void timersFireInDeadlineOrderAfterMovesAndCancels() throws Exception {
        ProgramJars.Spec timers = ProgramJars.program("test.Order",
            "if (in.data().getLong(0) == 1) {"
                + " ctx.setTimer('A', 60_000); ctx.setTimer('B', 20_000); ctx.setTimer('C', 40_000);"
                + " ctx.setTimer('D', 30_000); ctx.setTimer('A', 10_000); ctx.cancelTimer('C'); ctx.setTimer('D', 50_000); }",
            "@Override public void onTimer(long timer, ProgramContext ctx) {"
                + " ctx.emit(FlowId.of(1), ByteBuffer.allocate(8).putLong(timer).flip()); }").name("order");
        core.addProgram("order", upload(timers));
        SessionPlan plan = flowPlan(12, "order", 20_000);
        UnitChannel ch = core.open(plan, agg, new RecordingEvents());
        ch.deliver(41, datagram(1, 16), false);
        RecordingAggregation.Channel out = agg.channel(plan.id());
        await(() -> out.count() == 3, 30, "three timers");
        Thread.sleep(100);
        List<String> fired = new ArrayList<>();
        for (RecordingAggregation.Result r : out.results()) {
            fired.add(String.valueOf((char) java.nio.ByteBuffer.wrap(r.data()).getLong()));
            assertEquals(41, r.sequence(), "a timer's results carry the sequence of the last datagram processed");
            assertEquals(1, r.flow());
        }
        assertEquals(List.of("A", "B", "D"), fired);
        Map<String, Long> c = ch.counters();
        assertEquals(6L, c.get("timers_set"), c.toString());
        assertEquals(3L, c.get("timers_fired"), c.toString());
        assertEquals(1L, c.get("timers_cancelled"), c.toString());
        ch.close().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }

    @Test
    void aTimerFlushesHeldDataAnEndlessOnTimerIsKilledAndLimitsAndCloseAreKept() throws Exception {
        ProgramJars.Spec flusher = ProgramJars.program("test.Flusher",
            "long v = in.data().getLong(0);"
                + "if (v == -1) { ctx.cancelTimer(1000); ctx.setTimer(99, 0); return; }"
                + "if (v == -2) { for (int i = 0; i < 1025; i++) { ctx.setTimer(1000 + i, 3_000_000_000L); } return; }"
                + "if (v == -3) { ctx.setTimer(7, -1); return; }"
                + "if (v == -4) { ctx.setTimer(5000, 1_000_000); ctx.setTimer(5001, 1_000_000); return; }"
                + "held.add(in.copyData()); if (!armed) { ctx.setTimer(1, 5_000); armed = true; }",
            "final ArrayList<byte[]> held = new ArrayList<>(); boolean armed;"
                + "@Override public void onTimer(long timer, ProgramContext ctx) {"
                + " if (timer == 99) { long x = 0; while (x >= 0) { x += held.size() | 1; } }"
                + " for (byte[] d : held) { ctx.emit(FlowId.of(2), ByteBuffer.wrap(d)); } held.clear(); armed = false; }")
            .name("flusher");
        core.addProgram("flusher", upload(flusher));
        RecordingEvents events = new RecordingEvents();
        SessionPlan plan = flowPlan(13, "flusher", 50_000); // 1,025 setTimer calls take a few ms on a busy machine
        UnitChannel ch = core.open(plan, agg, events);
        RecordingAggregation.Channel out = agg.channel(plan.id());
        int n = 300; // past the sandbox's warm-up (32 entries with a larger budget)
        for (int i = 0; i < n; i++) {
            ch.deliver(i, datagram(i, 100), false);
            if (i % 50 == 49) {
                Thread.sleep(10);
            }
            if (i == n / 2 - 1) { // only a timer flushes: the second half needs a second one, however slow the machine
                await(() -> out.count() == n / 2, 30, n / 2 + " flushed results");
            }
        }
        await(() -> out.count() == n, 30, n + " flushed results");
        List<RecordingAggregation.Result> results = out.results();
        for (int i = 0; i < n; i++) {
            assertIntact(results.get(i).data(), i);
            assertEquals(2, results.get(i).flow());
            assertTrue(results.get(i).sequence() >= i, "a flush carries the last sequence processed");
        }
        Map<String, Long> c = ch.counters();
        assertTrue(c.get("timers_fired") >= 2, c.toString());
        assertEquals(c.get("timers_set"), c.get("timers_fired"), c.toString());

        // the 1,025th timer is the program's error (not a protocol error); 1,024 are set
        ch.deliver(n, datagram(-2, 16), false);
        await(() -> ch.counters().get("program_errors") == 1L, 30, "the 1,025th timer refused");
        assertEquals(1024L, ch.counters().get("timers"), ch.counters().toString());
        assertEquals(0L, ch.counters().get("program_killed"), ch.counters().toString());

        // an onTimer that never returns: killed over its budget, the sandbox restarts with the 1,023 timers still
        // set listed in its INIT, and timers go on working
        ch.deliver(n + 1, datagram(-1, 16), false);
        await(() -> ch.counters().get("sandbox_starts") == 2L && ch.counters().get("sandbox_state") == 1L, 60,
            "the sandbox killed and restarted");
        c = ch.counters();
        assertEquals(1L, c.get("program_killed"), c.toString());
        assertEquals(1L, c.get("program_over_budget"), c.toString());
        assertEquals(1023L, c.get("timers"), c.toString());
        assertTrue(events.faults().get(0).contains("CPU budget"), events.faults().toString());
        for (int i = n + 2; i < n + 12; i++) {
            ch.deliver(i, datagram(i, 100), false);
        }
        await(() -> out.count() == n + 10, 30, "flushes after the restart");
        for (int i = n; i < n + 10; i++) {
            assertIntact(out.results().get(i).data(), i + 2);
        }

        // the new sandbox counts the timers the unit kept: one more fits, the next is refused; a negative delay too
        ch.deliver(n + 20, datagram(-4, 16), false);
        ch.deliver(n + 21, datagram(-3, 16), false);
        await(() -> ch.counters().get("program_errors") == 4L, 30, "two more refusals");
        c = ch.counters();
        assertEquals(1024L, c.get("timers"), c.toString());
        assertEquals(0L, c.get("sandbox_protocol_errors"), c.toString());
        assertEquals(2L, c.get("sandbox_starts"), c.toString());
        long t0 = System.nanoTime();
        ch.close().toCompletableFuture().get(10, TimeUnit.SECONDS);
        assertTrue(System.nanoTime() - t0 < TimeUnit.SECONDS.toNanos(3), "timers do not keep the session open");
        c = ch.counters();
        assertEquals(1024L, c.get("timers_discarded"), c.toString());
        assertEquals(0L, core.counters().get("timers"));
    }
}
