package io.pando.unit.impl;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.pando.api.program.ActiveProgram;
import io.pando.api.router.Execution;
import io.pando.api.router.Isolation;
import io.pando.api.session.SessionId;
import io.pando.api.unit.UnitId;
import io.pando.ee.sandbox.testing.ProgramJars;
import io.pando.ep.aesgcm.impl.AesGcmEncryptProgram;
import io.pando.link.AggregationChannel;
import io.pando.link.AggregationPort;
import io.pando.link.Credit;
import io.pando.link.SessionEvents;
import io.pando.link.SessionPlan;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.URISyntaxException;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Supplier;
import java.util.stream.Stream;

/**
 * What the execution-environment benchmarks share: where the sandbox runtime and the AES-GCM bundle are, the
 * programs (the same program for both isolations), session plans, and an aggregation stub that counts results and
 * wakes the benchmark thread.
 *
 * <p>Locations: the system properties {@value #RUNTIME_PROPERTY} and {@value #AES_JAR_PROPERTY} if set (JMH gives
 * the {@code -D} options of the {@code java -jar benchmarks.jar} command to its forks), else derived from where
 * this class was loaded: {@code test/benchmarks/target/benchmarks.jar} (or {@code target/classes}) is four levels
 * below the repository root, which holds {@code bundles/ee-sandbox/target/runtime} and
 * {@code ep-plugins/aes-gcm/target/pando-ep-aes-gcm-*.jar}.
 */
final class EeBench {

    static final String RUNTIME_PROPERTY = "pando.sandbox.runtime";
    static final String AES_JAR_PROPERTY = "pando.bench.aes-gcm.jar";
    static final String ECHO = "echo";
    static final String AES = AesGcmEncryptProgram.NAME;
    /** A 128-bit AES key, hex (the program's parameter {@code key}). */
    static final String AES_KEY = "000102030405060708090a0b0c0d0e0f";
    /**
     * The unit, named after this JVM: a sandbox's cgroup is named after unit, session and incarnation, and a group
     * left behind by an earlier run with the same name would make the sandbox start without any cgroup.
     */
    static final UnitId UNIT = UnitId.of("bench" + ProcessHandle.current().pid());
    /**
     * How long a closed session's sandbox may take to be reaped: {@code SandboxRunner.close} kills it and removes
     * its cgroup 2 s after the session closed, on the unit's loop; a unit stopped earlier leaves the group behind.
     */
    static final long REAP_MS = 2_500;
    /** The CPU budget per datagram: large enough never to matter here. */
    static final long BUDGET_MICROS = 1_000_000;
    /** The sandbox's CPU share (the machine has 2 cores; the unit's loop and the caller need the other). */
    static final double SANDBOX_CPUS = 1.0;
    static final int SANDBOX_MEMORY_MB = Execution.DEFAULT_MEMORY_MB;

    /** The echo program, compiled into a bundle for the sandbox and loaded from the same jar for in-process runs. */
    static final ProgramJars.Spec ECHO_SPEC = ProgramJars.program("bench.Echo",
        "if (!in.isControl()) { ctx.emit(in.flow(), in.data()); }", "").symbolicName("bench.echo").name(ECHO);

    private EeBench() {
    }

    private static Path repositoryRoot() {
        try {
            Path here = Path.of(EeBench.class.getProtectionDomain().getCodeSource().getLocation().toURI());
            // <root>/test/benchmarks/target/benchmarks.jar or <root>/test/benchmarks/target/classes
            return here.toAbsolutePath().getParent().getParent().getParent().getParent();
        } catch (URISyntaxException | RuntimeException e) {
            throw new IllegalStateException("cannot tell where the benchmarks were loaded from; set -D"
                + RUNTIME_PROPERTY + " and -D" + AES_JAR_PROPERTY, e);
        }
    }

