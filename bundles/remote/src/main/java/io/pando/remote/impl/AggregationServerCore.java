package io.pando.remote.impl;

import io.netty.buffer.ByteBuf;
import io.netty.handler.codec.CorruptedFrameException;
import io.pando.api.session.SessionId;
import io.pando.api.unit.UnitId;
import io.pando.artp.ArtpConfig;
import io.pando.artp.ArtpConnection;
import io.pando.artp.ArtpEndpoint;
import io.pando.artp.ArtpHandler;
import io.pando.artp.ErrorCode;
import io.pando.artp.SessionAcceptor;
import io.pando.link.AggregationChannel;
import io.pando.link.AggregationPort;
import io.pando.link.Credit;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.net.InetSocketAddress;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/**
 * On the aggregation node: takes the results of units on other nodes and hands them to the local aggregation
 * unit. Each (session, unit) comes on its own ARTP connection, bound to the session by the handshake and named
 * by a HELLO datagram; the connection is then {@link AggregationPort#attach attached} to the session like a local
 * unit, and every result is handed over in place (prefix skipped, no copy) on the endpoint's event loop.
 *
 * <p><b>Order and acknowledgements.</b> ARTP delivers in completion order; a unit numbers its results in the order
 * it hands them over, and each connection hands them on in that order: a result that arrives before an earlier
 * one waits in a ring (indexed by number, grown by doubling and reused; counted in {@code results_reordered}) until
 * the gap fills. So the aggregation channel sees a remote unit's results in the unit's order, as a local unit's. A
 * {@code PROCESSED} datagram (the unit's acknowledgement: a sequence and how many results came before it) is passed
 * to the channel's {@link AggregationChannel#processed} once that many results were handed on, never before.
 * If the distribution unit on this node attached the unit itself ({@link ResultAttachments}), the results and
 * acknowledgements go into its channel, and so through its failure recovery.
 *
 * <p><b>Credit.</b> The aggregation unit returns a result's bytes once the result has left for the destination.
 * While more than {@code window} bytes of one connection's results are at the aggregation unit and not yet
 * returned, the connection stops granting the unit node credit; it grants again below half of that. So a slow
 * destination pushes back to the units, and from them to the sender.
 */
final class AggregationServerCore implements ArtpHandler {

    private static final Logger LOG = System.getLogger(AggregationServerCore.class.getName());
    private static final Object CLOSED = new Object();
    private static final long NONE = -1;
    /** Most results a connection holds behind a missing one (far more than ARTP's window lets in flight). */
    private static final int MAX_EARLY = 1 << 20;

    private final AggregationPort aggregation;
    private final long window;
    private final ArtpEndpoint endpoint;
    private final LongAdder badDatagrams = new LongAdder();
    private final LongAdder lostUnnamed = new LongAdder();
    private final LongAdder refused = new LongAdder();
    private final LongAdder late = new LongAdder();
    private final LongAdder attached = new LongAdder();
    private final LongAdder pauses = new LongAdder();
    private final LongAdder resultsIn = new LongAdder();
    private final LongAdder reordered = new LongAdder();
    private final LongAdder acks = new LongAdder();
    private final LongAdder lostOutOfOrder = new LongAdder();
    private final LongAdder viaDistribution = new LongAdder();
    private final ResultAttachments attachments;

    /**
     * @param bind the local address units send to
     * @param window most bytes of one connection's results at the aggregation unit before it is paused
     */
    AggregationServerCore(InetSocketAddress bind, AggregationPort aggregation, long window, ArtpConfig artp) {
        this(bind, aggregation, window, artp, new ResultAttachments());
    }

    /**
     * @param attachments the channels the distribution unit on this node attached remote units through; this
     *     server takes them from the start and stops taking them when it stops
     */
    AggregationServerCore(InetSocketAddress bind, AggregationPort aggregation, long window, ArtpConfig artp,
            ResultAttachments attachments) {
        if (window < 1) {
            throw new IllegalArgumentException("the credit window must be >= 1 byte, got " + window);
        }
        this.aggregation = aggregation;
        this.attachments = attachments;
        this.window = window;
        try {
            this.endpoint = ArtpEndpoint.builder().bind(bind).config(artp).handler(this).acceptor(SessionAcceptor.ANY)
                .start();
        } catch (RuntimeException e) {
            throw new IllegalStateException("aggregation server: cannot bind " + bind + ": " + e.getMessage(), e);
        }
        attachments.served(true);
        LOG.log(Level.INFO, "aggregation server: results from remote units on udp {0} ({1})",
            endpoint.localAddress(), endpoint.transport());
    }

