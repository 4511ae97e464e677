package io.pando.artp.impl;

import static io.pando.artp.ArtpCounter.*;

import io.netty.buffer.ByteBuf;
import io.netty.channel.EventLoop;
import io.netty.util.collection.LongObjectHashMap;
import io.netty.util.internal.PlatformDependent;
import io.pando.artp.ArtpConfig;
import io.pando.artp.ArtpConnection;
import io.pando.artp.ArtpCounter;
import io.pando.artp.ArtpException;
import io.pando.artp.ArtpHandler;
import io.pando.artp.ArtpStats;
import io.pando.artp.ConnectionState;
import io.pando.artp.ControlBlock;
import io.pando.artp.ErrorCode;
import io.pando.artp.wire.Wire;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.Iterator;
import java.util.Queue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * One ARTP/1 connection: handshake (client side), sender (fragmentation, loss detection, retransmission, RTO,
 * NewReno, credit), receiver (duplicate suppression, reassembly, unordered delivery, acknowledgements) and the
 * closing states. All protocol work runs on the endpoint's thread; {@link #send} from other threads goes
 * through a lock-free queue. Allocates nothing per packet beyond the pooled packet buffer.
 */
final class Connection implements ArtpConnection {

    private static final int RANGES_TRACKED = 64;

    final EndpointCore endpoint;
    private final Host host;
    private final ArtpConfig cfg;
    private final ArtpHandler handler;
    final boolean client;
    final int localId;
    int remoteId;
    final InetSocketAddress remote;
    final long sessionId;
    private final byte[] sessionKey;
    private Tagger tx;
    private Tagger rx;
    private Tagger handshakeTagger;
    private volatile ConnectionState state;
    /** Set by close() and reset() on the caller's thread: from then on sends are refused, before the loop runs. */
    private volatile boolean sendsStopped;
    final long[] counters = new long[ArtpCounter.values().length];
    private volatile Object attachment;

    // handshake (client)
    final byte[] clientNonce;
    byte[] serverNonce;
    private byte[] cookie;
    private int handshakeAttempts;
    private long handshakeDeadline;
    private long handshakeTimeout;
    final CompletableFuture<ArtpConnection> connectFuture = new CompletableFuture<>();

    // negotiated
    private int peerMaxDatagram;
    private long idleTimeout;
    private int packetSize;
    private int maxPayload;

    // sender
    private long nextDatagramId;
    private long peerMaxDatagramId;
    private final ArrayDeque<ByteBuf> queue = new ArrayDeque<>();
    private final ArrayDeque<ByteBuf> controlQueue = new ArrayDeque<>();
    private final Queue<ByteBuf> inbox = PlatformDependent.newMpscQueue();
    private final Queue<ByteBuf> controlInbox = PlatformDependent.newMpscQueue();
    private final AtomicBoolean wakeup = new AtomicBoolean();
    private final Runnable drainInbox = this::drainInbox;
    private final ArrayDeque<OutDatagram> pool = new ArrayDeque<>();
    private OutDatagram current;
    private final FragmentQueue retransmit = new FragmentQueue();
    private final SentRing sent = new SentRing(1024);
    private NewReno cc;
    private final RttEstimator rtt;
    private long largestAcked;
    private int packetThreshold = 3;
    private int probes;
    private long rtoDeadline;
    private long lossDeadline;
    private final AtomicLong pending = new AtomicLong();
    private volatile boolean writable = true;
    private long lastSent;
    private long lastReceived;
    private long lastProgress;
    private long keepAlive;
    private double pacingTokens;
    private long pacingAt;

    // receiver
    private final RangeSet received = new RangeSet(RANGES_TRACKED);
    private long largestReceivedAt;
    private int unackedEliciting;
    private boolean ackNow;
    private long ackDeadline;
    private final DeliveredWindow delivered;
    private final LongObjectHashMap<Partial> partials = new LongObjectHashMap<>();
    private final ArrayDeque<Partial> partialPool = new ArrayDeque<>();
    private long reassemblyHeld;
    /** Highest credit (exclusive datagram id) ever advertised: the handshake grants the window. */
    private long advertisedCredit = -1;
    /** Credit never grows beyond this while receiving is paused. */
    private volatile long creditCap = Long.MAX_VALUE;
    private long nextSweep;

    // closing
    private long closeDeadline;
    private final CompletableFuture<Void> closeFuture = new CompletableFuture<>();
    private long lingerUntil;
    boolean dirty;

    Connection(EndpointCore endpoint, boolean client, int localId, InetSocketAddress remote, long sessionId,
            byte[] sessionKey, byte[] clientNonce) {
        this.endpoint = endpoint;
        this.host = endpoint.host;
        this.cfg = endpoint.cfg;
        this.handler = endpoint.handler;
        this.client = client;
        this.localId = localId;
        this.remote = remote;
        this.sessionId = sessionId;
        this.sessionKey = sessionKey;
        this.clientNonce = clientNonce;
        this.rtt = new RttEstimator(cfg.initialRtoNanos, cfg.minRtoNanos, cfg.maxRtoNanos);
        this.delivered = new DeliveredWindow(Integer.highestOneBit(Math.max(64, cfg.datagramWindow - 1)) << 1);
        this.handshakeTagger = sessionKey == null ? Tagger.crc32c() : Tagger.hmac(Keys.handshake(sessionKey));
        long now = host.nanoTime();
        this.lastReceived = now;
        this.lastSent = now;
        this.idleTimeout = cfg.idleTimeoutNanos;
        this.state = client ? ConnectionState.INIT_SENT : ConnectionState.ESTABLISHED;
    }

    // ------------------------------------------------------------------ public API

    @Override
    public long sessionId() {
        return sessionId;
    }

    @Override
    public int localId() {
        return localId;
    }

    @Override
    public int remoteId() {
        return remoteId;
    }

    @Override
    public InetSocketAddress remoteAddress() {
        return remote;
    }

    @Override
    public boolean isKeyed() {
        return sessionKey != null;
    }

    @Override
    public ConnectionState state() {
        return state;
    }