    /** @return the sandbox runtime directory; fails with what to do if it is not there */
    static Path sandboxRuntime() {
        String p = System.getProperty(RUNTIME_PROPERTY);
        Path dir = p != null ? Path.of(p) : repositoryRoot().resolve("bundles/ee-sandbox/target/runtime");
        if (!Files.isRegularFile(dir.resolve("sandbox.jar")) || !Files.isRegularFile(dir.resolve("felix.jar"))
            || !Files.isDirectory(dir.resolve("bundles"))) {
            throw new IllegalStateException("no sandbox runtime in " + dir.toAbsolutePath()
                + " (sandbox.jar, felix.jar, bundles/): build it first with `./mvnw -o install -DskipTests -pl "
                + "test/benchmarks -am` (bundles/ee-sandbox lays it out in target/runtime), or point -D"
                + RUNTIME_PROPERTY + "=DIR at one");
        }
        return dir.toAbsolutePath();
    }

    /** @return the built AES-GCM program bundle; fails with what to do if it is not there */
    static Path aesGcmJar() {
        String p = System.getProperty(AES_JAR_PROPERTY);
        if (p != null) {
            Path jar = Path.of(p);
            if (!Files.isRegularFile(jar)) {
                throw new IllegalStateException("-D" + AES_JAR_PROPERTY + "=" + p + ": no such file");
            }
            return jar;
        }
        Path target = repositoryRoot().resolve("ep-plugins/aes-gcm/target");
        try (Stream<Path> files = Files.list(target)) {
            return files.filter(f -> {
                String n = f.getFileName().toString();
                return n.startsWith("pando-ep-aes-gcm-") && n.endsWith(".jar") && !n.endsWith("-sources.jar")
                    && !n.endsWith("-tests.jar") && !n.endsWith("-javadoc.jar");
            }).max(Comparator.naturalOrder()).orElseThrow(() -> new IOException("no pando-ep-aes-gcm-*.jar"));
        } catch (IOException e) {
            throw new IllegalStateException("no AES-GCM program bundle in " + target + " (" + e.getMessage()
                + "): build it with `./mvnw -o install -DskipTests -pl test/benchmarks -am`, or set -D"
                + AES_JAR_PROPERTY + "=JAR", e);
        }
    }

    /**
     * One program for both isolations: {@link ProgramFactory#get()} for an in-process session, {@link
     * ProgramFactory#jar} for a sandbox. The plan chooses the isolation explicitly.
     *
     * @param work a directory for the echo bundle
     */
    static ProgramFactory program(String name, Path work) throws IOException {
        Path jar;
        Supplier<ActiveProgram> instances;
        switch (name) {
            case ECHO -> {
                jar = ProgramJars.build(Files.createDirectories(work.resolve("echo")), ECHO_SPEC);
                // the very class the sandbox runs, loaded in this JVM from the same jar
                @SuppressWarnings("resource") // lives as long as the benchmark's JVM
                URLClassLoader l = new URLClassLoader(new URL[] {jar.toUri().toURL()},
                    ActiveProgram.class.getClassLoader());
                instances = () -> {
                    try {
                        return (ActiveProgram) l.loadClass(ECHO_SPEC.className).getConstructor().newInstance();
                    } catch (ReflectiveOperationException e) {
                        throw new IllegalStateException(e);
                    }
                };
            }
            case AES -> {
                jar = aesGcmJar();
                instances = AesGcmEncryptProgram::new;
            }
            default -> throw new IllegalArgumentException("unknown program " + name);
        }
        return new ProgramFactory() {
            @Override
            public ActiveProgram get() {
                return instances.get();
            }

            @Override
            public void unget(ActiveProgram program) {
            }

            @Override
            public boolean trusted() {
                return false;
            }

            @Override
            public Path jar(Path dir) {
                return jar;
            }
        };
    }

    /** @return the parameters the program needs */
    static Map<String, String> parameters(String program) {
        return AES.equals(program) ? Map.of("key", AES_KEY) : Map.of();
    }

