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
}
