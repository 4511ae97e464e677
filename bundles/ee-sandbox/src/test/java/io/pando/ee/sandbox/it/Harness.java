package io.pando.ee.sandbox.it;

import io.pando.ee.sandbox.testing.ProgramJars;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.pando.ee.sandbox.launch.Sandbox;
import io.pando.ee.sandbox.launch.SandboxLauncher;
import io.pando.ee.sandbox.launch.SandboxSpec;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.stream.Stream;

/** Starts a sandbox for a test program and connects it to a {@link TestUnit}. */
final class Harness {

    /** The runtime directory the build laid out (failsafe passes it). */
    static final Path RUNTIME = Path.of(System.getProperty("pando.sandbox.runtime", "target/runtime"))
        .toAbsolutePath();

    private Harness() {
    }

    /** A sandbox under test and the unit it talks to. */
    static final class Running implements AutoCloseable {
        final Path dir;
        final TestUnit unit;
        final Sandbox sandbox;
        final long launched;
        long readyNanos;

        Running(Path dir, TestUnit unit, Sandbox sandbox, long launched) {
            this.dir = dir;
            this.unit = unit;
            this.sandbox = sandbox;
            this.launched = launched;
        }

        /** Sends INIT and expects READY. @return READY's fields */
        TestUnit.Ready init(String program, long budgetMicros, Map<String, String> params,
            Map<String, byte[]> state) throws Exception {
            return init(program, budgetMicros, params, state, new long[] {0}, new long[0]);
        }

        /** Sends INIT with the session's flows and set timers and expects READY. @return READY's fields */
        TestUnit.Ready init(String program, long budgetMicros, Map<String, String> params,
            Map<String, byte[]> state, long[] flows, long[] timers) throws Exception {
            unit.send(TestUnit.init("42", program, budgetMicros, flows, params, state, timers));
            TestUnit.Frame f = unit.next(Duration.ofSeconds(30));
            if (f.type() != TestUnit.READY) {
                throw new AssertionError("expected READY, got " + TestUnit.describe(f) + "\n--- sandbox output:\n"
                    + output());
            }
            readyNanos = System.nanoTime() - launched;
            return TestUnit.Ready.parse(f);
        }

        /** @return the exit status, waiting up to {@code timeout} */
        int exit(Duration timeout) throws Exception {
            return sandbox.onExit().get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        }

        String output() {
            return sandbox.output();
        }

        /** Reads RESULTS frames until {@code n} results came; @return the frames' results, frame by frame */
        List<List<TestUnit.Result>> results(int n) throws Exception {
            List<List<TestUnit.Result>> frames = new ArrayList<>();
            int got = 0;
            while (got < n) {
                TestUnit.Frame f = unit.next(Duration.ofSeconds(20));
                if (f.type() != TestUnit.RESULTS) {
                    throw new AssertionError("expected RESULTS, got " + TestUnit.describe(f) + "\n--- output:\n"
                        + output());
                }
                List<TestUnit.Result> r = TestUnit.results(f);
                frames.add(r);
                got += r.size();
            }
            assertEquals(n, got, "results");
            return frames;
        }

        @Override
        public void close() throws IOException {
            try {
                sandbox.close();
            } finally {
                unit.close();
                try (Stream<Path> walk = Files.walk(dir)) {
                    walk.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
                }
            }
        }
    }

    /**
     * Builds the program, starts its sandbox (bubblewrap and cgroups off unless {@code tweak} says otherwise) and
     * waits for it to connect.
     */
    static Running start(ProgramJars.Spec program, Consumer<SandboxSpec.Builder> tweak) throws Exception {
        // searchable by others, as a unit's directories are: a sandbox started as root runs under uid 65534
        Path dir = Files.createTempDirectory(Path.of("/tmp"), "pe-it-",
            PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwxr-xr-x")));
        Path jar = ProgramJars.build(dir, program);
        TestUnit unit = new TestUnit(dir);
        SandboxSpec.Builder b = SandboxSpec.builder().runtime(RUNTIME).programJar(jar).program(program.programName)
            .socket(unit.socket()).bubblewrap(SandboxSpec.Bubblewrap.OFF).cgroups(false)
            .name("pando-ee-it-" + program.programName + "-" + System.nanoTime() % 1_000_000);
        tweak.accept(b);
        long launched = System.nanoTime();
        Sandbox sandbox;
        try {
            sandbox = SandboxLauncher.start(b.build());
        } catch (IOException | RuntimeException e) {
            unit.close();
            throw e;
        }
        Running r = new Running(dir, unit, sandbox, launched);
        try {
            unit.accept(Duration.ofSeconds(30));
        } catch (Exception e) {
            String out = sandbox.output();
            r.close();
            throw new AssertionError("the sandbox did not connect: " + e + "\n--- output:\n" + out, e);
        }
        return r;
    }

    static Running start(ProgramJars.Spec program) throws Exception {
        return start(program, b -> { });
    }
}
