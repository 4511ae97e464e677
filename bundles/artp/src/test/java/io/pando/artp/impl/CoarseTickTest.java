package io.pando.artp.impl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.pando.artp.ArtpConfig;
import io.pando.artp.ArtpConnection;
import io.pando.artp.ArtpEndpoint;
import io.pando.artp.ArtpHandler;
import io.pando.artp.ConnectionState;
import io.pando.artp.ErrorCode;
import io.pando.artp.SessionGrant;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;

/**
 * The endpoint's timer tick: fine (1 ms) while a connection has a timer milliseconds away, coarse while every
 * connection is quiet or there is none, fine again as soon as there is work; real sockets on loopback.
 */
class CoarseTickTest {

    private static final long SESSION = 11;

    /** Counts datagrams and closes. */
    static final class Counter implements ArtpHandler {
        final AtomicInteger datagrams = new AtomicInteger();
        final AtomicInteger closes = new AtomicInteger();
        volatile String closeReason;

        @Override
        public void datagram(ArtpConnection c, ByteBuf d, boolean isControl) {
            d.release();
            datagrams.incrementAndGet();
        }

        @Override
        public void closed(ArtpConnection c, ErrorCode code, String reason) {
            closeReason = code + ": " + reason;
            closes.incrementAndGet();
        }
    }

    private static NettyEndpoint netty(ArtpEndpoint e) {
        return (NettyEndpoint) e;
    }

    private static void await(BooleanSupplier condition, long seconds, String what) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (!condition.getAsBoolean()) {
            assertTrue(System.nanoTime() < deadline, "not within " + seconds + " s: " + what);
            Thread.sleep(10);
        }
    }

    private static ByteBuf datagram(int size) {
        ByteBuf b = PooledByteBufAllocator.DEFAULT.directBuffer(size);
        b.writeZero(size);
        return b;
    }

    @Test
    void anEndpointWithoutConnectionsTicksCoarsely() throws Exception {
        try (ArtpEndpoint e = ArtpEndpoint.builder().handler(new Counter()).start()) {
            await(() -> netty(e).tickCounts()[3] == 1, 10, "the tick turns coarse");
            long before = netty(e).tickCounts()[0];
            Thread.sleep(1000);
            long[] after = netty(e).tickCounts();
            // 20 coarse ticks a second with the default keep-alive of 5 s; a fine tick would make ~1,000
            assertTrue(after[0] - before <= 40, "ticks in 1 s while idle: " + (after[0] - before));
            assertEquals(1, after[3], "still coarse");
        }
    }

    @Test
    void quietConnectionsKeepAliveAndDataWakesTheFineTick() throws Exception {
        // keep-alive every 100 ms (coarse tick 25 ms) and an idle timeout of 1 s: a quiet connection survives only
        // if the coarse tick still sends its keep-alives
        ArtpConfig cfg = ArtpConfig.builder().keepAlive(Duration.ofMillis(100)).idleTimeout(Duration.ofSeconds(1))
            .build();
        Counter server = new Counter();
        Counter client = new Counter();
        try (ArtpEndpoint s = ArtpEndpoint.builder().config(cfg).handler(server)
                .acceptor((id, p) -> id == SESSION ? SessionGrant.UNKEYED : null).start();
             ArtpEndpoint c = ArtpEndpoint.builder().config(cfg).handler(client).start()) {
            ArtpConnection conn = c.connect(s.localAddress(), SESSION, null).toCompletableFuture()
                .get(10, TimeUnit.SECONDS);
            for (int i = 0; i < 2000; i++) {
                conn.send(datagram(1 + i % 1400));
                while (!conn.isWritable()) {
                    Thread.sleep(1);
                }
            }
            await(() -> server.datagrams.get() == 2000, 30, "2,000 datagrams delivered");
            await(() -> netty(s).tickCounts()[3] == 1 && netty(c).tickCounts()[3] == 1, 10,
                "both endpoints turn coarse once the connection is quiet");
            long changes = netty(c).tickCounts()[2];

            Thread.sleep(3000); // three idle timeouts
            assertEquals(ConnectionState.ESTABLISHED, conn.state(), () -> "closed while quiet: " + client.closeReason);
            assertEquals(0, server.closes.get() + client.closes.get(), () -> "closed: " + server.closeReason + " / "
                + client.closeReason);

            conn.send(datagram(100));
            await(() -> server.datagrams.get() == 2001, 10, "a datagram sent while the ticks are coarse");
            assertTrue(netty(c).tickCounts()[2] > changes, "the send made the client's tick fine again");
            await(() -> netty(c).tickCounts()[3] == 1, 10, "coarse again afterwards");
            conn.close().toCompletableFuture().get(10, TimeUnit.SECONDS);
        }
    }
}
