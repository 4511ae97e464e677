package io.pando.ee.sandbox;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import io.pando.ee.sandbox.launch.RingFile;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * RESULTS frames as the worker builds them: ops written straight into the frame, an error placed before them, a
 * result larger than the frame buffer, and the frame's CPU time shared by wall time; with the rings, frames built
 * in place in the ring, moved out of it when a result outgrows its room, and spilled to the socket.
 */
class ResultsWriterTest {

    @TempDir
    Path dir;

    @Test
    void resultsCarryOpsErrorsAndTheFramesCpuByWallTime() throws Exception {
        Path sock = dir.resolve("r.sock");
        try (ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            server.bind(UnixDomainSocketAddress.of(sock));
            SocketChannel client = SocketChannel.open(UnixDomainSocketAddress.of(sock));
            try (SocketChannel unit = server.accept(); FrameChannel channel = new FrameChannel(client)) {
                AtomicLong cpu = new AtomicLong(1_000);
                ResultsWriter w = new ResultsWriter(channel, cpu::get, null);
                SessionContext s = new SessionContext(1, new long[] {0, 5}, Map.of(), new LinkedHashMap<>(),
                    new long[0]);
                Thread me = Thread.currentThread();
                byte[] big = new byte[400 << 10]; // more than the frame buffer: it grows, the first result is kept
                big[big.length - 1] = 42;

                w.batchStarted();
                w.begin(s, me);
                s.emit(5, ByteBuffer.wrap(new byte[] {1, 2, 3}));
                s.end();
                assertFalse(w.end(10, 100, null, s));
                w.begin(s, me);
                s.emit(0, ByteBuffer.wrap(new byte[] {7}));
                s.end();
                byte[] error = "boom".getBytes(StandardCharsets.UTF_8);
                assertFalse(w.end(11, 300, error, s));
                cpu.set(1_400); // 400 ns for the frame: 100 and 300 by wall time
                w.flush();

                ByteBuffer f = frame(unit);
                assertEquals(Protocol.RESULTS, f.get() & 0xFF);
                assertEquals(2, f.getInt());
                assertEquals(10, f.getLong());
                assertEquals(Protocol.STATUS_OK, f.get());
                assertEquals(100, f.getLong(), "cpu ns");
                assertEquals(1, f.getShort());
                assertEquals(Protocol.OP_EMIT, f.get());
                assertEquals(5, f.getInt());
                assertEquals(3, f.getInt());
                assertEquals(1, f.get());
                assertEquals(2, f.get());
                assertEquals(3, f.get());
                assertEquals(11, f.getLong());
                assertEquals(Protocol.STATUS_THREW, f.get());
                assertEquals(300, f.getLong());
                assertEquals(4, f.getShort());
                byte[] e = new byte[4];
                f.get(e);
                assertEquals("boom", new String(e, StandardCharsets.UTF_8));
                assertEquals(1, f.getShort(), "the op recorded before the program threw");
                assertEquals(Protocol.OP_EMIT, f.get());
                assertEquals(0, f.getInt());
                assertEquals(1, f.getInt());
                assertEquals(7, f.get());
                assertFalse(f.hasRemaining());

                w.batchStarted();
                w.begin(s, me);
                s.emit(0, ByteBuffer.wrap(big));
                s.end();
                cpu.set(2_000);
                CompletableFuture<ByteBuffer> second = CompletableFuture.supplyAsync(() -> frame(unit)); // > a socket buffer
                assertTrue(w.end(12, 50, null, s), "past the flush size: sent at once");

                ByteBuffer g = second.get(10, TimeUnit.SECONDS);
                assertEquals(Protocol.RESULTS, g.get() & 0xFF);
                assertEquals(1, g.getInt());
                assertEquals(12, g.getLong());
                assertEquals(Protocol.STATUS_OK, g.get());
                assertEquals(600, g.getLong(), "the whole frame's CPU");
                assertEquals(1, g.getShort());
                assertEquals(Protocol.OP_EMIT, g.get());
                assertEquals(0, g.getInt());
                assertEquals(big.length, g.getInt());
                g.position(g.position() + big.length - 1);
                assertEquals(42, g.get());
                assertFalse(g.hasRemaining());
            }
        } finally {
            Files.deleteIfExists(sock);
        }
    }