    @Override
    public EventLoop eventLoop() {
        return host.eventLoop();
    }

    @Override
    public void send(ByteBuf datagram) {
        submit(datagram, false);
    }

    @Override
    public void sendControl(ByteBuf datagram) {
        try {
            ControlBlock.validate(datagram);
        } catch (RuntimeException e) {
            datagram.release();
            throw new IllegalArgumentException("not a control datagram: " + e.getMessage(), e);
        }
        submit(datagram, true);
    }

    private void submit(ByteBuf datagram, boolean control) {
        ConnectionState st = state;
        if (sendsStopped || !st.acceptsSends()) {
            datagram.release();
            throw new IllegalStateException("connection " + this + " is " + (sendsStopped && st.acceptsSends() ? "closing" : st)
                + " and takes no datagrams");
        }
        int limit = peerMaxDatagram > 0 ? peerMaxDatagram : cfg.maxDatagramSize;
        int length = datagram.readableBytes();
        if (length > limit) {
            datagram.release();
            throw new IllegalArgumentException("datagram of " + length + " bytes exceeds the peer's maximum of "
                + limit);
        }
        long p = pending.addAndGet(length);
        if (p > cfg.sendHighWater && writable) {
            writable = false;
        }
        if (host.inEventLoop()) {
            (control ? controlQueue : queue).add(datagram);
            endpoint.markDirty(this);
            if (!writable) {
                handler.writabilityChanged(this);
            }
        } else {
            (control ? controlInbox : inbox).add(datagram);
            if (wakeup.compareAndSet(false, true)) {
                host.execute(drainInbox);
            }
        }
    }

    private void drainInbox() {
        wakeup.set(false);
        ByteBuf b;
        boolean any = false;
        while ((b = controlInbox.poll()) != null) {
            if (state == ConnectionState.CLOSED) {
                abandon(b);
            } else {
                controlQueue.add(b);
                any = true;
            }
        }
        while ((b = inbox.poll()) != null) {
            if (state == ConnectionState.CLOSED) {
                abandon(b);
            } else {
                queue.add(b);
                any = true;
            }
        }
        if (any) {
            endpoint.markDirty(this);
        }
        if (!writable) {
            handler.writabilityChanged(this);
        }
    }

    private void abandon(ByteBuf b) {
        counters[DATAGRAMS_ABANDONED.ordinal()]++;
        pending.addAndGet(-b.readableBytes());
        b.release();
    }

    @Override
    public boolean isWritable() {
        return writable;
    }

    @Override
    public long pendingBytes() {
        return pending.get();
    }

    @Override
    public CompletionStage<Void> close() {
        sendsStopped = true;
        run(() -> {
            if (state == ConnectionState.ESTABLISHED) {
                state = ConnectionState.CLOSING;
                endpoint.markDirty(this);
            } else if (state == ConnectionState.INIT_SENT || state == ConnectionState.COOKIE_ECHOED) {
                terminate(ErrorCode.APPLICATION_ABORT, "closed before the handshake completed", false);
            }
        });
        return closeFuture;
    }

    @Override
    public void reset(ErrorCode code, String reason) {
        sendsStopped = true;
        run(() -> {
            if (state != ConnectionState.CLOSED) {
                if (remoteId != 0) {
                    sendCloseOrReset(Wire.TYPE_RESET, code, reason);
                    endpoint.flushHost();
                }
                terminate(code, reason == null ? "" : reason, false);
            }
        });
    }

    @Override
    public void pauseReceiving() {
        run(() -> {
            if (creditCap == Long.MAX_VALUE) {
                creditCap = Math.max(advertisedCredit, 0);
                counters[RECEIVE_PAUSES.ordinal()]++;
            }
        });
    }

    @Override
    public void resumeReceiving() {
        run(() -> {
            if (creditCap != Long.MAX_VALUE) {
                creditCap = Long.MAX_VALUE;
                if (state == ConnectionState.ESTABLISHED || state == ConnectionState.PEER_CLOSING) {
                    ackNow = true; // the window update: the peer learns the new credit at once
                    endpoint.markDirty(this);
                }
            }
        });
    }

    @Override
    public boolean isReceivingPaused() {
        return creditCap != Long.MAX_VALUE;
    }

    /**
     * The credit: datagram ids below it may be sent by the peer. It never falls below what was advertised
     * (the peer may already use it); while receiving is paused it does not grow.
     */
    private long credit() {
        if (advertisedCredit < 0) {
            advertisedCredit = endpoint.window(); // granted in the handshake
        }
        long open = Math.min(delivered.cumulative() + endpoint.window(), creditCap);
        return Math.max(advertisedCredit, open);
    }

    /** @return the credit to put in an ACK, remembered as advertised */
    private long advertise() {
        long c = credit();
        advertisedCredit = c;
        return c;
    }

    private void run(Runnable r) {
        if (host.inEventLoop()) {
            r.run();
        } else {
            host.execute(r);
        }
    }

    @Override
    public ArtpStats stats() {
        long[] v = counters.clone();
        gauges(v);
        return new ArtpStats(v);
    }

    void gauges(long[] v) {
        v[SRTT_US.ordinal()] = rtt.srtt() / 1000;
        v[RTTVAR_US.ordinal()] = rtt.rttvar() / 1000;
        v[MIN_RTT_US.ordinal()] = rtt.minRtt() / 1000;
        v[LATEST_RTT_US.ordinal()] = rtt.latest() / 1000;
        v[CWND.ordinal()] = cc == null ? 0 : cc.cwnd();
        v[SSTHRESH.ordinal()] = cc == null || cc.ssthresh() == Long.MAX_VALUE ? 0 : cc.ssthresh();
        v[BYTES_IN_FLIGHT.ordinal()] = cc == null ? 0 : cc.bytesInFlight();
        v[CONNECTIONS.ordinal()] = state == ConnectionState.CLOSED ? 0 : 1;
    }

    @Override
    public Object attachment() {
        return attachment;
    }

    @Override
    public void attach(Object attachment) {
        this.attachment = attachment;
    }

