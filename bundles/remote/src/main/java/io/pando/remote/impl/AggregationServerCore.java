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
 * <p><b>Credit.</b> The aggregation unit returns a result's bytes once the result has left for the destination.
 * While more than {@code window} bytes of one connection's results are at the aggregation unit and not yet
 * returned, the connection stops granting the unit node credit; it grants again below half of that. So a slow
 * destination pushes back to the units, and from them to the sender.
 */
final class AggregationServerCore implements ArtpHandler {

    private static final Logger LOG = System.getLogger(AggregationServerCore.class.getName());
    private static final Object CLOSED = new Object();

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

    /**
     * @param bind the local address units send to
     * @param window most bytes of one connection's results at the aggregation unit before it is paused
     */
    AggregationServerCore(InetSocketAddress bind, AggregationPort aggregation, long window, ArtpConfig artp) {
        if (window < 1) {
            throw new IllegalArgumentException("the credit window must be >= 1 byte, got " + window);
        }
        this.aggregation = aggregation;
        this.window = window;
        try {
            this.endpoint = ArtpEndpoint.builder().bind(bind).config(artp).handler(this).acceptor(SessionAcceptor.ANY)
                .start();
        } catch (RuntimeException e) {
            throw new IllegalStateException("aggregation server: cannot bind " + bind + ": " + e.getMessage(), e);
        }
        LOG.log(Level.INFO, "aggregation server: results from remote units on udp {0} ({1})",
            endpoint.localAddress(), endpoint.transport());
    }

    InetSocketAddress localAddress() {
        return endpoint.localAddress();
    }

    void stop() {
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
        try {
            if (artpControl) {
                throw new CorruptedFrameException("an ARTP CONTROL datagram on a result connection");
            }
            flags = DataPrefix.readFlags(datagram);
            if ((flags & DataPrefix.CONTROL) != 0) {
                throw new CorruptedFrameException("a result flagged CONTROL (units send results only)");
            }
        } catch (CorruptedFrameException e) {
            bad(connection, e.getMessage());
            datagram.release();
            return;
        }
        long seq = DataPrefix.readSequence(datagram);
        long flow = DataPrefix.readFlow(datagram);
        boolean hello = (flags & DataPrefix.HELLO) != 0;
        Object a = connection.attachment();
        if (a instanceof Inbound in) {
            if (hello) {
                bad(connection, "a second HELLO");
                datagram.release();
                return;
            }
            in.deliver(seq, flow, datagram);
        } else if (a instanceof Unnamed u) {
            if (hello) {
                name(connection, u, datagram);
            } else if (u.hold(seq, flow, datagram, false)) {
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
        try {
            in.channel = aggregation.attach(session, unit, in);
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
            in.deliver(h.sequence(), h.flow(), h.data());
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
        } else if (a instanceof Inbound in && code != ErrorCode.NO_ERROR) {
            LOG.log(Level.WARNING, "aggregation server: the result connection of unit {0} for session {1} from {2} "
                + "ended: {3} {4}", in.unit, Long.toUnsignedString(connection.sessionId()), connection.remoteAddress(),
                code, reason);
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
        return m;
    }

    /** One named result connection: the unit's channel into the session, and the credit it gets back. */
    private final class Inbound implements Credit {

        private final ArtpConnection connection;
        private final UnitId unit;
        private final AtomicLong outstanding = new AtomicLong();
        private final AtomicBoolean resumeScheduled = new AtomicBoolean();
        private final Runnable resume = this::resume;
        private volatile boolean paused;
        AggregationChannel channel;

        Inbound(ArtpConnection connection, UnitId unit) {
            this.connection = connection;
            this.unit = unit;
        }

        /** Endpoint loop: a result; ownership passes to the aggregation unit. */
        void deliver(long sequence, long flow, ByteBuf data) {
            resultsIn.increment();
            long o = outstanding.addAndGet(data.readableBytes());
            channel.deliver(sequence, flow, data); // the prefix stays in front: room for the egress's flow prefix
            if (o > window && !paused) {
                paused = true;
                pauses.increment();
                connection.pauseReceiving();
                if (outstanding.get() <= window / 2) { // released before it saw the pause
                    resume();
                }
            }
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