    static SessionPlan plan(long id, String program, String isolation) {
        return new SessionPlan(new SessionId(id), "ee-bench-" + id, program, parameters(program),
            new InetSocketAddress("127.0.0.1", 9), List.of(UNIT), 64L << 20, Optional.empty(),
            new Execution(Optional.of(Isolation.of(isolation)), BUDGET_MICROS, SANDBOX_MEMORY_MB, SANDBOX_CPUS));
    }

    /** A unit whose sandboxes are started by the real launcher (bubblewrap {@code auto}, {@code on} or {@code off}). */
    static UnitCore unit(Path work, String bubblewrap) throws IOException {
        LaunchedSandboxes processes = LaunchedSandboxes.create(sandboxRuntime(), bubblewrap);
        String why = processes.unavailable();
        if (why != null) {
            throw new IllegalStateException("sandboxes cannot run here: " + why);
        }
        return new UnitCore(UNIT, 256L << 20, 1 << 20, "drr", PooledByteBufAllocator.DEFAULT,
            new SandboxHost(processes, work.resolve("jars"), UNIT.value()), null);
    }

    /** Fails unless the session's sandbox runs in its own cgroup (it spent CPU time there starting). */
    static void requireCgroup(Map<String, Long> counters) {
        if (counters.getOrDefault("sandbox_cgroup_cpu_ns", 0L) <= 0) {
            throw new IllegalStateException("the sandbox runs without a cgroup (no CPU share): " + counters);
        }
    }

    static String confinement(String bubblewrap) {
        return LaunchedSandboxes.create(sandboxRuntime(), bubblewrap).confinement();
    }

    static final SessionEvents EVENTS = new SessionEvents() {
        @Override
        public void congestion(UnitId u, boolean congested) {
        }

        @Override
        public void control(UnitId from, ByteBuf data) {
            data.release();
        }

        @Override
        public void programFault(UnitId u, String line) {
            System.out.println("PROGRAM FAULT: " + line);
        }
    };

    static void deleteTree(Path d) {
        try (Stream<Path> walk = Files.walk(d)) {
            walk.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * The aggregation unit's part: takes each result, releases it, returns the credit at once, counts it, and wakes
     * the benchmark thread when the count it waits for is reached (it parks instead of spinning: on 2 cores a
     * spinning caller would take the CPU the unit's loop or the sandbox needs).
     */
    static final class Results implements AggregationPort {
        private final AtomicLong count = new AtomicLong();
        private volatile long target = Long.MAX_VALUE;
        private volatile Thread waiter;

        long count() {
            return count.get();
        }

        /** Announces the count {@link #await} will wait for (before the datagrams are sent: no early wake-ups). */
        void expect(long n) {
            waiter = Thread.currentThread();
            target = n;
        }

        /** Waits until {@code n} results have arrived in all; {@code what} explains a timeout. */
        void await(long n, Supplier<String> what) {
            expect(n);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (count.get() < n) {
                LockSupport.parkNanos(this, 10_000_000);
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("timed out: " + count.get() + " of " + n + " results; "
                        + what.get());
                }
            }
        }

        @Override
        public String strategy() {
            return "stub";
        }

        @Override
        public void selectStrategy(String name) {
        }

        @Override
        public CompletionStage<Void> open(SessionPlan plan) {
            return CompletableFuture.completedFuture(null);
        }

        @Override
        public AggregationChannel attach(SessionId session, UnitId u, Credit credit) {
            return (seq, flow, data) -> {
                int n = data.readableBytes();
                data.release();
                credit.release(n);
                if (count.incrementAndGet() >= target) {
                    Thread w = waiter;
                    if (w != null) {
                        LockSupport.unpark(w);
                    }
                }
            };
        }

        @Override
        public CompletionStage<Map<String, Long>> close(SessionId session) {
            return CompletableFuture.completedFuture(Map.of());
        }

        @Override
        public Map<String, Long> counters(SessionId session) {
            return Map.of();
        }

        @Override
        public Map<String, Long> reorder(SessionId session) {
            return Map.of();
        }

        @Override
        public Map<String, Long> counters() {
            return Map.of();
        }
    }
}