    @Override
    public String toString() {
        return "artp[" + Integer.toUnsignedString(localId, 16) + "->" + Integer.toUnsignedString(remoteId, 16) + " "
            + remote + " session " + sessionId + "]";
    }

    CompletionStage<Void> closeFuture() {
        return closeFuture;
    }

    // ------------------------------------------------------------------ handshake

    /** Client: sends INIT and arms the handshake timer. */
    void start(long now) {
        handshakeTimeout = cfg.initialRtoNanos;
        handshakeAttempts = 1;
        sendInit(now);
    }

    private void sendInit(long now) {
        ByteBuf p = host.allocate(Math.max(Wire.INIT_MIN, 128) + Wire.HMAC_TAG);
        header(p, Wire.TYPE_INIT, handshakeTagger, 0, 0);
        p.writeInt(localId).writeLong(sessionId).writeInt(cfg.maxDatagramSize).writeShort(cfg.maxPacketSize)
            .writeShort(0).writeInt(endpoint.window()).writeInt((int) (cfg.idleTimeoutNanos / 1_000_000))
            .writeBytes(clientNonce);
        p.writeZero(Wire.INIT_MIN - handshakeTagger.length() - p.readableBytes());
        emitHandshake(p, now);
    }

    private void sendCookieEcho(long now) {
        ByteBuf p = host.allocate(Wire.HEADER + 2 + cookie.length + Wire.HMAC_TAG);
        header(p, Wire.TYPE_COOKIE_ECHO, handshakeTagger, remoteId, 0);
        p.writeShort(cookie.length).writeBytes(cookie);
        emitHandshake(p, now);
    }

    private void emitHandshake(ByteBuf p, long now) {
        handshakeTagger.sign(p);
        count(PACKETS_SENT, 1);
        count(BYTES_SENT, p.readableBytes());
        host.transmit(p, remote);
        handshakeDeadline = now + handshakeTimeout;
        lastSent = now;
    }

    /** Client: the INIT_ACK arrived (tag already verified by the caller with the handshake tagger). */
    void onInitAck(ByteBuf p, long now) {
        if (state != ConnectionState.INIT_SENT) {
            return; // a late duplicate
        }
        int r = p.readerIndex() + Wire.HEADER;
        int end = p.writerIndex() - handshakeTagger.length();
        if (end - r < 4 + 4 + 2 + 2 + 4 + 4 + Wire.NONCE + 2) {
            count(MALFORMED, 1);
            return;
        }
        int responder = p.getInt(r);
        int maxDatagram = p.getInt(r + 4);
        int maxPacket = p.getUnsignedShort(r + 8);
        int window = p.getInt(r + 12);
        int idleMs = p.getInt(r + 16);
        int cookieLength = p.getUnsignedShort(r + 20 + Wire.NONCE);
        if (responder == 0 || maxDatagram < 1 || maxPacket < ArtpConfig.MIN_PACKET_SIZE || window < 1
                || idleMs < 1000 || cookieLength == 0 || cookieLength > Wire.MAX_COOKIE
                || end - (r + 22 + Wire.NONCE) != cookieLength) {
            count(MALFORMED, 1);
            return;
        }
        remoteId = responder;
        serverNonce = new byte[Wire.NONCE];
        p.getBytes(r + 20, serverNonce);
        cookie = new byte[cookieLength];
        p.getBytes(r + 22 + Wire.NONCE, cookie);
        negotiate(maxDatagram, maxPacket, window, idleMs);
        state = ConnectionState.COOKIE_ECHOED;
        handshakeTimeout = cfg.initialRtoNanos;
        handshakeAttempts = 1;
        lastReceived = now;
        sendCookieEcho(now);
    }

    /** Client: COOKIE_ACK arrived; the connection is established. */
    void onCookieAck(long now) {
        if (state != ConnectionState.COOKIE_ECHOED) {
            return;
        }
        lastReceived = now;
        establish(now);
        connectFuture.complete(this);
        handler.connected(this);
        endpoint.markDirty(this);
    }

    /** Both sides: parameters from the peer's INIT or INIT_ACK. */
    void negotiate(int peerMaxDatagram, int peerMaxPacket, int peerWindow, int peerIdleMs) {
        this.peerMaxDatagram = peerMaxDatagram;
        this.packetSize = Math.min(cfg.maxPacketSize, peerMaxPacket);
        this.peerMaxDatagramId = peerWindow;
        this.idleTimeout = Math.min(cfg.idleTimeoutNanos, peerIdleMs * 1_000_000L);
        this.keepAlive = Math.min(cfg.keepAliveNanos, idleTimeout / 3);
    }

    /** Both sides: derive packet keys and start the data phase. */
    void establish(long now) {
        if (sessionKey == null) {
            tx = Tagger.crc32c();
            rx = Tagger.crc32c();
        } else {
            byte[][] k = Keys.traffic(sessionKey, clientNonce, serverNonce);
            tx = Tagger.hmac(client ? k[0] : k[1]);
            rx = Tagger.hmac(client ? k[1] : k[0]);
        }
        handshakeTagger = null;
        maxPayload = packetSize - Wire.dataOverhead(sessionKey != null);
        cc = new NewReno(packetSize);
        state = ConnectionState.ESTABLISHED;
        lastReceived = now;
        pacingAt = now;
        nextSweep = now + 1_000_000_000L;
        count(CONNECTIONS_OPENED, 1);
    }

    /** Server: a retransmitted COOKIE_ECHO for this connection; COOKIE_ACK was lost. */
    void sendCookieAck() {
        Tagger t = sessionKey == null ? Tagger.crc32c() : Tagger.hmac(Keys.handshake(sessionKey));
        ByteBuf p = host.allocate(Wire.HEADER + Wire.HMAC_TAG);
        header(p, Wire.TYPE_COOKIE_ACK, t, remoteId, 0);
        t.sign(p);
        count(PACKETS_SENT, 1);
        count(BYTES_SENT, p.readableBytes());
        host.transmit(p, remote);
    }

    // ------------------------------------------------------------------ receive

