package io.pando.unit.impl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import io.netty.buffer.PooledByteBufAllocator;
import io.pando.api.program.ActiveProgram;
import io.pando.api.router.Execution;
import io.pando.api.session.SessionId;
import io.pando.api.unit.UnitId;
import io.pando.ee.sandbox.testing.ProgramJars;
import io.pando.link.SessionHandover;
import io.pando.link.SessionPlan;
import io.pando.link.UnitChannel;
import io.pando.unit.impl.RecordingAggregation.CreditMode;
import io.pando.unit.impl.RecordingAggregation.Result;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Migration of a session whose program runs in a sandbox process: the leaving unit's state is what the sandbox
 * sent back, and the arriving unit's sandbox gets it in its INIT before it processes what was held.
 */
class SandboxHandoverTest {

    private static final long MIB = 1 << 20;
    private static final SessionId SESSION = new SessionId(77);

    @TempDir
    Path dir;

    private final List<UnitCore> cores = new ArrayList<>();
    private final List<RecordingAggregation> aggregations = new ArrayList<>();

    @AfterEach
    void stop() throws InterruptedException {
        for (UnitCore c : cores) {
            c.stop();
        }
        for (RecordingAggregation a : aggregations) {
            a.shutdown();
        }
    }

    private static final ProgramJars.Spec COUNTER = ProgramJars.program("test.Counter",
        "long n = ctx.state(\"n\").map(b -> java.nio.ByteBuffer.wrap(b).getLong()).orElse(0L) + 1;"
            + "ctx.putState(\"n\", java.nio.ByteBuffer.allocate(8).putLong(n).array());"
            + "java.nio.ByteBuffer d = in.data();"
            + "ctx.emit(in.flow(), java.nio.ByteBuffer.allocate(16).putLong(d.getLong(d.position())).putLong(n).flip());",
        "").name("counter");

    private UnitCore unit(String id) throws IOException {
        Path runtime = Path.of(System.getProperty("pando.sandbox.runtime", "../ee-sandbox/target/runtime"));
        LaunchedSandboxes processes = LaunchedSandboxes.create(runtime, "auto");
        assertEquals(null, processes.unavailable(), "the sandbox runtime is built before this module");
        UnitCore c = new UnitCore(UnitId.of(id), 64 * MIB, MIB, "fifo", PooledByteBufAllocator.DEFAULT,
            new SandboxHost(processes, dir.resolve("jars-" + id), id), null);
        cores.add(c);
        c.addScheduler("fifo", UnitCoreTest.fifo());
        Path jar = ProgramJars.build(Files.createDirectories(dir.resolve("program-" + id)), COUNTER);
        c.addProgram("counter", new ProgramFactory() {
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
        });
        return c;
    }

    private RecordingAggregation aggregation() {
        RecordingAggregation a = new RecordingAggregation(CreditMode.IMMEDIATE);
        aggregations.add(a);
        return a;
    }

    private static SessionPlan plan(String unit) {
        return new SessionPlan(SESSION, "sandboxed", "counter", Map.of(), new InetSocketAddress("127.0.0.1", 9),
            List.of(UnitId.of(unit)), 16 * MIB, Optional.empty(), new Execution(Optional.empty(), 20_000, 128, 1.0));
    }

    private static void await(BooleanSupplier condition, String what) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                fail("timed out waiting for " + what);
            }
            Thread.sleep(5);
        }
    }

    @Test
    void theSandboxesStateMovesAndTheCountGoesOnWithoutAGapOrARepeat() throws Exception {
        UnitCore u1 = unit("u1");
        UnitCore u2 = unit("u2");
        RecordingAggregation a1 = aggregation();
        RecordingAggregation a2 = aggregation();
        UnitChannel out = u1.open(plan("u1"), a1, new RecordingEvents()); // returns once the sandbox said READY
        int half = 500;
        for (int i = 0; i < half; i++) {
            out.deliver(i, UnitCoreTest.datagram(i, 64), false);
        }
        UnitChannel in = u2.openForHandover(plan("u2"), a2, new RecordingEvents());
        for (int i = half; i < 2 * half; i++) {
            in.deliver(i, UnitCoreTest.datagram(i, 64), false);
        }
        SessionHandover h = out.handOver().toCompletableFuture().get(30, TimeUnit.SECONDS);
        assertEquals(half, ByteBuffer.wrap(h.state().get("n")).getLong(), "the state the sandbox sent back");
        long t0 = System.nanoTime();
        in.takeOver(h);
        await(() -> a2.channel(SESSION).count() == half, "u2's sandbox processing what it held");
        System.out.printf("[sandbox] hand-over to a new sandbox: %d ms until its %d held datagrams were processed%n",
            (System.nanoTime() - t0) / 1_000_000, half);
        out.close().toCompletableFuture().get(10, TimeUnit.SECONDS);
        List<Result> all = new ArrayList<>(a1.channel(SESSION).results());
        all.addAll(a2.channel(SESSION).results());
        assertEquals(2 * half, all.size());
        for (int i = 0; i < all.size(); i++) {
            assertEquals(i, all.get(i).sequence());
            assertEquals(i + 1, ByteBuffer.wrap(all.get(i).data()).getLong(8), "count of datagram " + i);
        }
        Map<String, Long> c2 = in.counters();
        assertEquals(1L, c2.get("isolation_process"), c2.toString());
        assertEquals(9L, c2.get("state_bytes"), c2.toString());
        in.close().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }
}
