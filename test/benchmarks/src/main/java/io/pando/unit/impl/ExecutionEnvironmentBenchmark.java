package io.pando.unit.impl;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.pando.link.UnitChannel;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * The cost per datagram of a program in a {@code process} execution environment (a sandbox: child JVM, batches
 * over a Unix socket, docs/ee.md) against the same program {@code in-process}, measured the same way as {@link
 * UnitPathBenchmark}: batches of {@value #BATCH} datagrams are delivered to a session of a {@link UnitCore} and the
 * benchmark waits until every result has reached a stub aggregation unit; the score is per datagram.
 *
 * <ul>
 * <li>{@code program=echo}: emits the datagram unchanged: the bare EE overhead. In-process, the very class of the
 * sandbox's bundle (built with {@code ProgramJars}) loaded from the same jar.</li>
 * <li>{@code program=aes-gcm-encrypt}: the real example of {@code ep-plugins/aes-gcm} (128-bit key, the datagram
 * grows by 28 bytes). In-process, {@code new AesGcmEncryptProgram()}; in a sandbox, its built bundle.</li>
 * </ul>
 * The session's isolation is set explicitly in its plan; CPU budget 1 s per datagram (never reached), the sandbox
 * gets 1.0 CPU (cgroup quota) and 128 MiB. The sandbox is started once per trial (not measured here: see
 * {@link SandboxStartBenchmark}) and warmed up by JMH's warm-up iterations like the rest.
 *
 * <p>At the end of each iteration the fork prints the CPU time per datagram of the router's JVM (the whole fork:
 * caller, unit loop) and of the sandbox's cgroup, and the program's own time as the unit counts it: a process
 * EE can hide its cost in wall time by running the program in parallel with the unit's loop on the other core.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Fork(value = 1, jvmArgsAppend = {"-Dio.netty.leakDetection.level=disabled"})
public class ExecutionEnvironmentBenchmark {

    static final int BATCH = 1024;

    @Param({"in-process", "process"})
    public String isolation;

    @Param({EeBench.ECHO, EeBench.AES})
    public String program;

    @Param({"64", "1400"})
    public int size;

    private Path work;
    private ByteBuf source;
    private UnitCore unit;
    private UnitChannel channel;
    private final EeBench.Results results = new EeBench.Results();
    private long sequence;
    private final com.sun.management.OperatingSystemMXBean os =
        (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
    private long iterationStartCount;
    private long iterationStartJvmCpu;
    private Map<String, Long> iterationStartCounters;

    @Setup(Level.Trial)
    public void setUp() throws IOException {
        work = Files.createTempDirectory("pando-ee-bench-");
        source = PooledByteBufAllocator.DEFAULT.directBuffer(size);
        for (int i = 0; i < size; i++) {
            source.writeByte(i);
        }
        unit = EeBench.unit(work, "auto");
        unit.addProgram(program, EeBench.program(program, work));
        channel = unit.open(EeBench.plan(1, program, isolation), results, EeBench.EVENTS);
        Map<String, Long> c = channel.counters();
        if (c.get("isolation_process") != ("process".equals(isolation) ? 1L : 0L)) {
            throw new IllegalStateException("the session does not run " + isolation + ": " + c);
        }
        if ("process".equals(isolation)) {
            EeBench.requireCgroup(c);
            System.out.println("sandbox: " + EeBench.confinement("auto") + "; started in " + c.get("sandbox_start_ms")
                + " ms; " + EeBench.SANDBOX_CPUS + " CPU, " + EeBench.SANDBOX_MEMORY_MB + " MiB, budget "
                + EeBench.BUDGET_MICROS + " µs");
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() throws Exception {
        Map<String, Long> c = channel.counters();
        channel.close().toCompletableFuture().get(30, TimeUnit.SECONDS);
        Thread.sleep(EeBench.REAP_MS);
        unit.stop();
        source.release();
        EeBench.deleteTree(work);
        if (c.get("program_errors") != 0 || c.getOrDefault("sandbox_starts", 1L) != 1) {
            throw new IllegalStateException("the program failed or its sandbox restarted: " + c);
        }
    }

    @Setup(Level.Iteration)
    public void iterationStart() {
        iterationStartCount = results.count();
        iterationStartJvmCpu = os.getProcessCpuTime();
        iterationStartCounters = channel.counters();
    }

    @TearDown(Level.Iteration)
    public void iterationEnd() {
        long n = results.count() - iterationStartCount;
        long jvm = os.getProcessCpuTime() - iterationStartJvmCpu;
        Map<String, Long> c = channel.counters();
        long sandbox = c.getOrDefault("sandbox_cgroup_cpu_ns", 0L)
            - iterationStartCounters.getOrDefault("sandbox_cgroup_cpu_ns", 0L);
        long prog = c.get("cpu_ns") - iterationStartCounters.get("cpu_ns");
        if (n > 0) {
            System.out.printf("  [cpu/dg] router JVM %.0f ns + sandbox cgroup %.0f ns = %.0f ns; program %.0f ns"
                + " (%d datagrams)%n", (double) jvm / n, (double) sandbox / n, (double) (jvm + sandbox) / n,
                (double) prog / n, n);
        }
    }

    @Benchmark
    @OperationsPerInvocation(BATCH)
    public void deliver() {
        long target = results.count() + BATCH;
        results.expect(target);
        for (int i = 0; i < BATCH; i++) {
            channel.deliver(sequence++, source.retainedDuplicate(), false);
        }
        results.await(target, () -> channel.counters().toString());
    }
}