    InetSocketAddress localAddress() {
        return endpoint.localAddress();
    }

    void stop() {
        attachments.served(false);
        LOG.log(Level.INFO, "aggregation server: stopping; totals {0}", counters());
        endpoint.close();
    }

    @Override
    public void connected(ArtpConnection connection) {
        connection.attach(new Unnamed());
        connection.eventLoop().schedule(() -> {
            if (connection.attachment() instanceof Unnamed u) {
                int n = u.releaseAll();
                lostUnnamed.add(n);
                connection.attach(CLOSED);
                connection.reset(ErrorCode.PROTOCOL_VIOLATION, "no HELLO within " + UnitServerCore.HELLO_TIMEOUT_MS
                    + " ms");
                LOG.log(Level.WARNING, "aggregation server: the result connection from {0} for session {1} sent no "
                    + "HELLO; reset, {2} results dropped", connection.remoteAddress(),
                    Long.toUnsignedString(connection.sessionId()), n);
            }
        }, UnitServerCore.HELLO_TIMEOUT_MS, TimeUnit.MILLISECONDS);
    }

    @Override
    public void datagram(ArtpConnection connection, ByteBuf datagram, boolean artpControl) {
        int flags;
        int number;
        try {
            if (artpControl) {
                throw new CorruptedFrameException("an ARTP CONTROL datagram on a result connection");
            }
            flags = DataPrefix.readFlags(datagram);
            if ((flags & DataPrefix.CONTROL) != 0) {
                throw new CorruptedFrameException("a result flagged CONTROL (units send results only)");
            }
            if ((flags & DataPrefix.PROCESSED) != 0 && datagram.readableBytes() != DataPrefix.LENGTH) {
                throw new CorruptedFrameException("a PROCESSED datagram with a payload");
            }
            number = DataPrefix.number(datagram);
        } catch (CorruptedFrameException e) {
            bad(connection, e.getMessage());
            datagram.release();
            return;
        }
        long seq = DataPrefix.readSequence(datagram);
        long flow = DataPrefix.readFlow(datagram);
        boolean hello = (flags & DataPrefix.HELLO) != 0;
        boolean processed = (flags & DataPrefix.PROCESSED) != 0;
        Object a = connection.attachment();
        if (a instanceof Inbound in) {
            if (hello) {
                bad(connection, "a second HELLO");
                datagram.release();
            } else if (processed) {
                datagram.release();
                in.processed(seq, number);
            } else {
                in.deliver(seq, flow, number, datagram);
            }
        } else if (a instanceof Unnamed u) {
            if (hello) {
                name(connection, u, datagram);
            } else if (u.hold(seq, flow, number, datagram, processed)) {
                connection.pauseReceiving();
            }
        } else {
            late.increment();
            datagram.release();
        }
    }

    private void name(ArtpConnection connection, Unnamed u, ByteBuf hello) {
        UnitId unit;
        try {
            unit = DataPrefix.helloUnit(hello);
        } catch (CorruptedFrameException e) {
            bad(connection, e.getMessage());
            refuse(connection, u, e.getMessage());
            return;
        } finally {
            hello.release();
        }
        Inbound in = new Inbound(connection, unit);
        SessionId session = new SessionId(connection.sessionId());
        ResultAttachments.Attachment pre = attachments.take(session, unit);
        try {
            if (pre != null) {
                in.channel = pre.channel;
                in.attachment = pre;
                pre.creditTo(in);
                viaDistribution.increment();
            } else {
                in.channel = aggregation.attach(session, unit, in);
            }
        } catch (NoSuchElementException e) {
            refuse(connection, u, e.getMessage());
            return;
        } catch (RuntimeException e) {
            refuse(connection, u, "the aggregation unit refused unit " + unit + " for session " + session + ": " + e);
            return;
        }
        attached.increment();
        connection.attach(in);
        if (connection.isReceivingPaused()) {
            connection.resumeReceiving(); // paused while unnamed; the credit window decides from now on
        }
        Unnamed.Held h;
        while ((h = u.poll()) != null) {
            if (h.control()) {
                h.data().release();
                in.processed(h.sequence(), h.number());
            } else {
                in.deliver(h.sequence(), h.flow(), h.number(), h.data());
            }
        }
    }

