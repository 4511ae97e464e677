package io.pando.artp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.channel.epoll.Epoll;
import java.net.InetSocketAddress;
import java.util.BitSet;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.Test;

/** ARTP over real UDP sockets on loopback, through the public API only. */
class ArtpLoopbackTest {

    private static final long SESSION = 7;

    /** Collects datagrams: distinct sequence numbers, duplicates, corrupt ones. */
    static final class Sink implements ArtpHandler {
        final BitSet seen = new BitSet();
        final AtomicInteger distinct = new AtomicInteger();
        final AtomicInteger duplicates = new AtomicInteger();
        final AtomicInteger corrupt = new AtomicInteger();
        final AtomicInteger control = new AtomicInteger();
        final CountDownLatch closed = new CountDownLatch(1);
        volatile ErrorCode closeCode;

        @Override
        public void datagram(ArtpConnection c, ByteBuf d, boolean isControl) {
            try {
                if (isControl) {
                    ControlBlock.read(d, (type, value) -> {
                        if (type == ControlBlock.SYNC && value.readLong() == 99) {
                            control.incrementAndGet();
                        }
                    });
                    return;
                }
                CRC32C crc = new CRC32C();
                crc.update(d.nioBuffer(d.readerIndex() + 12, d.readableBytes() - 12));
                if ((int) crc.getValue() != d.getInt(d.readerIndex() + 8)) {
                    corrupt.incrementAndGet();
                    return;
                }
                int seq = (int) d.getLong(d.readerIndex());
                synchronized (seen) {
                    if (seen.get(seq)) {
                        duplicates.incrementAndGet();
                        return;
                    }
                    seen.set(seq);
                }
                distinct.incrementAndGet();
            } finally {
                d.release();
            }
        }

        @Override
        public void closed(ArtpConnection c, ErrorCode code, String reason) {
            closeCode = code;
            closed.countDown();
        }
    }

    static ByteBuf datagram(long seq, int size) {
        ByteBuf b = PooledByteBufAllocator.DEFAULT.directBuffer(size);
        b.writeLong(seq).writeInt(0);
        byte[] fill = new byte[size - 12];
        for (int i = 0; i < fill.length; i++) {
            fill[i] = (byte) (seq + i);
        }
        b.writeBytes(fill);
        CRC32C crc = new CRC32C();
        crc.update(fill);
        b.setInt(8, (int) crc.getValue());
        return b;
    }

    @Test
    void usesEpollOnLinux() {
        Sink sink = new Sink();
        try (ArtpEndpoint e = ArtpEndpoint.builder().handler(sink).start()) {
            assertTrue(Epoll.isAvailable(), () -> "epoll unavailable: " + Epoll.unavailabilityCause());
            assertEquals("epoll", e.transport());
        }
    }

    @Test
    void transfersDatagramsOfEverySizeAndClosesInOrder() throws Exception {
        Sink sink = new Sink();
        Sink clientSide = new Sink();
        try (ArtpEndpoint server = ArtpEndpoint.builder().handler(sink)
                .acceptor((s, p) -> s == SESSION ? SessionGrant.UNKEYED : null).start();
             ArtpEndpoint client = ArtpEndpoint.builder().handler(clientSide).start()) {
            ArtpConnection c = client.connect(server.localAddress(), SESSION, null).toCompletableFuture()
                .get(10, TimeUnit.SECONDS);
            int n = 20_000;
            for (int i = 0; i < n; i++) {
                int size = i % 100 == 0 ? 100_000 : 12 + (i * 37) % 1500;
                c.send(datagram(i, size));
                while (!c.isWritable()) {
                    Thread.sleep(1);
                }
            }
            ByteBuf ctl = PooledByteBufAllocator.DEFAULT.directBuffer();
            ControlBlock.writeLong(ctl, ControlBlock.SYNC, 99);
            ControlBlock.writeEnd(ctl);
            c.sendControl(ctl);
            c.close().toCompletableFuture().get(60, TimeUnit.SECONDS);
            assertTrue(sink.closed.await(10, TimeUnit.SECONDS));
            assertEquals(n, sink.distinct.get());
            assertEquals(0, sink.duplicates.get());
            assertEquals(0, sink.corrupt.get());
            assertEquals(1, sink.control.get());
            assertEquals(ErrorCode.NO_ERROR, sink.closeCode);
            assertEquals(ConnectionState.CLOSED, c.state());
            ArtpStats st = server.stats();
            assertEquals(n + 1, st.get(ArtpCounter.DATAGRAMS_DELIVERED));
            assertEquals(0, st.drops(), () -> "no drops on a clean path: " + st);
        }
    }

