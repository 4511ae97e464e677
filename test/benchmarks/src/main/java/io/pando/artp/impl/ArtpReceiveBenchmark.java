package io.pando.artp.impl;

import io.netty.buffer.ByteBuf;
import io.pando.artp.wire.Wire;
import java.security.GeneralSecurityException;
import java.util.concurrent.TimeUnit;
import java.util.zip.CRC32C;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
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
 * Decode path: pre-encoded DATA packets (pooled direct buffers, as Netty hands them over) fed to an established
 * server connection: validation, integrity check, duplicate detection, flow control, reassembly (datagrams larger
 * than one packet: 8000 bytes in 6 fragments, 64000 bytes in 46), delivery to the handler (which releases the
 * datagram) and the acknowledgements the server generates. One operation is one whole datagram.
 *
 * <p>Packet numbers and datagram ids must be fresh or the engine drops the packets as duplicates, so every
 * invocation re-stamps {@value #BATCH} datagrams' worth of packets in place (untimed; allocation-free, so the
 * {@code gc.alloc.rate.norm} of {@code -prof gc} belongs to the engine).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Fork(value = 1, jvmArgsAppend = {"-Dio.netty.leakDetection.level=disabled"})
public class ArtpReceiveBenchmark {

    static final int BATCH = 64;

    @Param({"64", "512", "1400", "8000", "64000"})
    public int size;

    @Param({"crc32c", "hmac"})
    public String integrity;

    private BenchPair pair;
    private ByteBuf[] packets;
    private int count;
    private int fragmentSize;
    private long nextPn = 1;
    private long nextId;
    private byte[] scratch;
    private final byte[] tag = new byte[32];
    private final CRC32C crc = new CRC32C();
    private Mac mac;

    @Setup(Level.Trial)
    public void setUp() throws GeneralSecurityException {
        boolean keyed = "hmac".equals(integrity);
        pair = new BenchPair(keyed);
        if (keyed) {
            mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(Keys.traffic(BenchPair.KEY, pair.clientConn.clientNonce,
                pair.clientConn.serverNonce)[0], "HmacSHA256"));
        }
        int maxPayload = 1452 - Wire.dataOverhead(keyed);
        count = Math.max(1, (size + maxPayload - 1) / maxPayload);
        fragmentSize = (size + count - 1) / count;
        packets = new ByteBuf[BATCH * count];
        for (int i = 0; i < packets.length; i++) {
            ByteBuf p = pair.alloc.directBuffer(Wire.DATA_HEADER + fragmentSize + Wire.HMAC_TAG);
            p.writeZero(Wire.DATA_HEADER);
            for (int j = 0; j < fragmentSize; j++) {
                p.writeByte(i + j);
            }
            packets[i] = p;
        }
        scratch = new byte[Wire.DATA_HEADER + fragmentSize];
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        for (ByteBuf p : packets) {
            p.release();
        }
        pair.close();
    }

    /** Stamps fresh packet numbers and datagram ids into the batch and re-signs it (not timed). */
    @Setup(Level.Invocation)
    public void stamp() throws GeneralSecurityException {
        boolean keyed = mac != null;
        for (int d = 0; d < BATCH; d++) {
            long id = nextId++;
            for (int f = 0; f < count; f++) {
                ByteBuf p = packets[d * count + f];
                int len = f < count - 1 ? fragmentSize : size - (count - 1) * fragmentSize;
                p.setByte(Wire.OFF_VERSION, Wire.VERSION);
                p.setByte(Wire.OFF_TYPE, Wire.TYPE_DATA);
                p.setShort(Wire.OFF_FLAGS, keyed ? Wire.FLAG_KEYED : 0);
                p.setInt(Wire.OFF_DCID, pair.serverConn.localId);
                p.setLong(Wire.OFF_PN, nextPn++);
                p.setLong(Wire.OFF_DATAGRAM_ID, id);
                p.setInt(Wire.OFF_DATAGRAM_LENGTH, size);
                p.setShort(Wire.OFF_FRAGMENT_INDEX, f);
                p.setShort(Wire.OFF_FRAGMENT_COUNT, count);
                int body = Wire.DATA_HEADER + len;
                p.getBytes(0, scratch, 0, body);
                p.writerIndex(body);
                if (keyed) {
                    mac.update(scratch, 0, body);
                    mac.doFinal(tag, 0);
                    p.writeBytes(tag, 0, Wire.HMAC_TAG);
                } else {
                    crc.reset();
                    crc.update(scratch, 0, body);
                    p.writeInt((int) crc.getValue());
                }
            }
        }
    }

    @Benchmark
    @OperationsPerInvocation(BATCH)
    public long receive() {
        EndpointCore server = pair.server;
        long now = pair.now;
        for (int d = 0; d < BATCH; d++) {
            for (int f = 0; f < count; f++) {
                server.receive(packets[d * count + f], BenchPair.CLIENT, now);
            }
            server.flushAll();
            pair.runTasks();
        }
        return pair.serverApp.datagrams;
    }
}