    /**
     * A packet addressed to this connection (dcid matched, source address matched). The caller releases it;
     * anything delivered is a retained slice or a copy.
     */
    void receive(ByteBuf p, int type, int flags, long now) {
        if (state == ConnectionState.CLOSED) {
            if (type == Wire.TYPE_CLOSE && lingerUntil > now && rx != null && rx.verify(p)) {
                sendCloseOrReset(Wire.TYPE_CLOSE_ACK, ErrorCode.NO_ERROR, "");
            }
            return;
        }
        if (type == Wire.TYPE_INIT_ACK || type == Wire.TYPE_COOKIE_ACK) {
            if (!client || handshakeTagger == null) {
                return; // late duplicate after establishment
            }
            if (((flags & Wire.FLAG_KEYED) != 0) != handshakeTagger.keyed() || !handshakeTagger.verify(p)) {
                count(handshakeTagger.keyed() ? AUTH_FAILED : BAD_CHECKSUM, 1);
                return;
            }
            count(PACKETS_RECEIVED, 1);
            count(BYTES_RECEIVED, p.readableBytes());
            if (type == Wire.TYPE_INIT_ACK) {
                onInitAck(p, now);
            } else {
                onCookieAck(now);
            }
            return;
        }
        if (rx == null) {
            if (type == Wire.TYPE_RESET && handshakeTagger != null && handshakeTagger.verify(p)) {
                onReset(p);
            } else {
                count(MALFORMED, 1); // data before the handshake completed
            }
            return;
        }
        boolean keyedFlag = (flags & Wire.FLAG_KEYED) != 0;
        if (keyedFlag != rx.keyed()) {
            count(AUTH_FAILED, 1);
            return;
        }
        if (!rx.verify(p)) {
            count(rx.keyed() ? AUTH_FAILED : BAD_CHECKSUM, 1);
            return;
        }
        long pn = p.getLong(p.readerIndex() + Wire.OFF_PN);
        int bodyEnd = p.writerIndex() - rx.length();
        if (pn < 1) {
            count(MALFORMED, 1);
            return;
        }
        if (received.contains(pn)) {
            count(rx.keyed() ? REPLAYED : DUPLICATES, 1);
            if (type == Wire.TYPE_DATA || type == Wire.TYPE_CONTROL || type == Wire.TYPE_PING) {
                ackNow = true;
                endpoint.markDirty(this);
            }
            return;
        }
        lastReceived = now;
        boolean eliciting;
        switch (type) {
            case Wire.TYPE_DATA:
            case Wire.TYPE_CONTROL:
                if (!onDatagramPacket(p, type, bodyEnd, now)) {
                    return; // not accepted: not recorded, not acknowledged
                }
                eliciting = true;
                break;
            case Wire.TYPE_PING:
                if (bodyEnd != p.readerIndex() + Wire.HEADER) {
                    count(MALFORMED, 1);
                    return;
                }
                eliciting = true;
                ackNow = true;
                break;
            case Wire.TYPE_ACK:
                if (!onAck(p, bodyEnd, now)) {
                    return;
                }
                eliciting = false;
                break;
            case Wire.TYPE_CLOSE:
                if (!validCloseBody(p, bodyEnd)) {
                    count(MALFORMED, 1);
                    return;
                }
                eliciting = false;
                onClose();
                break;
            case Wire.TYPE_CLOSE_ACK:
                if (bodyEnd != p.readerIndex() + Wire.HEADER) {
                    count(MALFORMED, 1);
                    return;
                }
                eliciting = false;
                if (state == ConnectionState.CLOSE_SENT) {
                    recordReceived(pn, p, now, false, flags);
                    terminate(ErrorCode.NO_ERROR, "closed", true);
                    return;
                }
                break;
            case Wire.TYPE_RESET:
                if (!validCloseBody(p, bodyEnd)) {
                    count(MALFORMED, 1);
                    return;
                }
                count(PACKETS_RECEIVED, 1);
                count(BYTES_RECEIVED, p.readableBytes());
                onReset(p);
                return;
            default:
                count(BAD_TYPE, 1);
                return;
        }
        recordReceived(pn, p, now, eliciting, flags);
    }

    private void recordReceived(long pn, ByteBuf p, long now, boolean eliciting, int flags) {
        long largest = received.largest();
        received.add(pn);
        count(PACKETS_RECEIVED, 1);
        count(BYTES_RECEIVED, p.readableBytes());
        lastReceived = now;
        if (pn > largest) {
            largestReceivedAt = now;
        }
        if (eliciting) {
            if (pn != largest + 1 || (flags & Wire.FLAG_ACK_NOW) != 0) {
                ackNow = true; // a gap or a reordered packet: tell the sender at once
            }
            if (++unackedEliciting >= cfg.ackElicitingThreshold) {
                ackNow = true;
            } else if (ackDeadline == 0) {
                ackDeadline = now + cfg.maxAckDelayNanos;
            }
            endpoint.markDirty(this);
        }
    }

    private static boolean validCloseBody(ByteBuf p, int bodyEnd) {
        int r = p.readerIndex() + Wire.HEADER;
        if (bodyEnd - r < 4) {
            return false;
        }
        int len = p.getUnsignedShort(r + 2);
        return len <= Wire.MAX_REASON && r + 4 + len == bodyEnd;
    }

    private static String reason(ByteBuf p) {
        int r = p.readerIndex() + Wire.HEADER;
        return p.toString(r + 4, p.getUnsignedShort(r + 2), StandardCharsets.UTF_8);
    }

    private void onReset(ByteBuf p) {
        int r = p.readerIndex() + Wire.HEADER;
        ErrorCode code = ErrorCode.of(p.getUnsignedShort(r));
        if (state == ConnectionState.CLOSE_SENT) {
            terminate(ErrorCode.NO_ERROR, "closed (peer already gone)", true);
        } else {
            terminate(code, "reset by peer: " + reason(p), true);
        }
    }

    /** Stateless RESET from a peer that does not know this connection any more. */
    void onStatelessReset(ErrorCode code) {
        if (state == ConnectionState.CLOSE_SENT) {
            terminate(ErrorCode.NO_ERROR, "closed (peer already gone)", true);
        } else if (state != ConnectionState.CLOSED) {
            terminate(code, "peer does not know this connection", true);
        }
    }