    @Test
    void pausedReceiverHoldsTheSenderAtTheAdvertisedCreditAndLosesNothing() throws Exception {
        Sink sink = new Sink();
        java.util.concurrent.atomic.AtomicReference<ArtpConnection> serverSide =
            new java.util.concurrent.atomic.AtomicReference<>();
        ArtpHandler pausing = new ArtpHandler() {
            @Override
            public void connected(ArtpConnection c) {
                c.pauseReceiving();
                serverSide.set(c);
            }

            @Override
            public void datagram(ArtpConnection c, ByteBuf d, boolean control) {
                sink.datagram(c, d, control);
            }
        };
        ArtpConfig small = ArtpConfig.builder().datagramWindow(256).build();
        try (ArtpEndpoint server = ArtpEndpoint.builder().handler(pausing).config(small)
                .acceptor((s, p) -> SessionGrant.UNKEYED).start();
             ArtpEndpoint client = ArtpEndpoint.builder().handler(new Sink()).start()) {
            ArtpConnection c = client.connect(server.localAddress(), SESSION, null).toCompletableFuture()
                .get(10, TimeUnit.SECONDS);
            int n = 2_000;
            for (int i = 0; i < n; i++) {
                c.send(datagram(i, 200));
            }
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (sink.distinct.get() < 256 && System.nanoTime() < deadline) {
                Thread.sleep(5);
            }
            Thread.sleep(300); // the sender would overrun the credit now if it ignored it
            assertEquals(256, sink.distinct.get(), "only the credit granted in the handshake is used");
            assertTrue(serverSide.get().isReceivingPaused());
            assertEquals(0, server.stats().get(ArtpCounter.FLOW_CONTROL), () -> "paused: " + server.stats());
            serverSide.get().resumeReceiving();
            c.close().toCompletableFuture().get(30, TimeUnit.SECONDS);
            assertEquals(n, sink.distinct.get());
            assertEquals(0, sink.duplicates.get());
            ArtpStats st = server.stats();
            assertEquals(1, st.get(ArtpCounter.RECEIVE_PAUSES));
            assertEquals(0, st.get(ArtpCounter.FLOW_CONTROL), () -> "the sender respected the credit: " + st);
        }
    }

    @Test
    void keyedSessionRejectsWrongKey() throws Exception {
        byte[] key = new byte[32];
        key[0] = 1;
        byte[] wrong = key.clone();
        wrong[31] = 9;
        Sink sink = new Sink();
        ArtpConfig fast = ArtpConfig.builder().initialRto(java.time.Duration.ofMillis(50)).handshakeAttempts(2).build();
        try (ArtpEndpoint server = ArtpEndpoint.builder().handler(sink)
                .acceptor((s, p) -> SessionGrant.keyed(key)).start();
             ArtpEndpoint client = ArtpEndpoint.builder().config(fast).handler(new Sink()).start()) {
            ArtpConnection ok = client.connect(server.localAddress(), SESSION, key).toCompletableFuture()
                .get(10, TimeUnit.SECONDS);
            assertTrue(ok.isKeyed());
            ok.send(datagram(0, 500));
            ok.close().toCompletableFuture().get(10, TimeUnit.SECONDS);
            assertEquals(1, sink.distinct.get());
            CompletionException e = assertThrows(CompletionException.class,
                () -> client.connect(server.localAddress(), SESSION, wrong).toCompletableFuture().join());
            assertTrue(e.getCause() instanceof ArtpException, e.toString());
            assertTrue(server.stats().get(ArtpCounter.AUTH_FAILED) > 0);
        }
    }

    @Test
    void unknownSessionIsRefusedWithReason() {
        try (ArtpEndpoint server = ArtpEndpoint.builder().handler(new Sink())
                .acceptor((s, p) -> null).start();
             ArtpEndpoint client = ArtpEndpoint.builder().handler(new Sink()).start()) {
            CompletionException e = assertThrows(CompletionException.class,
                () -> client.connect(server.localAddress(), 5, null).toCompletableFuture().join());
            ArtpException cause = (ArtpException) e.getCause();
            assertEquals(ErrorCode.UNKNOWN_SESSION, cause.code());
            assertTrue(cause.getMessage().contains("session 5"), cause.getMessage());
        }
    }