    private void refuse(ArtpConnection connection, Unnamed u, String why) {
        int n = u.releaseAll();
        refused.increment();
        lostUnnamed.add(n);
        connection.attach(CLOSED);
        connection.reset(ErrorCode.APPLICATION_ABORT, why);
        LOG.log(Level.WARNING, "aggregation server: refused the result connection from {0}: {1}; {2} results "
            + "dropped", connection.remoteAddress(), why, n);
    }

    private void bad(ArtpConnection connection, String why) {
        badDatagrams.increment();
        long n = badDatagrams.sum();
        if (n == 1 || n % 10_000 == 0) {
            LOG.log(Level.WARNING, "aggregation server: dropped a malformed datagram from {0} (session {1}): {2} "
                + "({3} so far)", connection.remoteAddress(), Long.toUnsignedString(connection.sessionId()), why, n);
        }
    }

    @Override
    public void closed(ArtpConnection connection, ErrorCode code, String reason) {
        Object a = connection.attachment();
        if (a instanceof Unnamed u) {
            int n = u.releaseAll();
            lostUnnamed.add(n);
            if (n > 0) {
                LOG.log(Level.WARNING, "aggregation server: the result connection from {0} ended ({1} {2}) before "
                    + "its HELLO; {3} results dropped", connection.remoteAddress(), code, reason, n);
            }
        } else if (a instanceof Inbound in) {
            int n = in.releaseHeld();
            if (code != ErrorCode.NO_ERROR || n > 0) {
                LOG.log(Level.WARNING, "aggregation server: the result connection of unit {0} for session {1} from "
                    + "{2} ended: {3} {4}; {5} results that came after a missing one dropped", in.unit,
                    Long.toUnsignedString(connection.sessionId()), connection.remoteAddress(), code, reason, n);
            }
        }
    }

    Map<String, Long> counters() {
        Map<String, Long> m = new LinkedHashMap<>();
        m.put("connections", (long) endpoint.connections().size());
        m.put("attached", attached.sum());
        m.put("results_in", resultsIn.sum());
        m.put("pauses", pauses.sum());
        m.put("bad_datagrams", badDatagrams.sum());
        m.put("refused", refused.sum());
        m.put("lost_before_hello", lostUnnamed.sum());
        m.put("late_datagrams", late.sum());
        m.put("results_reordered", reordered.sum());
        m.put("acks", acks.sum());
        m.put("lost_out_of_order", lostOutOfOrder.sum());
        m.put("attached_by_distribution", viaDistribution.sum());
        return m;
    }

    /**
     * One named result connection: the unit's channel into the session, the credit it gets back, and the results
     * that came before an earlier one (endpoint loop only).
     */
    private final class Inbound implements Credit {

        private final ArtpConnection connection;
        private final UnitId unit;
        private final AtomicLong outstanding = new AtomicLong();
        private final AtomicBoolean resumeScheduled = new AtomicBoolean();
        private final Runnable resume = this::resume;
        private volatile boolean paused;
        AggregationChannel channel;
        /** The distribution unit's attachment, when it attached the unit (its acknowledgements are watched). */
        ResultAttachments.Attachment attachment;
        /** The number of the next result to hand on (modulo 2^32). */
        private int next;
        /** Results that came before an earlier one, at {@code number & (length - 1)}. */
        private ByteBuf[] early = new ByteBuf[16];
        private long[] earlySeq = new long[16];
        private long[] earlyFlow = new long[16];
        private int earlyCount;
        /** The newest acknowledgement waiting for its results; {@link #NONE} without one. */
        private long ackSeq = NONE;
        private int ackResults;
        private long ackApplied = NONE;

        Inbound(ArtpConnection connection, UnitId unit) {
            this.connection = connection;
            this.unit = unit;
        }