    private void onClose() {
        if (state == ConnectionState.ESTABLISHED || state == ConnectionState.CLOSING) {
            state = ConnectionState.PEER_CLOSING;
            endpoint.markDirty(this);
        } else if (state == ConnectionState.CLOSE_SENT) {
            // simultaneous close: both drained; answer and finish
            sendCloseOrReset(Wire.TYPE_CLOSE_ACK, ErrorCode.NO_ERROR, "");
            terminate(ErrorCode.NO_ERROR, "closed", true);
        }
    }

    /** @return whether the packet was accepted (to be recorded and acknowledged) */
    private boolean onDatagramPacket(ByteBuf p, int type, int bodyEnd, long now) {
        int r = p.readerIndex();
        if (bodyEnd - r < Wire.DATA_HEADER) {
            count(MALFORMED, 1);
            return false;
        }
        long id = p.getLong(r + Wire.OFF_DATAGRAM_ID);
        long length = p.getUnsignedInt(r + Wire.OFF_DATAGRAM_LENGTH);
        int index = p.getUnsignedShort(r + Wire.OFF_FRAGMENT_INDEX);
        int fragments = p.getUnsignedShort(r + Wire.OFF_FRAGMENT_COUNT);
        int payload = bodyEnd - (r + Wire.DATA_HEADER);
        if (id < 0 || length > cfg.maxDatagramSize || !validFragment(length, index, fragments, payload)) {
            count(MALFORMED, 1);
            return false;
        }
        long cumulative = delivered.cumulative();
        if (delivered.isDelivered(id)) {
            count(DUPLICATE_FRAGMENTS, 1);
            return true;
        }
        if (id >= credit()) {
            count(FLOW_CONTROL, 1);
            return false;
        }
        if (fragments == 1) {
            deliver(id, type, p.retainedSlice(r + Wire.DATA_HEADER, payload));
            return true;
        }
        Partial part = partials.get(id);
        if (part == null) {
            if (reassemblyHeld + length > cfg.reassemblyBytes) {
                count(REASSEMBLY_FULL, 1);
                return false;
            }
            part = partialPool.isEmpty() ? new Partial() : partialPool.poll();
            part.init(id, type, (int) length, fragments, host.allocate((int) length), now);
            partials.put(id, part);
            reassemblyHeld += length;
        } else if (part.type != type || part.length != length || part.count != fragments) {
            count(MALFORMED, 1);
            return false;
        }
        if (part.has(index)) {
            count(DUPLICATE_FRAGMENTS, 1);
            return true;
        }
        part.buffer.setBytes(index * part.fragmentSize, p, r + Wire.DATA_HEADER, payload);
        part.firstAt = now; // the reassembly timeout runs from the last progress
        if (part.mark(index)) {
            partials.remove(id);
            reassemblyHeld -= part.length;
            ByteBuf whole = part.buffer.writerIndex(part.length);
            part.buffer = null;
            partialPool.add(part);
            deliver(id, part.type, whole);
        }
        return true;
    }

    /** The fragmentation rule of docs/artp.md: balanced fragments, S = ceil(L / n). */
    static boolean validFragment(long length, int index, int count, int payload) {
        if (count < 1 || index >= count) {
            return false;
        }
        if (length == 0) {
            return count == 1 && payload == 0;
        }
        long size = (length + count - 1) / count;
        if ((count - 1) * size >= length) {
            return false;
        }
        long expected = index < count - 1 ? size : length - (count - 1) * size;
        return payload == expected;
    }

    private void deliver(long id, int type, ByteBuf datagram) {
        delivered.markDelivered(id);
        boolean control = type == Wire.TYPE_CONTROL;
        if (control) {
            try {
                ControlBlock.validate(datagram);
            } catch (RuntimeException e) {
                count(MALFORMED, 1);
                datagram.release();
                return;
            }
            count(CONTROL_DATAGRAMS_DELIVERED, 1);
        }
        count(DATAGRAMS_DELIVERED, 1);
        try {
            handler.datagram(this, datagram, control);
        } catch (RuntimeException e) {
            endpoint.handlerFailed(this, e);
        }
    }

    /** @return whether the ACK was valid */
    private boolean onAck(ByteBuf p, int bodyEnd, long now) {
        int r = p.readerIndex() + Wire.HEADER;
        if (bodyEnd - r < 8 + 4 + 8 + 8 + 1 + 4) {
            count(MALFORMED, 1);
            return false;
        }
        long largest = p.getLong(r);
        long ackDelay = p.getUnsignedInt(r + 8) * 1000L;
        long maxDatagramId = p.getLong(r + 20);
        int k = p.getUnsignedByte(r + 28);
        long first = p.getUnsignedInt(r + 29);
        if (k > Wire.MAX_ACK_RANGES || bodyEnd - (r + 33) != 8 * k || largest < 1 || largest >= sent.next()
                || first >= largest || maxDatagramId < 0) {
            count(INVALID_ACK, 1);
            return false;
        }
        // validate every range before acting on any
        long hi = largest;
        long lo = largest - first;
        int q = r + 33;
        for (int i = 0; i < k; i++) {
            long gap = p.getUnsignedInt(q + 8 * i);
            long len = p.getUnsignedInt(q + 8 * i + 4);
            hi = lo - gap - 2;
            lo = hi - len;
            if (lo < 1) {
                count(INVALID_ACK, 1);
                return false;
            }
        }
        count(ACKS_RECEIVED, 1);
        if (maxDatagramId > peerMaxDatagramId) {
            peerMaxDatagramId = maxDatagramId;
            endpoint.markDirty(this);
        }
        boolean progress = ackRange(largest - first, largest, largest, ackDelay, now);
        hi = largest;
        lo = largest - first;
        for (int i = 0; i < k; i++) {
            long gap = p.getUnsignedInt(q + 8 * i);
            long len = p.getUnsignedInt(q + 8 * i + 4);
            hi = lo - gap - 2;
            lo = hi - len;
            progress |= ackRange(lo, hi, largest, ackDelay, now);
        }
        if (largest > largestAcked) {
            largestAcked = largest;
        }
        detectLoss(now);
        sent.compact(largestAcked, 128);
        if (progress) {
            lastProgress = now;
            rtoDeadline = cc.bytesInFlight() > 0 ? now + rtt.rto() : 0;
            endpoint.markDirty(this);
        }
        return true;
    }