    @Test
    void connectionsOverTheCapAreRefusedWithTheReasonAndCounted() throws Exception {
        ArtpConfig one = ArtpConfig.builder().maxConnections(1).build();
        try (ArtpEndpoint server = ArtpEndpoint.builder().config(one).handler(new Sink())
                .acceptor(SessionAcceptor.ANY).start();
             ArtpEndpoint client = ArtpEndpoint.builder().config(one).handler(new Sink()).start();
             ArtpEndpoint other = ArtpEndpoint.builder().handler(new Sink()).start()) {
            client.connect(server.localAddress(), 1, null).toCompletableFuture().get(10, TimeUnit.SECONDS);

            // inbound: the server holds its one connection and refuses a second sender in the handshake
            CompletionException in = assertThrows(CompletionException.class,
                () -> other.connect(server.localAddress(), 2, null).toCompletableFuture().join());
            ArtpException refused = (ArtpException) in.getCause();
            assertEquals(ErrorCode.SERVER_BUSY, refused.code());
            assertTrue(refused.getMessage().contains("maximum of 1 connections"), refused.getMessage());
            assertEquals(1, server.stats().get(ArtpCounter.CONNECTION_LIMIT));
            assertEquals(1, server.stats().get(ArtpCounter.HANDSHAKE_REJECTED));

            // outbound: the client holds its one connection and does not open another
            CompletionException out = assertThrows(CompletionException.class,
                () -> client.connect(other.localAddress(), 3, null).toCompletableFuture().join());
            assertEquals(ErrorCode.SERVER_BUSY, ((ArtpException) out.getCause()).code());
            assertTrue(out.getCause().getMessage().contains("(maxConnections)"), out.getCause().getMessage());
            assertEquals(1, client.stats().get(ArtpCounter.CONNECTION_LIMIT));
            assertEquals(0, other.stats().get(ArtpCounter.CONNECTION_LIMIT));
            assertEquals("connection_limit", ArtpCounter.CONNECTION_LIMIT.key());
        }
    }

    @Test
    void oversizedDatagramIsRefusedAndReleased() throws Exception {
        ArtpConfig small = ArtpConfig.builder().maxDatagramSize(1000).build();
        try (ArtpEndpoint server = ArtpEndpoint.builder().config(small).handler(new Sink())
                .acceptor(SessionAcceptor.ANY).start();
             ArtpEndpoint client = ArtpEndpoint.builder().handler(new Sink()).start()) {
            ArtpConnection c = client.connect(server.localAddress(), 1, null).toCompletableFuture()
                .get(10, TimeUnit.SECONDS);
            ByteBuf big = datagram(1, 1001);
            assertThrows(IllegalArgumentException.class, () -> c.send(big));
            assertEquals(0, big.refCnt());
        }
    }

    @Test
    void resetReachesThePeer() throws Exception {
        Sink sink = new Sink();
        try (ArtpEndpoint server = ArtpEndpoint.builder().handler(sink).acceptor(SessionAcceptor.ANY).start();
             ArtpEndpoint client = ArtpEndpoint.builder().handler(new Sink()).start()) {
            ArtpConnection c = client.connect(server.localAddress(), 1, null).toCompletableFuture()
                .get(10, TimeUnit.SECONDS);
            c.reset(ErrorCode.APPLICATION_ABORT, "test over");
            // refused from the moment reset returns, not only once the event loop has run it
            assertThrows(IllegalStateException.class, () -> c.send(datagram(1, 100)));
            assertTrue(sink.closed.await(5, TimeUnit.SECONDS));
            assertEquals(ErrorCode.APPLICATION_ABORT, sink.closeCode);
            assertThrows(IllegalStateException.class, () -> c.send(datagram(1, 100)));
        }
    }

    @Test
    void sendsAfterCloseAreRefusedAtOnce() throws Exception {
        try (ArtpEndpoint server = ArtpEndpoint.builder().handler(new Sink()).acceptor(SessionAcceptor.ANY).start();
             ArtpEndpoint client = ArtpEndpoint.builder().handler(new Sink()).start()) {
            ArtpConnection c = client.connect(server.localAddress(), 1, null).toCompletableFuture()
                .get(10, TimeUnit.SECONDS);
            c.close();
            ByteBuf late = datagram(1, 100);
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> c.send(late));
            assertEquals(0, late.refCnt());
            assertTrue(e.getMessage().contains("takes no datagrams"), e.getMessage());
        }
    }

    @Test
    void bindFailureIsReported() {
        try (ArtpEndpoint first = ArtpEndpoint.builder().handler(new Sink()).start()) {
            InetSocketAddress taken = first.localAddress();
            ArtpException e = assertThrows(ArtpException.class,
                () -> ArtpEndpoint.builder().bind(taken).handler(new Sink()).start());
            assertTrue(e.getMessage().contains("cannot bind"), e.getMessage());
        }
    }
}
