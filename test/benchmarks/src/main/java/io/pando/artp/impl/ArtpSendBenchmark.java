package io.pando.artp.impl;

import io.netty.buffer.ByteBuf;
import io.pando.artp.wire.Wire;
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
 * Encode path: one application datagram through an established client {@link Connection} into a capturing host
 * (queueing, fragmentation, header, CRC32C or HMAC-SHA-256-128 tag, sent-packet bookkeeping, congestion control),
 * per operation. To keep the congestion window and the credit open the peer's ACK is fed to the client every
 * {@value #ACK_EVERY} datagrams, so about 1/{@value #ACK_EVERY} of an ACK's processing (and of signing it here)
 * is part of each operation, as it would be on a real sender.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Fork(value = 1, jvmArgsAppend = {"-Dio.netty.leakDetection.level=disabled"})
public class ArtpSendBenchmark {

    static final int ACK_EVERY = 32;

    @Param({"64", "512", "1400", "8000"})
    public int size;

    @Param({"crc32c", "hmac"})
    public String integrity;

    private BenchPair pair;
    private ByteBuf payload;
    private ByteBuf ack;
    private long ackPn;
    private long acked;
    private long datagrams;
    private int sinceAck;

    @Setup(Level.Trial)
    public void setUp() {
        pair = new BenchPair("hmac".equals(integrity));
        payload = pair.alloc.directBuffer(size);
        for (int i = 0; i < size; i++) {
            payload.writeByte(i * 7);
        }
        ack = pair.alloc.directBuffer(128);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        pair.close();
        payload.release();
        ack.release();
    }

    @Benchmark
    public long send() {
        pair.now += 1_000;
        pair.clientConn.send(payload.retainedDuplicate());
        datagrams++;
        pair.runTasks();
        if (++sinceAck == ACK_EVERY) {
            sinceAck = 0;
            acknowledge();
        }
        return pair.clientHost.bytes;
    }

    /** The server's ACK of every packet the client sent since the last one. */
    private void acknowledge() {
        long largest = pair.clientHost.largestPn;
        if (largest <= acked) {
            return;
        }
        ack.clear();
        ack.writeByte(Wire.VERSION).writeByte(Wire.TYPE_ACK).writeShort(pair.keyed ? Wire.FLAG_KEYED : 0)
            .writeInt(pair.clientConn.localId).writeLong(++ackPn);
        ack.writeLong(largest).writeInt(10).writeLong(datagrams).writeLong(datagrams + 65536).writeByte(0)
            .writeInt((int) (largest - acked - 1));
        pair.s2c.sign(ack);
        pair.client.receive(ack, BenchPair.SERVER, pair.now);
        pair.client.flushAll();
        pair.runTasks();
        acked = largest;
    }
}
