package io.pando.artp.impl;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.CompositeByteBuf;
import io.netty.buffer.UnpooledByteBufAllocator;
import io.pando.artp.ArtpConfig;
import io.pando.artp.ArtpConnection;
import io.pando.artp.ArtpCounter;
import io.pando.artp.ArtpHandler;
import io.pando.artp.ArtpStats;
import io.pando.artp.ConnectionState;
import io.pando.artp.ControlBlock;
import io.pando.artp.ErrorCode;
import io.pando.artp.SessionAcceptor;
import io.pando.artp.SessionGrant;
import io.pando.artp.wire.Wire;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

/**
 * A deterministic harness for fuzzing the ARTP engine: a server and a client {@link EndpointCore}, each on a
 * {@link Host} of this rig, with an explicit "air" queue between them that the fuzz target delivers, drops,
 * duplicates or reorders, virtual time, and packets injected from outside.
 *
 * <p>Every buffer the engines allocate, and every datagram handed to a connection, is tracked; {@link #close()}
 * resets both endpoints and then requires every tracked buffer to be released ({@code refCnt() == 0}). Buffers
 * come from an unpooled allocator so that a released buffer is never recycled and its reference count stays
 * meaningful. After every step {@link #check()} asserts that no counter went down.
 */
final class FuzzRig implements AutoCloseable {

    static final InetSocketAddress SERVER = address(1, 7001);
    static final InetSocketAddress CLIENT = address(2, 7002);
    static final InetSocketAddress STRANGER = address(9, 9009);
    static final long SESSION = 42;
    static final byte[] KEY = new byte[32];

    static {
        for (int i = 0; i < KEY.length; i++) {
            KEY[i] = (byte) (0x40 + i);
        }
    }

    /** Endpoint configurations the fuzzer chooses from: defaults, a tight one, a small-packet one. */
    static ArtpConfig preset(int n) {
        switch (n) {
            case 1:
                return ArtpConfig.builder().datagramWindow(16).reassemblyBytes(16 * 1024).maxDatagramSize(40_000)
                    .idleTimeout(Duration.ofSeconds(5)).pacing(true).build();
            case 2:
                return ArtpConfig.builder().maxPacketSize(256).datagramWindow(64).ackElicitingThreshold(1)
                    .maxDatagramSize(100_000).build();
            default:
                return ArtpConfig.defaults();
        }
    }

    private static InetSocketAddress address(int host, int port) {
        try {
            return new InetSocketAddress(InetAddress.getByAddress(new byte[] {10, 0, 0, (byte) host}), port);
        } catch (UnknownHostException e) {
            throw new IllegalStateException(e);
        }
    }

    /** One packet between the two endpoints. */
    static final class Flight {
        final ByteBuf packet;
        final InetSocketAddress from;
        final InetSocketAddress to;

        Flight(ByteBuf packet, InetSocketAddress from, InetSocketAddress to) {
            this.packet = packet;
            this.from = from;
            this.to = to;
        }
    }

    /** Application handler: checks and releases every datagram, records connect and close events. */
    final class Sink implements ArtpHandler {
        final int maxDatagram;
        Connection connection;
        long datagrams;
        final Map<ArtpConnection, Integer> closes = new IdentityHashMap<>();

        Sink(int maxDatagram) {
            this.maxDatagram = maxDatagram;
        }

        @Override
        public void connected(ArtpConnection c) {
            // A replayed COOKIE_ECHO may re-create the server's connection once the first one is gone (docs/artp.md
            // 16.3), never while it is still open.
            if (connection != null && connection != c && connection.state() != ConnectionState.CLOSED) {
                throw new AssertionError("a second connection was established while " + connection + " is "
                    + connection.state() + ": " + c);
            }
            connection = (Connection) c;
            if (this == serverApp && serverConn != null) {
                serverConn = connection;
            }
        }

        @Override
        public void datagram(ArtpConnection c, ByteBuf d, boolean control) {
            try {
                if (d.refCnt() < 1) {
                    throw new AssertionError("datagram delivered already released");
                }
                if (d.readableBytes() > maxDatagram) {
                    throw new AssertionError("datagram of " + d.readableBytes() + " bytes above the max "
                        + maxDatagram);
                }
                if (control) {
                    ControlBlock.validate(d); // the engine delivers only valid control blocks
                }
                datagrams++;
            } finally {
                d.release();
            }
        }

