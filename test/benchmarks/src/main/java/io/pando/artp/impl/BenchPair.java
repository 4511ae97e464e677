package io.pando.artp.impl;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.channel.EventLoop;
import io.pando.artp.ArtpConfig;
import io.pando.artp.ArtpConnection;
import io.pando.artp.ArtpHandler;
import io.pando.artp.SessionAcceptor;
import io.pando.artp.SessionGrant;
import io.pando.artp.wire.Wire;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.ArrayDeque;
import java.util.concurrent.CompletableFuture;

/**
 * A client and a server {@link EndpointCore} on in-memory hosts, connected through the real handshake, after which
 * the link is cut: what either engine transmits is captured (counted, its largest packet number noted) and
 * released, and the benchmark feeds each engine the packets it wants. Virtual time; single-threaded; pooled
 * direct buffers, as under Netty.
 */
final class BenchPair {

    static final InetSocketAddress SERVER = address(1, 7001);
    static final InetSocketAddress CLIENT = address(2, 7002);
    static final long SESSION = 7;
    static final byte[] KEY = new byte[32];

    static {
        for (int i = 0; i < KEY.length; i++) {
            KEY[i] = (byte) (i * 13 + 1);
        }
    }

    private static InetSocketAddress address(int host, int port) {
        try {
            return new InetSocketAddress(InetAddress.getByAddress(new byte[] {10, 0, 0, (byte) host}), port);
        } catch (UnknownHostException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Host of one engine. */
    final class BenchHost implements Host, EndpointCore.Flushable {
        final InetSocketAddress address;
        long packets;
        long bytes;
        long largestPn;

        BenchHost(InetSocketAddress address) {
            this.address = address;
        }

        @Override
        public long nanoTime() {
            return now;
        }

        @Override
        public long wallMillis() {
            return now / 1_000_000;
        }

        @Override
        public ByteBuf allocate(int size) {
            return alloc.directBuffer(size);
        }

        @Override
        public void transmit(ByteBuf packet, InetSocketAddress to) {
            if (linked) {
                air.add(packet);
                airTo.add(to);
                return;
            }
            packets++;
            bytes += packet.readableBytes();
            int r = packet.readerIndex();
            if (packet.getUnsignedByte(r + Wire.OFF_TYPE) >= Wire.TYPE_DATA) {
                largestPn = Math.max(largestPn, packet.getLong(r + Wire.OFF_PN));
            }
            packet.release();
        }

        @Override
        public boolean canTransmit() {
            return true;
        }

        @Override
        public EventLoop eventLoop() {
            return null;
        }

        @Override
        public boolean inEventLoop() {
            return true;
        }

        @Override
        public void execute(Runnable task) {
            tasks.add(task);
        }

        @Override
        public void flush() {
        }
    }

    /** Releases every datagram; remembers how many bytes arrived. */
    static final class Sink implements ArtpHandler {
        Connection connection;
        long datagrams;
        long bytes;

        @Override
        public void connected(ArtpConnection c) {
            connection = (Connection) c;
        }

        @Override
        public void datagram(ArtpConnection c, ByteBuf d, boolean control) {
            datagrams++;
            bytes += d.readableBytes();
            d.release();
        }
    }

    final ByteBufAllocator alloc = PooledByteBufAllocator.DEFAULT;
    private final ArrayDeque<Runnable> tasks = new ArrayDeque<>();
    private final ArrayDeque<ByteBuf> air = new ArrayDeque<>();
    private final ArrayDeque<InetSocketAddress> airTo = new ArrayDeque<>();
    private boolean linked = true;
    long now = 1_000_000_000L;
    final boolean keyed;
    final BenchHost serverHost = new BenchHost(SERVER);
    final BenchHost clientHost = new BenchHost(CLIENT);
    final Sink serverApp = new Sink();
    final Sink clientApp = new Sink();
    final EndpointCore server;
    final EndpointCore client;
    final Connection serverConn;
    final Connection clientConn;
    /** Tags client-to-server packets of the connection (what the server verifies). */
    final Tagger c2s;
    /** Tags server-to-client packets (what the client verifies). */
    final Tagger s2c;

    BenchPair(boolean keyed) {
        this.keyed = keyed;
        ArtpConfig cfg = ArtpConfig.builder().datagramWindow(65536).build();
        SessionGrant grant = keyed ? SessionGrant.keyed(KEY) : SessionGrant.UNKEYED;
        SessionAcceptor acceptor = (s, p) -> grant;
        server = new EndpointCore(serverHost, cfg, serverApp, acceptor, random(1));
        client = new EndpointCore(clientHost, cfg, clientApp, SessionAcceptor.NONE, random(2));
        CompletableFuture<ArtpConnection> f = client.connect(SERVER, SESSION, keyed ? KEY : null)
            .toCompletableFuture();
        for (int i = 0; i < 100 && !(f.isDone() && serverApp.connection != null); i++) {
            runTasks();
            ByteBuf p = air.poll();
            InetSocketAddress to = airTo.poll();
            if (p == null) {
                break;
            }
            EndpointCore dst = to.equals(SERVER) ? server : client;
            try {
                dst.receive(p, to.equals(SERVER) ? CLIENT : SERVER, now);
            } finally {
                p.release();
            }
            dst.flushAll();
        }
        if (!f.isDone() || serverApp.connection == null) {
            throw new IllegalStateException("handshake did not complete");
        }
        clientConn = (Connection) f.join();
        serverConn = serverApp.connection;
        runTasks();
        linked = false;
        ByteBuf p;
        while ((p = air.poll()) != null) {
            p.release();
        }
        airTo.clear();
        if (keyed) {
            byte[][] k = Keys.traffic(KEY, clientConn.clientNonce, clientConn.serverNonce);
            c2s = Tagger.hmac(k[0]);
            s2c = Tagger.hmac(k[1]);
        } else {
            c2s = Tagger.crc32c();
            s2c = Tagger.crc32c();
        }
    }

    private static SecureRandom random(long seed) {
        try {
            SecureRandom r = SecureRandom.getInstance("SHA1PRNG");
            r.setSeed(seed);
            return r;
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Runs queued engine tasks (connection flushes). */
    void runTasks() {
        Runnable t;
        while ((t = tasks.poll()) != null) {
            t.run();
        }
    }

    /** Resets both endpoints and releases what they hold. */
    void close() {
        server.closeAll(io.pando.artp.ErrorCode.INTERNAL_ERROR, "benchmark done");
        client.closeAll(io.pando.artp.ErrorCode.INTERNAL_ERROR, "benchmark done");
        runTasks();
    }
}
