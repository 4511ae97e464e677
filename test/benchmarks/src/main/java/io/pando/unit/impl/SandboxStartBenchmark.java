package io.pando.unit.impl;

import io.pando.link.UnitChannel;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The start of a sandbox, as a session sees it: {@link UnitCore#open} of a {@code process} session returns once
 * its sandbox said READY. One operation = launch (socket, cgroup, bubblewrap or not, child JVM, embedded Felix
 * with SCR, the program bundle, INIT, the program's validate) → READY. Every invocation is a new session with a
 * new sandbox; the previous one is shut down, has exited and is reaped before the next starts. After each start the fork
 * prints the unit's own counter {@code sandbox_start_ms} (launch → READY, measured on the unit's loop).
 *
 * <p>The sandbox starts with 1.0 CPU (the unit's start-up share, {@code LaunchedSandboxes.START_CPUS}) whatever
 * the session's share.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 1)
@Measurement(iterations = 5)
@Fork(value = 1, jvmArgsAppend = {"-Dio.netty.leakDetection.level=disabled"})
public class SandboxStartBenchmark {

    /** {@code on}: bubblewrap required; {@code off}: the child JVM in its cgroup only. */
    @Param({"on", "off"})
    public String bubblewrap;

    @Param({EeBench.ECHO, EeBench.AES})
    public String program;

    private Path work;
    private UnitCore unit;
    private final EeBench.Results results = new EeBench.Results();
    private long session;
    private UnitChannel channel;

    @Setup(Level.Trial)
    public void setUp() throws IOException {
        work = Files.createTempDirectory("pando-ee-start-");
        unit = EeBench.unit(work, bubblewrap);
        unit.addProgram(program, EeBench.program(program, work));
        System.out.println("sandbox: " + EeBench.confinement(bubblewrap));
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        unit.stop();
        EeBench.deleteTree(work);
    }

    @Benchmark
    public UnitChannel open() {
        channel = unit.open(EeBench.plan(++session, program, "process"), results, EeBench.EVENTS);
        return channel;
    }

    @TearDown(Level.Invocation)
    public void closeSession() throws Exception {
        UnitChannel ch = channel;
        channel = null;
        Map<String, Long> c = ch.counters();
        EeBench.requireCgroup(c);
        System.out.println("  [start] sandbox_start_ms " + c.get("sandbox_start_ms") + " (pid " + c.get("sandbox_pid")
            + ")");
        ch.close().toCompletableFuture().get(30, TimeUnit.SECONDS);
        long pid = c.get("sandbox_pid");
        if (pid > 0) { // the next start must not share the CPU with this one's exit
            ProcessHandle.of(pid).ifPresent(h -> h.onExit().orTimeout(10, TimeUnit.SECONDS).join());
        }
        Thread.sleep(EeBench.REAP_MS); // and its cgroup is removed before the unit may stop
    }
}