        @Override
        public void closed(ArtpConnection c, ErrorCode code, String reason) {
            if (code == null || reason == null) {
                throw new AssertionError("closed(" + code + ", " + reason + ")");
            }
            if (closes.merge(c, 1, Integer::sum) > 1) {
                throw new AssertionError("closed() called twice for " + c);
            }
        }
    }

    final class RigHost extends SingleThreadHost {
        final InetSocketAddress address;

        RigHost(InetSocketAddress address) {
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
            return track(direct ? alloc.directBuffer(size) : alloc.heapBuffer(size));
        }

        @Override
        public void transmit(ByteBuf packet, InetSocketAddress to) {
            if (packet.refCnt() != 1) {
                throw new AssertionError("transmitted a packet with refCnt " + packet.refCnt());
            }
            if (packet.readableBytes() > ArtpConfig.MAX_PACKET_SIZE) {
                throw new AssertionError("transmitted a packet of " + packet.readableBytes() + " bytes");
            }
            observe(packet, address);
            air.add(new Flight(packet, address, to));
        }

        @Override
        public void execute(Runnable task) {
            tasks.add(task);
        }
    }

    private final UnpooledByteBufAllocator alloc = new UnpooledByteBufAllocator(false, true);
    private final List<ByteBuf> tracked = new ArrayList<>();
    private final ArrayDeque<Runnable> tasks = new ArrayDeque<>();
    final ArrayDeque<Flight> air = new ArrayDeque<>();
    long now = 1_000_000_000L;
    final boolean direct;
    final boolean keyed;
    final ArtpConfig cfg;
    final Sink serverApp;
    final Sink clientApp;
    final EndpointCore server;
    final EndpointCore client;
    Connection serverConn;
    Connection clientConn;
    /** Largest packet number the server sent on its connection (what an ACK from the client may cover). */
    long serverLargestPn;
    byte[] recordedInit;
    byte[] recordedCookieEcho;
    private Tagger c2s;
    private Tagger s2c;
    private final Map<Object, long[]> lastCounters = new IdentityHashMap<>();