        /** Endpoint loop: a result; ownership passes to the aggregation unit. */
        void deliver(long sequence, long flow, int number, ByteBuf data) {
            int ahead = number - next;
            if (ahead < 0 || ahead >= MAX_EARLY) {
                bad(connection, "result number " + Integer.toUnsignedString(number) + " while expecting "
                    + Integer.toUnsignedString(next));
                data.release();
                return;
            }
            if (ahead > 0 && ahead < early.length && early[number & (early.length - 1)] != null) {
                bad(connection, "result number " + Integer.toUnsignedString(number) + " twice");
                data.release();
                return;
            }
            resultsIn.increment();
            long o = outstanding.addAndGet(data.readableBytes());
            if (ahead == 0) {
                channel.deliver(sequence, flow, data); // the prefix stays in front: room for the egress's flow prefix
                next++;
                if (earlyCount > 0) {
                    handOnEarly();
                }
                if (ackSeq != NONE && next - ackResults >= 0) {
                    long s = ackSeq;
                    ackSeq = NONE;
                    apply(s);
                }
            } else {
                keepEarly(sequence, flow, number, data);
            }
            if (o > window && !paused) {
                paused = true;
                pauses.increment();
                connection.pauseReceiving();
                if (outstanding.get() <= window / 2) { // released before it saw the pause
                    resume();
                }
            }
        }

        private void handOnEarly() {
            int mask = early.length - 1;
            ByteBuf b;
            while (earlyCount > 0 && (b = early[next & mask]) != null) {
                int i = next & mask;
                early[i] = null;
                earlyCount--;
                channel.deliver(earlySeq[i], earlyFlow[i], b);
                next++;
            }
        }

        private void keepEarly(long sequence, long flow, int number, ByteBuf data) {
            while (number - next >= early.length) {
                growEarly();
            }
            int i = number & (early.length - 1);
            early[i] = data;
            earlySeq[i] = sequence;
            earlyFlow[i] = flow;
            earlyCount++;
            reordered.increment();
        }

        private void growEarly() {
            int n = early.length * 2;
            ByteBuf[] b = new ByteBuf[n];
            long[] s = new long[n];
            long[] f = new long[n];
            for (int k = 0; k < early.length; k++) {
                int from = (next + k) & (early.length - 1);
                int to = (next + k) & (n - 1);
                b[to] = early[from];
                s[to] = earlySeq[from];
                f[to] = earlyFlow[from];
            }
            early = b;
            earlySeq = s;
            earlyFlow = f;
        }

        /**
         * Endpoint loop: the unit acknowledged {@code sequence} after handing over {@code results} results; applied
         * once they were all handed on. Acknowledgements may arrive out of order: only a newer one counts.
         */
        void processed(long sequence, int results) {
            if (sequence <= ackApplied || (ackSeq != NONE && sequence <= ackSeq)) {
                return;
            }
            if (next - results >= 0) {
                ackSeq = NONE;
                apply(sequence);
            } else {
                ackSeq = sequence;
                ackResults = results;
            }
        }

        private void apply(long sequence) {
            if (sequence > ackApplied) {
                ackApplied = sequence;
                acks.increment();
                channel.processed(sequence);
                if (attachment != null) {
                    attachment.acked(sequence);
                }
            }
        }

        /** Endpoint loop, the connection ended: @return how many early results were dropped */
        int releaseHeld() {
            int n = 0;
            for (int i = 0; i < early.length && earlyCount > 0; i++) {
                if (early[i] != null) {
                    early[i].release();
                    early[i] = null;
                    earlyCount--;
                    n++;
                }
            }
            lostOutOfOrder.add(n);
            return n;
        }

        /** Aggregation loop: results of this many bytes left for the destination. */
        @Override
        public void release(int bytes) {
            long o = outstanding.addAndGet(-bytes);
            if (paused && o <= window / 2 && resumeScheduled.compareAndSet(false, true)) {
                connection.eventLoop().execute(resume);
            }
        }

        /** Endpoint loop. */
        private void resume() {
            resumeScheduled.set(false);
            if (paused && outstanding.get() <= window / 2) {
                paused = false;
                connection.resumeReceiving();
            }
        }
    }
}