    private boolean ackRange(long lo, long hi, long largest, long ackDelay, long now) {
        boolean progress = false;
        long from = Math.max(lo, sent.base());
        long to = Math.min(hi, sent.next() - 1);
        for (long pn = from; pn <= to; pn++) {
            byte st = sent.status(pn);
            if (st == SentRing.ACKED) {
                continue;
            }
            if (st == SentRing.IN_FLIGHT) {
                cc.onAcked(sent.bytes(pn), sent.sentAt(pn));
            } else if (largest - pn < 64) {
                // declared lost, yet it arrived: the path reorders; tolerate that much reordering from now on
                // (the adaptive reordering window of RFC 8985 §6.2, applied to the packet threshold)
                packetThreshold = (int) Math.max(packetThreshold, Math.min(64, largest - pn + 1));
                count(SPURIOUS_LOSSES, 1);
            }
            sent.setStatus(pn, SentRing.ACKED);
            progress = true;
            if (pn == largest && sent.ackEliciting(pn)) {
                rtt.sample(now - sent.sentAt(pn), ackDelay);
            }
            OutDatagram d = sent.datagram(pn);
            if (d != null && d.ack(sent.fragment(pn))) {
                complete(d);
            }
        }
        return progress;
    }

    private void complete(OutDatagram d) {
        int length = d.length;
        d.data.release();
        d.clear();
        pool.add(d);
        long p = pending.addAndGet(-length);
        if (!writable && p <= cfg.sendLowWater) {
            writable = true;
            handler.writabilityChanged(this);
        }
    }

    private void detectLoss(long now) {
        lossDeadline = 0;
        long delay = rtt.lossDelay();
        for (long pn = sent.base(); pn <= largestAcked && pn < sent.next(); pn++) {
            if (sent.status(pn) != SentRing.IN_FLIGHT) {
                continue;
            }
            if (largestAcked - pn >= packetThreshold || now - sent.sentAt(pn) >= delay) {
                declareLost(pn, now);
                count(FAST_RETRANSMITS, 1);
            } else {
                lossDeadline = sent.sentAt(pn) + delay;
                break;
            }
        }
    }

    private void declareLost(long pn, long now) {
        sent.setStatus(pn, SentRing.LOST);
        cc.onLost(sent.bytes(pn), sent.sentAt(pn), now);
        count(LOST, 1);
        OutDatagram d = sent.datagram(pn);
        if (d != null && !d.isAcked(sent.fragment(pn))) {
            retransmit.add(d, sent.fragment(pn));
        }
    }

    // ------------------------------------------------------------------ send

    /** Sends what is due: acknowledgements, retransmissions, new fragments, keep-alive, close. */
    void flush(long now) {
        dirty = false;
        ConnectionState s = state;
        if (s == ConnectionState.CLOSED || s == ConnectionState.INIT_SENT || s == ConnectionState.COOKIE_ECHOED) {
            return;
        }
        if (ackNow || (ackDeadline != 0 && now >= ackDeadline)) {
            sendAck(now);
        }
        while (host.canTransmit() && (cc.canSend() || probes > 0)) {
            if (probes == 0 && cfg.pacing && !pace(now)) {
                break;
            }
            if (probes > 0 && !cc.canSend()) {
                probes--; // a probe after a retransmission timeout goes out whatever the window says
            }
            if (!retransmit.isEmpty()) {
                OutDatagram d = retransmit.peekDatagram();
                int f = retransmit.peekFragment();
                retransmit.remove();
                if (d != null && !d.isAcked(f)) {
                    sendFragment(d, f, now);
                    count(RETRANSMITTED, 1);
                }
                continue;
            }
            if (current == null && (current = nextDatagram()) == null) {
                break;
            }
            OutDatagram d = current;
            sendFragment(d, d.nextFragment++, now);
            if (d.nextFragment == d.count) {
                current = null;
            }
        }
        if (s == ConnectionState.CLOSING || s == ConnectionState.PEER_CLOSING) {
            if (drained()) {
                if (s == ConnectionState.CLOSING) {
                    state = ConnectionState.CLOSE_SENT;
                    sendCloseOrReset(Wire.TYPE_CLOSE, ErrorCode.NO_ERROR, "");
                    closeDeadline = now + rtt.rto();
                } else {
                    sendCloseOrReset(Wire.TYPE_CLOSE_ACK, ErrorCode.NO_ERROR, "");
                    terminate(ErrorCode.NO_ERROR, "closed by peer", true);
                    lingerUntil = now + idleTimeout; // answers a repeated CLOSE as long as its sender may retry
                    endpoint.linger(this, lingerUntil);
                    return;
                }
            }
        }
        if (now - lastSent >= keepAlive && state == ConnectionState.ESTABLISHED) {
            sendPing(now);
        }
    }

    private boolean drained() {
        return queue.isEmpty() && controlQueue.isEmpty() && current == null && retransmit.isEmpty()
            && pending.get() == 0 && inbox.isEmpty() && controlInbox.isEmpty();
    }

    private boolean pace(long now) {
        // token bucket at 1.25 cwnd / srtt, burst of 10 packets (RFC 9002 §7.7)
        double rate = 1.25 * cc.cwnd() / Math.max(1, rtt.srtt()); // bytes per ns
        pacingTokens = Math.min(10.0 * packetSize, pacingTokens + (now - pacingAt) * rate);
        pacingAt = now;
        if (pacingTokens >= packetSize) {
            pacingTokens -= packetSize;
            return true;
        }
        endpoint.wakeAt(now + (long) ((packetSize - pacingTokens) / rate));
        return false;
    }

