package io.pando.distribution.impl;

import io.pando.api.session.SessionId;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Session setup and close through the router's real in-JVM path ({@link BenchRouter}): the distribution unit
 * ({@code RouterService.createSession} / {@code closeSession}), in-process units running {@code passthrough}, the
 * aggregation unit, real ARTP sockets on loopback and a destination endpoint in this JVM.
 *
 * <ul>
 * <li>{@code create}: {@value #BATCH} sessions created one after the other (the admin path is serialised, as a
 * node's is); they stay open until the iteration ends and are closed untimed.</li>
 * <li>{@code close}: {@value #BATCH} sessions created untimed before the iteration, closed one after the other.</li>
 * </ul>
 * {@code idle} sessions are open on the node the whole trial and carry no traffic: what the node pays for
 * sessions it already has (lookups, timers, keep-alives) shows as the difference between the two values.
 * The score is the time per session (µs); 1e6 / score is the rate per second.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3)
@Measurement(iterations = 5)
@Fork(value = 1, jvmArgsAppend = {"-Dio.netty.leakDetection.level=disabled", "-Xmx2g",
    "-Djava.util.logging.config.file=/dev/null"})
public class SessionSetupBenchmark {

    static final int BATCH = 2000;

    /** Sessions open and idle on the node during the whole trial. */
    @Param({"0", "20000"})
    public int idle;

    /** Units on the node; every session uses all of them. */
    @Param({"1"})
    public int units;

    BenchRouter.Destination destination;
    BenchRouter router;

    @Setup(Level.Trial)
    public void setUp() {
        destination = new BenchRouter.Destination();
        router = new BenchRouter(units, destination.address());
        for (int i = 0; i < idle; i++) {
            router.create();
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        router.close();
        destination.close();
    }

    /** The sessions one {@code create} iteration made, closed after it. */
    @State(Scope.Thread)
    public static class Created {
        final List<SessionId> ids = new ArrayList<>(BATCH);

        @TearDown(Level.Iteration)
        public void closeAll(SessionSetupBenchmark bench) {
            for (SessionId id : ids) {
                bench.router.close(id);
            }
            ids.clear();
        }
    }

    /** The sessions one {@code close} iteration closes, made before it. */
    @State(Scope.Thread)
    public static class Open {
        final List<SessionId> ids = new ArrayList<>(BATCH);

        @Setup(Level.Iteration)
        public void createAll(SessionSetupBenchmark bench) {
            for (int i = 0; i < BATCH; i++) {
                ids.add(bench.router.create());
            }
        }
    }

    @Benchmark
    @OperationsPerInvocation(BATCH)
    public void create(Created created) {
        for (int i = 0; i < BATCH; i++) {
            created.ids.add(router.create());
        }
    }

    @Benchmark
    @OperationsPerInvocation(BATCH)
    public void close(Open open) {
        for (SessionId id : open.ids) {
            router.close(id);
        }
        open.ids.clear();
    }
}
