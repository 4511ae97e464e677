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
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * RESULTS frames as the worker builds them: ops written straight into the frame, an error placed before them, a
 * result larger than the frame buffer, and the frame's CPU time shared by wall time.
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