    private OutDatagram nextDatagram() {
        if (nextDatagramId >= peerMaxDatagramId) {
            return null; // no credit
        }
        ByteBuf b = controlQueue.poll();
        int type = Wire.TYPE_CONTROL;
        if (b == null) {
            b = queue.poll();
            type = Wire.TYPE_DATA;
            if (b == null) {
                return null;
            }
        }
        if (b.readableBytes() > peerMaxDatagram) {
            abandon(b);
            return nextDatagram();
        }
        OutDatagram d = pool.isEmpty() ? new OutDatagram() : pool.poll();
        d.init(b, nextDatagramId++, type, maxPayload);
        count(DATAGRAMS_SENT, 1);
        return d;
    }

    private void sendFragment(OutDatagram d, int f, long now) {
        int len = d.fragmentLength(f);
        ByteBuf p = host.allocate(Wire.DATA_HEADER + len + tx.length());
        long pn = sent.next();
        header(p, d.type, tx, remoteId, pn);
        p.writeLong(d.id).writeInt(d.length).writeShort(f).writeShort(d.count);
        p.writeBytes(d.data, d.data.readerIndex() + d.fragmentOffset(f), len);
        emit(p, now, true, d, f);
    }

    private void sendPing(long now) {
        ByteBuf p = host.allocate(Wire.HEADER + tx.length());
        long pn = sent.next();
        header(p, Wire.TYPE_PING, tx, remoteId, pn);
        p.setShort(p.readerIndex() + Wire.OFF_FLAGS, p.getShort(p.readerIndex() + Wire.OFF_FLAGS) | Wire.FLAG_ACK_NOW);
        emit(p, now, true, null, 0);
    }

    private void sendAck(long now) {
        int fit = (packetSize - Wire.HEADER - 33 - tx.length()) / 8 + 1;
        int n = Math.min(Math.min(received.count(), Wire.MAX_ACK_RANGES + 1), fit);
        if (n == 0) {
            ackNow = false;
            ackDeadline = 0;
            return;
        }
        ByteBuf p = host.allocate(Wire.HEADER + 33 + 8 * (n - 1) + tx.length());
        long pn = sent.next();
        header(p, Wire.TYPE_ACK, tx, remoteId, pn);
        long largest = received.high(0);
        long delayUs = Math.max(0, (now - largestReceivedAt) / 1000);
        long cumulative = delivered.cumulative();
        p.writeLong(largest).writeInt((int) Math.min(delayUs, 0xFFFFFFFFL)).writeLong(cumulative)
            .writeLong(advertise()).writeByte(n - 1)
            .writeInt((int) (largest - received.low(0)));
        for (int i = 1; i < n; i++) {
            long gap = received.low(i - 1) - received.high(i) - 2;
            p.writeInt((int) gap).writeInt((int) (received.high(i) - received.low(i)));
        }
        emit(p, now, false, null, 0);
        count(ACKS_SENT, 1);
        ackNow = false;
        ackDeadline = 0;
        unackedEliciting = 0;
    }

    private void sendCloseOrReset(int type, ErrorCode code, String reason) {
        Tagger t = tx != null ? tx : handshakeTagger;
        byte[] text = reason.getBytes(StandardCharsets.UTF_8);
        int len = Math.min(text.length, Wire.MAX_REASON);
        ByteBuf p = host.allocate(Wire.HEADER + 4 + len + Wire.HMAC_TAG);
        long pn = tx != null ? sent.next() : 0;
        header(p, type, t, remoteId, pn);
        if (type != Wire.TYPE_CLOSE_ACK) {
            p.writeShort(code.code()).writeShort(len).writeBytes(text, 0, len);
        }
        if (tx != null) {
            emit(p, host.nanoTime(), false, null, 0);
        } else {
            t.sign(p);
            count(PACKETS_SENT, 1);
            host.transmit(p, remote);
        }
    }

    private void header(ByteBuf p, int type, Tagger t, int dcid, long pn) {
        p.writeByte(Wire.VERSION).writeByte(type).writeShort(t.keyed() ? Wire.FLAG_KEYED : 0).writeInt(dcid)
            .writeLong(pn);
    }

    private void emit(ByteBuf p, long now, boolean eliciting, OutDatagram d, int f) {
        tx.sign(p);
        int size = p.readableBytes();
        sent.add(now, size, eliciting, d, f);
        if (eliciting) {
            cc.onSent(size);
            if (rtoDeadline == 0) {
                rtoDeadline = now + rtt.rto();
            }
            if (cc.bytesInFlight() == size) {
                lastProgress = now; // the give-up timer starts when the first packet goes into flight
            }
        } else {
            sent.setStatus(sent.next() - 1, SentRing.ACKED);
            sent.compact(largestAcked, 128);
        }
        count(PACKETS_SENT, 1);
        count(BYTES_SENT, size);
        lastSent = now;
        host.transmit(p, remote);
    }

    // ------------------------------------------------------------------ timers

    /**
     * @return whether one of this connection's timers can come due within milliseconds (handshake, closing,
     *     acknowledgement delay, loss detection, retransmission, data waiting to be sent or in flight); false when
     *     only the keep-alive, idle and reassembly timers run, which are seconds away and can be checked coarsely
     */
    boolean timerBusy() {
        ConnectionState s = state;
        if (s == ConnectionState.CLOSED) {
            return false;
        }
        if (s != ConnectionState.ESTABLISHED) {
            return true;
        }
        return ackNow || ackDeadline != 0 || rtoDeadline != 0 || lossDeadline != 0 || cc.bytesInFlight() > 0
            || !drained();
    }