    FuzzRig(ArtpConfig cfg, boolean keyed, boolean direct) {
        this.cfg = cfg;
        this.keyed = keyed;
        this.direct = direct;
        this.serverApp = new Sink(cfg.maxDatagramSize);
        this.clientApp = new Sink(cfg.maxDatagramSize);
        SessionAcceptor acceptor = (s, p) -> s != SESSION ? null : keyed ? SessionGrant.keyed(KEY)
            : SessionGrant.UNKEYED;
        this.server = new EndpointCore(new RigHost(SERVER), cfg, serverApp, acceptor, random(1));
        this.client = new EndpointCore(new RigHost(CLIENT), cfg, clientApp, SessionAcceptor.NONE, random(2));
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

    /** A rig with one established connection (handshake run through the air queue). */
    static FuzzRig established(ArtpConfig cfg, boolean keyed, boolean direct) {
        FuzzRig rig = new FuzzRig(cfg, keyed, direct);
        CompletableFuture<ArtpConnection> f = rig.client.connect(SERVER, SESSION, keyed ? KEY : null)
            .toCompletableFuture();
        rig.settle();
        rig.deliverAll(16);
        if (!f.isDone() || f.isCompletedExceptionally() || rig.serverApp.connection == null) {
            rig.close();
            throw new IllegalStateException("rig handshake failed: " + f);
        }
        rig.clientConn = (Connection) f.join();
        rig.serverConn = rig.serverApp.connection;
        if (keyed) {
            byte[][] k = Keys.traffic(KEY, rig.clientConn.clientNonce, rig.clientConn.serverNonce);
            rig.c2s = Tagger.hmac(k[0]);
            rig.s2c = Tagger.hmac(k[1]);
        } else {
            rig.c2s = Tagger.crc32c();
            rig.s2c = Tagger.crc32c();
        }
        rig.check();
        return rig;
    }

    ByteBuf track(ByteBuf b) {
        tracked.add(b);
        return b;
    }

    /** A tracked application buffer of {@code size} bytes with recognisable content. */
    ByteBuf appDatagram(int size, int seed) {
        ByteBuf b = track(alloc.heapBuffer(size));
        for (int i = 0; i < size; i++) {
            b.writeByte(seed + i);
        }
        return b;
    }

    private void observe(ByteBuf p, InetSocketAddress from) {
        int r = p.readerIndex();
        if (p.readableBytes() < Wire.HEADER) {
            return;
        }
        int type = p.getUnsignedByte(r + Wire.OFF_TYPE);
        if (from.equals(SERVER) && type >= Wire.TYPE_DATA && serverConn != null
                && p.getInt(r + Wire.OFF_DCID) == serverConn.remoteId) {
            serverLargestPn = Math.max(serverLargestPn, p.getLong(r + Wire.OFF_PN));
        }
        if (from.equals(CLIENT) && type == Wire.TYPE_INIT && recordedInit == null) {
            recordedInit = bytes(p);
        }
        if (from.equals(CLIENT) && type == Wire.TYPE_COOKIE_ECHO && recordedCookieEcho == null) {
            recordedCookieEcho = bytes(p);
        }
    }

    static byte[] bytes(ByteBuf b) {
        byte[] a = new byte[b.readableBytes()];
        b.getBytes(b.readerIndex(), a);
        return a;
    }

    /** Runs the tasks the engines queued (flushes, inbox drains) until none are left. */
    void settle() {
        int n = 0;
        Runnable t;
        while ((t = tasks.poll()) != null) {
            if (++n > 100_000) {
                throw new AssertionError("tasks keep rescheduling themselves");
            }
            t.run();
        }
    }

    EndpointCore endpointAt(InetSocketAddress a) {
        return a.equals(SERVER) ? server : client;
    }

    /** Delivers the first packet in the air. */
    void deliverOne() {
        Flight f = air.poll();
        if (f == null) {
            return;
        }
        EndpointCore to = endpointAt(f.to);
        try {
            if (f.to.equals(SERVER) || f.to.equals(CLIENT)) {
                to.receive(f.packet, f.from, now);
                if (f.packet.refCnt() != 1) {
                    throw new AssertionError("receive() changed the packet's refCnt to " + f.packet.refCnt());
                }
            }
        } finally {
            f.packet.release();
        }
        to.flushAll();
        settle();
    }

    void deliverAll(int limit) {
        for (int i = 0; i < limit && !air.isEmpty(); i++) {
            deliverOne();
        }
    }

    void dropOne() {
        Flight f = air.poll();
        if (f != null) {
            f.packet.release();
        }
    }

    void duplicateFirst() {
        Flight f = air.peek();
        if (f != null) {
            air.add(new Flight(track(f.packet.copy()), f.from, f.to));
        }
    }

    void reorderFirst() {
        Flight f = air.poll();
        if (f != null) {
            air.add(f);
        }
    }

    /** Advances virtual time and runs both endpoints' timers. */
    void tick(long nanos) {
        now += Math.max(0, nanos);
        server.onTick(now);
        client.onTick(now);
        settle();
    }

    /**
     * Feeds {@code packet} to an endpoint in one of four buffer layouts: heap, direct, a composite of two
     * parts, or a slice in the middle of a larger buffer with garbage before and after.
     */
    void inject(EndpointCore to, byte[] packet, InetSocketAddress from, int layout) {
        ByteBuf b;
        switch (layout & 3) {
            case 1:
                b = alloc.directBuffer(packet.length).writeBytes(packet);
                break;
            case 2: {
                int cut = packet.length / 2;
                CompositeByteBuf c = alloc.compositeBuffer(2);
                c.addComponent(true, alloc.heapBuffer(cut).writeBytes(packet, 0, cut));
                c.addComponent(true, alloc.directBuffer(packet.length - cut).writeBytes(packet, cut,
                    packet.length - cut));
                b = c;
                break;
            }
            case 3:
                b = alloc.heapBuffer(packet.length + 24);
                for (int i = 0; i < b.capacity(); i++) {
                    b.setByte(i, 0xA5);
                }
                b.writerIndex(7).readerIndex(7).writeBytes(packet);
                break;
            default:
                b = alloc.heapBuffer(packet.length).writeBytes(packet);
        }
        try {
            to.receive(b, from, now);
            if (b.refCnt() != 1) {
                throw new AssertionError("receive() changed the injected packet's refCnt to " + b.refCnt());
            }
        } finally {
            b.release();
        }
        if (b.refCnt() != 0) {
            throw new AssertionError("injected packet not freed by its single release");
        }
        to.flushAll();
        settle();
    }

    /** The tagger for packets client to server on the established connection. */
    Tagger c2s() {
        return c2s;
    }

    Tagger s2c() {
        return s2c;
    }

    /**
     * Recomputes the integrity tag at the end of {@code packet} in place: HMAC when its KEYED flag is set and it
     * is long enough, else CRC32C. {@code tagger} is the keyed tagger to use for HMAC (null: CRC only).
     */
    static void fixTag(byte[] packet, Tagger keyedTagger) {
        if (packet.length < 4) {
            return;
        }
        boolean k = packet.length >= Wire.HEADER + Wire.HMAC_TAG && (packet[Wire.OFF_FLAGS + 1] & Wire.FLAG_KEYED) != 0
            && keyedTagger != null && keyedTagger.keyed();
        int tagLen = k ? Wire.HMAC_TAG : Wire.CRC_TAG;
        ByteBuf b = UnpooledByteBufAllocator.DEFAULT.heapBuffer(packet.length);
        try {
            b.writeBytes(packet, 0, packet.length - tagLen);
            (k ? keyedTagger : Tagger.crc32c()).sign(b);
            b.getBytes(0, packet, 0, packet.length);
        } finally {
            b.release();
        }
    }

    /** Asserts that no counter of either endpoint or of either connection went down. */
    void check() {
        monotonic(server, server.stats());
        monotonic(client, client.stats());
        if (serverConn != null) {
            monotonic(serverConn, serverConn.stats());
        }
        if (clientConn != null) {
            monotonic(clientConn, clientConn.stats());
        }
    }

    private void monotonic(Object owner, ArtpStats s) {
        long[] last = lastCounters.get(owner);
        long[] cur = new long[ArtpCounter.values().length];
        for (ArtpCounter c : ArtpCounter.values()) {
            long v = s.get(c);
            cur[c.ordinal()] = v;
            if (c.isGauge()) {
                if (v < 0) {
                    throw new AssertionError(owner + ": gauge " + c.key() + " is negative: " + v);
                }
            } else if (last != null && v < last[c.ordinal()]) {
                throw new AssertionError(owner + ": counter " + c.key() + " went down from " + last[c.ordinal()]
                    + " to " + v);
            }
        }
        lastCounters.put(owner, cur);
    }

    private static final boolean VERBOSE = Boolean.getBoolean("artp.fuzz.verbose");

    private static String nonZero(ArtpStats s) {
        StringBuilder b = new StringBuilder();
        for (ArtpCounter c : ArtpCounter.values()) {
            if (!c.isGauge() && s.get(c) != 0) {
                b.append(c.key()).append('=').append(s.get(c)).append(' ');
            }
        }
        return b.toString();
    }

    /** Resets both endpoints, releases what is in the air and requires every tracked buffer to be released. */
    @Override
    public void close() {
        if (VERBOSE) {
            System.out.println("server " + nonZero(server.stats()) + "\nclient " + nonZero(client.stats())
                + "\nserver app datagrams " + serverApp.datagrams + ", client app datagrams " + clientApp.datagrams);
        }
        server.closeAll(ErrorCode.INTERNAL_ERROR, "rig closed");
        client.closeAll(ErrorCode.INTERNAL_ERROR, "rig closed");
        settle();
        Flight f;
        while ((f = air.poll()) != null) {
            f.packet.release();
        }
        settle();
        while ((f = air.poll()) != null) {
            f.packet.release();
        }
        int leaked = 0;
        ByteBuf first = null;
        for (ByteBuf b : tracked) {
            if (b.refCnt() != 0) {
                leaked++;
                if (first == null) {
                    first = b;
                }
            }
        }
        tracked.clear();
        if (leaked > 0) {
            String what = first.toString();
            int refCnt = first.refCnt();
            first.release(refCnt); // keep Netty's own detector quiet; the assertion reports it
            throw new AssertionError(leaked + " buffer(s) not released after both endpoints closed; first: "
                + what + " refCnt " + refCnt);
        }
    }
}
