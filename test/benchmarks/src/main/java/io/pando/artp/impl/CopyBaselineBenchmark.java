package io.pando.artp.impl;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.infra.Blackhole;

/**
 * The floor the ARTP paths are compared against: allocate a pooled direct buffer, copy the datagram's bytes into
 * it, release it. Every datagram costs at least this much on its way through any transport.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Fork(value = 1, jvmArgsAppend = {"-Dio.netty.leakDetection.level=disabled"})
public class CopyBaselineBenchmark {

    @Param({"64", "512", "1400", "8000", "64000"})
    public int size;

    private ByteBuf source;

    @Setup(Level.Trial)
    public void setUp() {
        source = PooledByteBufAllocator.DEFAULT.directBuffer(size);
        for (int i = 0; i < size; i++) {
            source.writeByte(i);
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        source.release();
    }

    @Benchmark
    public void copyIntoPooledBuffer(Blackhole bh) {
        ByteBuf b = PooledByteBufAllocator.DEFAULT.directBuffer(size);
        b.writeBytes(source, source.readerIndex(), size);
        bh.consume(b);
        b.release();
    }
}