    /** Runs the timers that are due; returns false once the connection can be forgotten. */
    boolean onTimer(long now) {
        ConnectionState s = state;
        if (s == ConnectionState.CLOSED) {
            return lingerUntil > now;
        }
        if (s == ConnectionState.INIT_SENT || s == ConnectionState.COOKIE_ECHOED) {
            if (now >= handshakeDeadline) {
                if (handshakeAttempts >= cfg.handshakeAttempts) {
                    terminate(ErrorCode.IDLE_TIMEOUT, "no answer to " + (s == ConnectionState.INIT_SENT ? "INIT"
                        : "COOKIE_ECHO") + " after " + handshakeAttempts + " attempts", true);
                    return false;
                }
                handshakeAttempts++;
                handshakeTimeout = Math.min(handshakeTimeout * 2, cfg.maxRtoNanos);
                if (s == ConnectionState.INIT_SENT) {
                    sendInit(now);
                } else {
                    sendCookieEcho(now);
                }
            }
            return true;
        }
        if (now - lastReceived >= idleTimeout) {
            if (s == ConnectionState.CLOSE_SENT) {
                // everything was acknowledged before CLOSE went out: the peer has it all, only its CLOSE_ACK is missing
                terminate(ErrorCode.NO_ERROR, "closed; the peer did not confirm within " + idleTimeout / 1_000_000
                    + " ms, all data had been acknowledged", true);
            } else {
                terminate(ErrorCode.IDLE_TIMEOUT, "no packet from the peer for " + idleTimeout / 1_000_000
                    + " ms", true);
            }
            return false;
        }
        if (cc.bytesInFlight() > 0 && now - lastProgress >= idleTimeout) {
            terminate(ErrorCode.IDLE_TIMEOUT, "nothing acknowledged for " + idleTimeout / 1_000_000 + " ms",
                true);
            return false;
        }
        if (lossDeadline != 0 && now >= lossDeadline) {
            detectLoss(now);
            sent.compact(largestAcked, 128);
            endpoint.markDirty(this);
        }
        if (rtoDeadline != 0 && now >= rtoDeadline) {
            onRetransmissionTimeout(now);
        }
        if (s == ConnectionState.CLOSE_SENT && now >= closeDeadline) {
            sendCloseOrReset(Wire.TYPE_CLOSE, ErrorCode.NO_ERROR, "");
            rtt.backOff();
            closeDeadline = now + rtt.rto();
        }
        if ((ackDeadline != 0 && now >= ackDeadline) || now - lastSent >= keepAlive) {
            endpoint.markDirty(this);
        }
        if (now >= nextSweep) {
            sweepPartials(now);
            nextSweep = now + 1_000_000_000L;
        }
        return true;
    }

    private void onRetransmissionTimeout(long now) {
        boolean any = false;
        for (long pn = sent.base(); pn < sent.next(); pn++) {
            if (sent.status(pn) == SentRing.IN_FLIGHT && sent.ackEliciting(pn)) {
                any = true;
                break;
            }
        }
        if (!any) {
            rtoDeadline = 0;
            return;
        }
        count(RTO_EXPIRATIONS, 1);
        long rto = rtt.rto();
        cc.onRetransmissionTimeout(now);
        for (long pn = sent.base(); pn < sent.next(); pn++) {
            if (sent.status(pn) == SentRing.IN_FLIGHT && now - sent.sentAt(pn) >= rto) {
                declareLost(pn, now);
            }
        }
        sent.compact(largestAcked, 128);
        rtt.backOff();
        rtoDeadline = now + rtt.rto();
        probes = 2; // RFC 9002 §6.2.4: two probes, so that one loss does not cost another timeout
        endpoint.markDirty(this);
    }

    private void sweepPartials(long now) {
        if (partials.isEmpty()) {
            return;
        }
        Iterator<LongObjectHashMap.PrimitiveEntry<Partial>> it = partials.entries().iterator();
        while (it.hasNext()) {
            Partial part = it.next().value();
            if (now - part.firstAt >= cfg.reassemblyTimeoutNanos) {
                it.remove();
                reassemblyHeld -= part.length;
                part.buffer.release();
                part.buffer = null;
                delivered.markDelivered(part.id); // abandoned: never delivered, the window moves on
                count(REASSEMBLY_TIMEOUT, 1);
            }
        }
    }

    // ------------------------------------------------------------------ teardown

    /** Closes the connection now, releasing everything it holds; notifies the handler once. */
    void terminate(ErrorCode code, String reason, boolean remove) {
        if (state == ConnectionState.CLOSED) {
            return;
        }
        state = ConnectionState.CLOSED;
        long abandoned = 0;
        if (current != null && current.data != null) {
            current.data.release();
            current.clear();
            abandoned++;
        }
        current = null;
        for (long pn = sent.base(); pn < sent.next(); pn++) {
            OutDatagram d = sent.datagram(pn);
            if (d != null && d.data != null) {
                d.data.release();
                d.clear();
                abandoned++;
            }
        }
        while (!retransmit.isEmpty()) {
            OutDatagram d = retransmit.peekDatagram();
            if (d != null && d.data != null) {
                d.data.release();
                d.clear();
                abandoned++;
            }
            retransmit.remove();
        }
        sent.clear();
        abandoned += releaseAll(queue) + releaseAll(controlQueue) + releaseAll(inbox) + releaseAll(controlInbox);
        counters[DATAGRAMS_ABANDONED.ordinal()] += abandoned;
        for (Partial part : partials.values()) {
            part.buffer.release();
            part.buffer = null;
        }
        partials.clear();
        reassemblyHeld = 0;
        pending.set(0);
        count(CONNECTIONS_CLOSED, 1);
        endpoint.closed(this, remove);
        if (!connectFuture.isDone()) {
            connectFuture.completeExceptionally(new ArtpException(code, reason));
        }
        if (code == ErrorCode.NO_ERROR) {
            closeFuture.complete(null);
        } else {
            closeFuture.completeExceptionally(new ArtpException(code, reason + " (" + abandoned
                + " datagrams not acknowledged)"));
        }
        try {
            handler.closed(this, code, reason);
        } catch (RuntimeException e) {
            endpoint.handlerFailed(this, e);
        }
    }

    private static long releaseAll(Queue<ByteBuf> q) {
        long n = 0;
        ByteBuf b;
        while ((b = q.poll()) != null) {
            b.release();
            n++;
        }
        return n;
    }

    private void count(ArtpCounter c, long n) {
        counters[c.ordinal()] += n;
    }
}
