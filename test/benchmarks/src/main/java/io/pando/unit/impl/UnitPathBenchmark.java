package io.pando.unit.impl;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.channel.EventLoop;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.EpollIoHandler;
import io.pando.api.session.SessionId;
import io.pando.api.unit.UnitId;
import io.pando.link.AggregationChannel;
import io.pando.link.AggregationPort;
import io.pando.link.Credit;
import io.pando.link.SessionEvents;
import io.pando.link.SessionPlan;
import io.pando.link.UnitChannel;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
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
 * A parallel AR unit's datagram path, measured against the bare hand-over it is built on, in the same run.
 *
 * <ul>
 * <li>{@code unit}: {@link UnitChannel#deliver} of a datagram to a unit running the built-in {@code passthrough}
 * program (results leave in arrival order); the result reaches an aggregation stub that releases it and returns the credit.
 * Covers the buffer-pool accounting, the thread hop, the program call with its context, the copy of the result,
 * the scheduler and the credit.</li>
 * <li>{@code handOverBaseline}: the same thread hop on the same kind of event loop, and one copy of the datagram
 * into a pooled buffer there: the least any unit must do.</li>
 * </ul>
 * Both send batches of 256 datagrams and wait until the last one is done; the score is per datagram.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Fork(value = 1, jvmArgsAppend = {"-Dio.netty.leakDetection.level=disabled"})
public class UnitPathBenchmark {

    private static final int BATCH = 256;

    @Param({"64", "1400"})
    public int size;

    private ByteBuf source;
    private UnitCore unit;
    private UnitChannel channel;
    private final AtomicLong results = new AtomicLong();
    private MultiThreadIoEventLoopGroup group;
    private EventLoop loop;
    private final AtomicLong copied = new AtomicLong();
    private long sequence;

    @Setup(Level.Trial)
    public void setUp() {
        source = PooledByteBufAllocator.DEFAULT.directBuffer(size);
        for (int i = 0; i < size; i++) {
            source.writeByte(i);
        }
        unit = BenchUnits.passthroughCore("bench", 256L << 20);
        SessionPlan plan = new SessionPlan(new SessionId(1), "bench", "passthrough", Map.of(),
            new InetSocketAddress("127.0.0.1", 9), List.of(UnitId.of("bench")), 64L << 20, Optional.empty());
        channel = unit.open(plan, new Stub(), new SessionEvents() {
            @Override
            public void congestion(UnitId u, boolean congested) {
            }

            @Override
            public void control(UnitId from, ByteBuf data) {
                data.release();
            }
        });
        group = new MultiThreadIoEventLoopGroup(1, EpollIoHandler.newFactory());
        loop = group.next();
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        channel.close().toCompletableFuture().join();
        unit.stop();
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
        source.release();
    }

    @Benchmark
    @OperationsPerInvocation(BATCH)
    public void unit() {
        long target = results.get() + BATCH;
        for (int i = 0; i < BATCH; i++) {
            channel.deliver(sequence++, source.retainedDuplicate(), false);
        }
        while (results.get() < target) {
            Thread.onSpinWait();
        }
    }

    @Benchmark
    @OperationsPerInvocation(BATCH)
    public void handOverBaseline() {
        long target = copied.get() + BATCH;
        for (int i = 0; i < BATCH; i++) {
            ByteBuf d = source.retainedDuplicate();
            loop.execute(() -> {
                ByteBuf copy = PooledByteBufAllocator.DEFAULT.directBuffer(size);
                copy.writeBytes(d, d.readerIndex(), d.readableBytes());
                d.release();
                copy.release();
                copied.incrementAndGet();
            });
        }
        while (copied.get() < target) {
            Thread.onSpinWait();
        }
    }

    /** The aggregation unit's part: take the result, release it, return the credit at once. */
    private final class Stub implements AggregationPort {
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
                results.incrementAndGet();
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
