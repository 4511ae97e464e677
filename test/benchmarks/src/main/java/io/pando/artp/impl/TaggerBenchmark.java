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

/**
 * Integrity cost on a 1400-byte packet body: {@link Tagger} CRC32C versus HMAC-SHA-256-128, computing the tag
 * ({@code sign}) and checking it ({@code verify}), on a heap and on a pooled direct buffer.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Fork(value = 1, jvmArgsAppend = {"-Dio.netty.leakDetection.level=disabled"})
public class TaggerBenchmark {

    static final int BODY = 1400;

    @Param({"direct", "heap"})
    public String buffer;

    private final Tagger crc = Tagger.crc32c();
    private final Tagger hmac = Tagger.hmac(BenchPair.KEY);
    private ByteBuf crcPacket;
    private ByteBuf hmacPacket;
    private ByteBuf scratch;

    private ByteBuf body() {
        ByteBuf b = "heap".equals(buffer) ? PooledByteBufAllocator.DEFAULT.heapBuffer(BODY + 16)
            : PooledByteBufAllocator.DEFAULT.directBuffer(BODY + 16);
        for (int i = 0; i < BODY; i++) {
            b.writeByte(i * 31);
        }
        return b;
    }

    @Setup(Level.Trial)
    public void setUp() {
        crcPacket = body();
        crc.sign(crcPacket);
        hmacPacket = body();
        hmac.sign(hmacPacket);
        scratch = body();
        if (!crc.verify(crcPacket) || !hmac.verify(hmacPacket)) {
            throw new IllegalStateException("tags do not verify");
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        crcPacket.release();
        hmacPacket.release();
        scratch.release();
    }

    @Benchmark
    public boolean crc32cVerify() {
        return crc.verify(crcPacket);
    }

    @Benchmark
    public boolean hmacVerify() {
        return hmac.verify(hmacPacket);
    }

    @Benchmark
    public int crc32cSign() {
        scratch.writerIndex(BODY);
        crc.sign(scratch);
        return scratch.writerIndex();
    }

    @Benchmark
    public int hmacSign() {
        scratch.writerIndex(BODY);
        hmac.sign(scratch);
        return scratch.writerIndex();
    }
}
