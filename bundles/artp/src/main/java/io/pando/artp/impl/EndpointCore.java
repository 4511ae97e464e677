package io.pando.artp.impl;

import static io.pando.artp.ArtpCounter.*;

import io.netty.buffer.ByteBuf;
import io.netty.util.collection.IntObjectHashMap;
import io.pando.artp.ArtpConfig;
import io.pando.artp.ArtpConnection;
import io.pando.artp.ArtpCounter;
import io.pando.artp.ArtpException;
import io.pando.artp.ArtpHandler;
import io.pando.artp.ArtpStats;
import io.pando.artp.ErrorCode;
import io.pando.artp.SessionAcceptor;
import io.pando.artp.SessionGrant;
import io.pando.artp.wire.Wire;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The protocol engine of one endpoint: validates every incoming packet, runs the stateless responder side of the
 * handshake, dispatches packets to connections by destination connection id, runs timers and flushes what
 * connections have to send. Single-threaded (the host's thread); does no I/O itself.
 */
final class EndpointCore {

    private static final Logger LOG = Logger.getLogger(EndpointCore.class.getName());
    private static final int STATELESS_RESETS_PER_SECOND = 100;

    final Host host;
    final ArtpConfig cfg;
    final ArtpHandler handler;
    private final SessionAcceptor acceptor;
    private final SecureRandom random;
    private final CookieJar cookies;
    private final CookieJar.Contents scratch = new CookieJar.Contents();
    private final Tagger crc = Tagger.crc32c();
    private final IntObjectHashMap<Connection> connections = new IntObjectHashMap<>();
    private final ArrayDeque<Connection> dirty = new ArrayDeque<>();
    private final List<Connection> timerScratch = new ArrayList<>();
    private final long[] counters = new long[ArtpCounter.values().length];
    private final long[] closedTotals = new long[ArtpCounter.values().length];
    private int live;
    private boolean flushScheduled;
    private final Runnable flushTask = this::flushScheduled;
    private long resetWindowStart;
    private int resetsInWindow;
    private long wakeAt;
    private int window;

    EndpointCore(Host host, ArtpConfig cfg, ArtpHandler handler, SessionAcceptor acceptor, SecureRandom random) {
        this.host = host;
        this.cfg = cfg;
        this.handler = handler;
        this.acceptor = acceptor;
        this.random = random;
        this.window = cfg.datagramWindow;
        this.cookies = new CookieJar(random, 60_000_000_000L, 30_000_000_000L, host.nanoTime());
    }

    /** @return the datagram credit granted to peers: the configured window, or less when the socket is small */
    int window() {
        return window;
    }

    /**
     * Grants peers no more datagrams than the receive socket can queue: beyond that, a burst the window allows
     * would overflow the socket and be lost (the kernel caps SO_RCVBUF at net.core.rmem_max).
     */
    void fitWindowToSocket(int receiveBufferBytes) {
        int fit = Math.max(64, receiveBufferBytes / 2048);
        window = Math.min(cfg.datagramWindow, fit);
    }

    // ------------------------------------------------------------------ inbound

    /** Processes one received packet. Does not take ownership of {@code p}. */
    void receive(ByteBuf p, InetSocketAddress from, long now) {
        int len = p.readableBytes();
        int r = p.readerIndex();
        if (len < Wire.MIN_PACKET) {
            counters[TRUNCATED.ordinal()]++;
            return;
        }
        if (p.getUnsignedByte(r + Wire.OFF_VERSION) != Wire.VERSION) {
            counters[BAD_VERSION.ordinal()]++;
            return;
        }
        int type = p.getUnsignedByte(r + Wire.OFF_TYPE);
        if (type < Wire.TYPE_INIT || type > Wire.TYPE_MAX) {
            counters[BAD_TYPE.ordinal()]++;
            return;
        }
        int flags = p.getUnsignedShort(r + Wire.OFF_FLAGS);
        if ((flags & ~Wire.FLAGS_KNOWN) != 0) {
            counters[BAD_FLAGS.ordinal()]++;
            return;
        }
        boolean keyed = (flags & Wire.FLAG_KEYED) != 0;
        if (len < Wire.HEADER + (keyed ? Wire.HMAC_TAG : Wire.CRC_TAG)) {
            counters[TRUNCATED.ordinal()]++;
            return;
        }
        if (len > cfg.maxPacketSize) {
            counters[MALFORMED.ordinal()]++;
            return;
        }
        int dcid = p.getInt(r + Wire.OFF_DCID);
        if (type == Wire.TYPE_RESET && p.getLong(r + Wire.OFF_PN) == 0 && len >= Wire.HEADER + 4 + Wire.CRC_TAG
                && p.getUnsignedShort(r + Wire.HEADER) == ErrorCode.UNKNOWN_CONNECTION.code()) {
            onStatelessReset(p, from, keyed, dcid);
            return;
        }
        if (type == Wire.TYPE_INIT) {
            onInit(p, from, keyed, dcid, now);
            return;
        }
        if (dcid == 0) {
            counters[MALFORMED.ordinal()]++;
            return;
        }
        if (type == Wire.TYPE_COOKIE_ECHO) {
            onCookieEcho(p, from, keyed, dcid, now);
            return;
        }
        Connection c = connections.get(dcid);
        if (c == null || !c.remote.equals(from)) {
            counters[UNKNOWN_CONNECTION.ordinal()]++;
            if (type != Wire.TYPE_RESET && type != Wire.TYPE_CLOSE_ACK && !keyed && crc.verify(p)) {
                statelessReset(dcid, from, now);
            }
            return;
        }
        c.receive(p, type, flags, now);
    }

    private void onInit(ByteBuf p, InetSocketAddress from, boolean keyed, int dcid, long now) {
        int r = p.readerIndex() + Wire.HEADER;
        int tag = keyed ? Wire.HMAC_TAG : Wire.CRC_TAG;
        if (dcid != 0 || p.readableBytes() < Wire.INIT_MIN || p.getLong(p.readerIndex() + Wire.OFF_PN) != 0) {
            counters[MALFORMED.ordinal()]++;
            return;
        }
        long sessionId = p.getLong(r + 4);
        SessionGrant grant = acceptor.accept(sessionId, from);
        Tagger t = tagger(grant, keyed);
        if (t == null || !t.verify(p)) {
            counters[(grant != null && grant.isKeyed() || keyed ? AUTH_FAILED : BAD_CHECKSUM).ordinal()]++;
            return;
        }
        counters[PACKETS_RECEIVED.ordinal()]++;
        counters[BYTES_RECEIVED.ordinal()] += p.readableBytes();
        int initiator = p.getInt(r);
        int maxDatagram = p.getInt(r + 12);
        int maxPacket = p.getUnsignedShort(r + 16);
        int window = p.getInt(r + 20);
        int idleMs = p.getInt(r + 24);
        if (initiator == 0 || maxDatagram < 1 || maxPacket < ArtpConfig.MIN_PACKET_SIZE || window < 1
                || idleMs < 1000 || p.getUnsignedShort(r + 18) != 0) {
            counters[MALFORMED.ordinal()]++;
            return;
        }
        for (int i = r + 28 + Wire.NONCE, end = p.writerIndex() - t.length(); i < end; i++) {
            if (p.getByte(i) != 0) { // the padding must be zero (docs/artp.md 4.1)
                counters[MALFORMED.ordinal()]++;
                return;
            }
        }
        if (grant == null) {
            counters[HANDSHAKE_REJECTED.ordinal()]++;
            sendReset(t, initiator, from, ErrorCode.UNKNOWN_SESSION, "session " + sessionId + " is not served here",
                now);
            return;
        }
        CookieJar.Contents c = scratch;
        c.responderId = newConnectionId();
        c.initiatorId = initiator;
        c.sessionId = sessionId;
        c.maxDatagram = maxDatagram;
        c.maxPacket = maxPacket;
        c.window = window;
        c.idleMillis = idleMs;
        p.getBytes(r + 28, c.clientNonce);
        random.nextBytes(c.serverNonce);
        ByteBuf out = host.allocate(Wire.HEADER + 22 + Wire.NONCE + 2 + CookieJar.LENGTH + Wire.HMAC_TAG);
        out.writeByte(Wire.VERSION).writeByte(Wire.TYPE_INIT_ACK).writeShort(t.keyed() ? Wire.FLAG_KEYED : 0)
            .writeInt(initiator).writeLong(0);
        out.writeInt(c.responderId).writeInt(cfg.maxDatagramSize).writeShort(cfg.maxPacketSize).writeShort(0)
            .writeInt(this.window).writeInt((int) (cfg.idleTimeoutNanos / 1_000_000)).writeBytes(c.serverNonce)
            .writeShort(CookieJar.LENGTH);
        cookies.mint(out, c, from, now, host.wallMillis());
        t.sign(out);
        counters[PACKETS_SENT.ordinal()]++;
        counters[BYTES_SENT.ordinal()] += out.readableBytes();
        host.transmit(out, from);
    }

    private void onCookieEcho(ByteBuf p, InetSocketAddress from, boolean keyed, int dcid, long now) {
        Connection existing = connections.get(dcid);
        int r = p.readerIndex() + Wire.HEADER;
        int tagLen = keyed ? Wire.HMAC_TAG : Wire.CRC_TAG;
        int end = p.writerIndex() - tagLen;
        if (end - r < 2 || p.getUnsignedShort(r) != end - r - 2) {
            counters[MALFORMED.ordinal()]++;
            return;
        }
        ByteBuf cookie = p.slice(r + 2, end - r - 2);
        CookieJar.Contents c = scratch;
        if (!cookies.open(cookie, from, now, host.wallMillis(), c) || c.responderId != dcid) {
            counters[COOKIE_INVALID.ordinal()]++;
            return;
        }
        if (existing != null) {
            if (existing.remote.equals(from) && existing.remoteId == c.initiatorId && !existing.client) {
                existing.sendCookieAck(); // our COOKIE_ACK was lost
                flushHost();
            } else {
                counters[COOKIE_INVALID.ordinal()]++;
            }
            return;
        }
        SessionGrant grant = acceptor.accept(c.sessionId, from);
        Tagger t = tagger(grant, keyed);
        if (t == null || !t.verify(p)) {
            counters[(grant != null && grant.isKeyed() || keyed ? AUTH_FAILED : BAD_CHECKSUM).ordinal()]++;
            return;
        }
        counters[PACKETS_RECEIVED.ordinal()]++;
        counters[BYTES_RECEIVED.ordinal()] += p.readableBytes();
        if (grant == null) {
            counters[HANDSHAKE_REJECTED.ordinal()]++;
            sendReset(t, c.initiatorId, from, ErrorCode.UNKNOWN_SESSION, "session " + c.sessionId
                + " is not served here", now);
            return;
        }
        if (live >= cfg.maxConnections) {
            counters[HANDSHAKE_REJECTED.ordinal()]++;
            counters[CONNECTION_LIMIT.ordinal()]++;
            sendReset(t, c.initiatorId, from, ErrorCode.SERVER_BUSY, connectionLimit(), now);
            return;
        }
        Connection conn = new Connection(this, false, c.responderId, from, c.sessionId, grant.key(),
            c.clientNonce.clone());
        conn.remoteId = c.initiatorId;
        conn.serverNonce = c.serverNonce.clone();
        conn.negotiate(c.maxDatagram, c.maxPacket, c.window, c.idleMillis);
        conn.establish(now);
        connections.put(conn.localId, conn);
        live++;
        conn.sendCookieAck();
        try {
            handler.connected(conn);
        } catch (RuntimeException e) {
            handlerFailed(conn, e);
        }
    }

    private static Tagger tagger(SessionGrant grant, boolean keyedFlag) {
        if (grant != null && grant.isKeyed()) {
            return keyedFlag ? Tagger.hmac(Keys.handshake(grant.key())) : null;
        }
        return keyedFlag ? null : Tagger.crc32c();
    }

    /**
     * A stateless RESET: the peer does not know the connection it received a packet for. Its dcid reflects the
     * id the peer was sent, i.e. our connection's remote id (docs/artp.md 4.9); it is matched together with the
     * source address, and ignored by keyed connections (it cannot be authenticated).
     */
    private void onStatelessReset(ByteBuf p, InetSocketAddress from, boolean keyed, int reflectedId) {
        int r = p.readerIndex() + Wire.HEADER;
        int end = p.writerIndex() - Wire.CRC_TAG;
        if (keyed || r + 4 + p.getUnsignedShort(r + 2) != end || !crc.verify(p)) {
            counters[MALFORMED.ordinal()]++;
            return;
        }
        for (Connection c : connections.values()) {
            if (c.remoteId == reflectedId && c.remote.equals(from) && !c.isKeyed()) {
                counters[PACKETS_RECEIVED.ordinal()]++;
                c.onStatelessReset(ErrorCode.UNKNOWN_CONNECTION);
                return;
            }
        }
        counters[UNKNOWN_CONNECTION.ordinal()]++;
    }

    /** Answers a packet for an unknown connection: 24 bytes, never larger than what provoked it. */
    private void statelessReset(int unknownId, InetSocketAddress to, long now) {
        if (!resetAllowed(now)) {
            return;
        }
        ByteBuf out = host.allocate(Wire.HEADER + 4 + Wire.CRC_TAG);
        out.writeByte(Wire.VERSION).writeByte(Wire.TYPE_RESET).writeShort(0).writeInt(unknownId).writeLong(0)
            .writeShort(ErrorCode.UNKNOWN_CONNECTION.code()).writeShort(0);
        crc.sign(out);
        counters[PACKETS_SENT.ordinal()]++;
        host.transmit(out, to);
    }

    private void sendReset(Tagger t, int dcid, InetSocketAddress to, ErrorCode code, String reason, long now) {
        if (!resetAllowed(now)) {
            return;
        }
        byte[] text = reason.getBytes(StandardCharsets.UTF_8);
        int len = Math.min(text.length, Wire.MAX_REASON);
        ByteBuf out = host.allocate(Wire.HEADER + 4 + len + Wire.HMAC_TAG);
        out.writeByte(Wire.VERSION).writeByte(Wire.TYPE_RESET).writeShort(t.keyed() ? Wire.FLAG_KEYED : 0)
            .writeInt(dcid).writeLong(0).writeShort(code.code()).writeShort(len).writeBytes(text, 0, len);
        t.sign(out);
        counters[PACKETS_SENT.ordinal()]++;
        host.transmit(out, to);
    }

    private boolean resetAllowed(long now) {
        if (now - resetWindowStart >= 1_000_000_000L) {
            resetWindowStart = now;
            resetsInWindow = 0;
        }
        return ++resetsInWindow <= STATELESS_RESETS_PER_SECOND;
    }

    private int newConnectionId() {
        int id;
        do {
            id = random.nextInt();
        } while (id == 0 || connections.containsKey(id));
        return id;
    }

    // ------------------------------------------------------------------ outbound

    /** The reason a connection over the cap is refused, naming the setting. */
    private String connectionLimit() {
        return "the endpoint has its maximum of " + cfg.maxConnections + " connections open (maxConnections)";
    }

    CompletionStage<ArtpConnection> connect(InetSocketAddress remote, long sessionId, byte[] key) {
        if (key != null && key.length != 32) {
            CompletableFuture<ArtpConnection> f = new CompletableFuture<>();
            f.completeExceptionally(new IllegalArgumentException("an ARTP session key has 32 bytes, got "
                + key.length));
            return f;
        }
        if (live >= cfg.maxConnections) {
            counters[CONNECTION_LIMIT.ordinal()]++;
            CompletableFuture<ArtpConnection> f = new CompletableFuture<>();
            f.completeExceptionally(new ArtpException(ErrorCode.SERVER_BUSY, connectionLimit()));
            return f;
        }
        byte[] nonce = new byte[Wire.NONCE];
        random.nextBytes(nonce);
        Connection c = new Connection(this, true, newConnectionId(), remote, sessionId,
            key == null ? null : key.clone(), nonce);
        connections.put(c.localId, c);
        live++;
        c.start(host.nanoTime());
        flushHost();
        return c.connectFuture;
    }

    void markDirty(Connection c) {
        host.activity();
        if (!c.dirty) {
            c.dirty = true;
            dirty.add(c);
        }
        if (!flushScheduled) {
            flushScheduled = true;
            host.execute(flushTask);
        }
    }

    private void flushScheduled() {
        flushScheduled = false;
        flushAll();
    }

    /** Lets every connection with something to do send it; then flushes the host. */
    void flushAll() {
        long now = host.nanoTime();
        Connection c;
        int n = dirty.size();
        while (n-- > 0 && (c = dirty.poll()) != null) {
            if (!host.canTransmit()) {
                dirty.addFirst(c);
                break;
            }
            c.flush(now);
        }
        flushHost();
    }

    void flushHost() {
        if (host instanceof Flushable) {
            ((Flushable) host).flush();
        }
    }

    /** Hosts that batch writes flush them when the engine asks. */
    interface Flushable {
        void flush();
    }

    /**
     * Runs due timers of every connection.
     *
     * @return whether a timer can come due within milliseconds (see {@link Connection#timerBusy()}), so that the host
     *     keeps ticking finely; false when every connection is quiet (or there is none), and a coarse tick will do
     *     until {@link Host#activity()} says otherwise
     */
    boolean onTick(long now) {
        if (wakeAt != 0 && now >= wakeAt) {
            wakeAt = 0;
        }
        boolean busy = false;
        timerScratch.clear();
        timerScratch.addAll(connections.values());
        for (Connection c : timerScratch) {
            if (!c.onTimer(now)) {
                if (connections.get(c.localId) == c && c.state() == io.pando.artp.ConnectionState.CLOSED) {
                    connections.remove(c.localId);
                }
            } else if (!busy) {
                busy = c.timerBusy();
            }
        }
        timerScratch.clear();
        if (!dirty.isEmpty()) {
            flushAll();
        }
        return busy || wakeAt != 0 || !dirty.isEmpty();
    }

    /** A connection's pacer wants to send again at {@code at}; the tick covers it with millisecond resolution. */
    void wakeAt(long at) {
        wakeAt = wakeAt == 0 ? at : Math.min(wakeAt, at);
        host.activity();
    }

    void closed(Connection c, boolean remove) {
        if (remove && connections.get(c.localId) == c) {
            connections.remove(c.localId);
        }
        live--;
        long[] v = c.counters;
        for (int i = 0; i < v.length; i++) {
            closedTotals[i] += v[i];
        }
    }

    /** Keeps a closed connection reachable until {@code until} so it can answer a retransmitted CLOSE. */
    void linger(Connection c, long until) {
        connections.put(c.localId, c);
    }

    void handlerFailed(Connection c, RuntimeException e) {
        LOG.log(Level.WARNING, "ArtpHandler threw on " + c + "; the connection continues", e);
    }

    /** Resets every connection (endpoint shutting down). */
    void closeAll(ErrorCode code, String reason) {
        for (Connection c : new ArrayList<>(connections.values())) {
            if (c.state() != io.pando.artp.ConnectionState.CLOSED) {
                c.reset(code, reason);
            }
        }
        connections.clear();
        flushHost();
    }

    Collection<ArtpConnection> connections() {
        List<ArtpConnection> list = new ArrayList<>();
        for (Connection c : connections.values()) {
            if (c.state() != io.pando.artp.ConnectionState.CLOSED) {
                list.add(c);
            }
        }
        return list;
    }

    ArtpStats stats() {
        long[] v = counters.clone();
        for (int i = 0; i < v.length; i++) {
            v[i] += closedTotals[i];
        }
        long[] g = new long[v.length];
        long conns = 0;
        for (Connection c : connections.values()) {
            if (c.state() == io.pando.artp.ConnectionState.CLOSED) {
                continue;
            }
            long[] cv = c.counters;
            for (int i = 0; i < v.length; i++) {
                v[i] += cv[i];
            }
            c.gauges(g);
            conns++;
        }
        // gauges: of the last connection for RTT/cwnd (single-connection endpoints are the common case)
        for (ArtpCounter k : ArtpCounter.values()) {
            if (k.isGauge()) {
                v[k.ordinal()] = g[k.ordinal()];
            }
        }
        v[CONNECTIONS.ordinal()] = conns;
        return new ArtpStats(v);
    }
}