    /**
     * Results of 0 bytes to more than half the ring, while the unit reads the ring (slowly, so that it is often
     * full): every result arrives once, in order, intact, whether its frame was built in the ring, begun in the
     * writer's buffer while the ring was full, moved out of the ring by a result larger than its room, or spilled
     * to the socket.
     */
    @Test
    void resultsBuiltInTheRingArriveInOrderWhateverTheirSize() throws Exception {
        Path sock = dir.resolve("r.sock");
        Path file = dir.resolve("r.sock.ring");
        int capacity = RingFile.MIN_CAPACITY; // records of at most 32 KiB
        try (ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            server.bind(UnixDomainSocketAddress.of(sock));
            SocketChannel client = SocketChannel.open(UnixDomainSocketAddress.of(sock));
            try (SocketChannel unit = server.accept(); FrameChannel channel = new FrameChannel(client);
                RingFile unitSide = RingFile.create(file, capacity); RingFile sandboxSide = RingFile.open(file)) {
                ResultsWriter w = new ResultsWriter(channel, System::nanoTime, sandboxSide);
                SessionContext s = new SessionContext(1, new long[] {0}, Map.of(), new LinkedHashMap<>(),
                    new long[0]);
                int n = 3_000;
                CompletableFuture<Long> reader = CompletableFuture.supplyAsync(() -> readAll(unitSide.toUnit(),
                    unit, n));
                Thread me = Thread.currentThread();
                w.batchStarted();
                for (int seq = 0; seq < n; seq++) {
                    w.begin(s, me);
                    s.emit(0, ByteBuffer.wrap(payload(seq)));
                    s.end();
                    w.end(seq, 10, null, s);
                    if (seq % 7 == 6) {
                        w.flush(); // a batch ends
                        w.batchStarted();
                    }
                }
                w.flush();
                assertEquals(n, reader.get(60, TimeUnit.SECONDS), "results read");
                assertTrue(w.framesInRing > 0 && w.framesCopied > 0 && w.framesSpilled > 0,
                    "built in the ring " + w.framesInRing + ", copied " + w.framesCopied + ", spilled "
                        + w.framesSpilled);
            }
        } finally {
            Files.deleteIfExists(sock);
        }
    }

    /** Sizes from 0 to 40,000 bytes: most below the writer's slack, some above it, some above half the ring. */
    private static byte[] payload(int seq) {
        int len = seq % 50 == 49 ? 33_000 + seq % 7_000 : seq % 10 == 9 ? 17_000 + seq % 9_000 : (seq * 7_919) % 3_000;
        byte[] b = new byte[len];
        for (int i = 0; i < len; i++) {
            b[i] = (byte) (seq * 31 + i);
        }
        return b;
    }

    /** The unit's side: reads results records (and spilled frames) until {@code n} results are in; checks each. */
    private static long readAll(RingFile.Ring ring, SocketChannel socket, int n) {
        long next = 0;
        try {
            while (next < n) {
                int at = ring.next();
                if (at < 0) {
                    Thread.sleep(0, 200_000);
                    continue;
                }
                ByteBuffer f;
                if (ring.recordType() == RingFile.SPILL) {
                    do {
                        f = frame(socket);
                    } while ((f.get(0) & 0xFF) == Protocol.WAKE_UNIT); // the unit slept when the ring was new
                    ring.release();
                } else {
                    f = ring.data().slice(at + 4, ring.recordLength());
                }
                assertEquals(Protocol.RESULTS, f.get() & 0xFF);
                int count = f.getInt();
                for (int i = 0; i < count; i++, next++) {
                    assertEquals(next, f.getLong(), "results in order");
                    assertEquals(Protocol.STATUS_OK, f.get());
                    f.getLong();
                    assertEquals(1, f.getShort());
                    assertEquals(Protocol.OP_EMIT, f.get());
                    assertEquals(0, f.getInt());
                    byte[] expected = payload((int) next);
                    assertEquals(expected.length, f.getInt(), "result " + next);
                    for (byte b : expected) {
                        assertEquals(b, f.get(), "result " + next);
                    }
                }
                assertFalse(f.hasRemaining());
                if (ring.recordType() != RingFile.SPILL) {
                    ring.release();
                }
            }
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
        return next;
    }

    private static ByteBuffer frame(SocketChannel in) {
        try {
            ByteBuffer len = ByteBuffer.allocate(4);
            while (len.hasRemaining()) {
                assertTrue(in.read(len) >= 0);
            }
            ByteBuffer f = ByteBuffer.allocate(len.flip().getInt());
            while (f.hasRemaining()) {
                assertTrue(in.read(f) >= 0);
            }
            return f.flip();
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
