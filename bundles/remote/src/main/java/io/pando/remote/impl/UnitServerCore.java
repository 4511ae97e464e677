package io.pando.remote.impl;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.CorruptedFrameException;
import io.netty.handler.codec.DecoderException;
import io.netty.handler.codec.TooLongFrameException;
import io.pando.api.session.SessionId;
import io.pando.api.unit.UnitId;
import io.pando.artp.ArtpConfig;
import io.pando.artp.ArtpConnection;
import io.pando.artp.ArtpEndpoint;
import io.pando.artp.ArtpHandler;
import io.pando.artp.ErrorCode;
import io.pando.artp.SessionGrant;
import io.pando.link.UnitChannel;
import io.pando.link.UnitPort;
import io.pando.remote.impl.ControlMessage.UnitState;
import java.io.IOException;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.LongAdder;

/**
 * Serves the units of this node to distribution units on other nodes.
 *
 * <p><b>Control</b> (TCP, {@link ControlMessage}): a distribution node lists the units, opens and closes
 * sessions on them, reads their counters and switches their scheduler. Requests are carried out in order on one
 * admin thread, never on the I/O thread; a CLOSE is answered once the session has drained. Two kinds are not: the
 * distribution node's poll (LIST UNITS), its test of this node's liveness, is answered at once on the I/O thread
 * (it reads only what the units publish without their loops); counter requests, which wait for a unit's loop and
 * so behind every datagram queued there (seconds, for a unit busy with a CPU-heavy program), run on a thread of
 * their own, so that neither the poll nor an OPEN or CLOSE ever waits behind them.
 *
 * <p><b>Data</b> (ARTP): for each (session, unit) the distribution node opens one connection, bound to the
 * session by the handshake (only sessions opened over control are accepted) and to the unit by its first
 * datagram, a HELLO ({@link DataPrefix}). Each datagram's prefix is read in place and the buffer handed to the
 * unit's {@link UnitChannel} on the endpoint's event loop: no copy, no lock.
 *
 * <p><b>Results</b> leave through a {@link ResultLink} per session, over a second, client-only ARTP endpoint, to
 * the aggregation server the OPEN named.
 */
final class UnitServerCore implements ArtpHandler {

    private static final Logger LOG = System.getLogger(UnitServerCore.class.getName());
    private static final Object CLOSED = new Object();
    static final long HELLO_TIMEOUT_MS = 10_000;
    static final long CLOSE_TIMEOUT_S = 60;
    /** How long opening a session again waits for the unit to close its earlier incarnation. */
    static final long REPLACE_TIMEOUT_S = 5;

    private final ByteBufAllocator alloc;
    private final MultiThreadIoEventLoopGroup group;
    private final Channel server;
    private final ExecutorService admin;
    /** Counter requests: they wait for units' loops (see the class comment). */
    private final ExecutorService counting;
    private final ArtpEndpoint data;
    private final ArtpEndpoint results;
    private final ResultChannel.Handler resultsHandler = new ResultChannel.Handler();
    private final Map<UnitId, UnitPort> units = new ConcurrentHashMap<>();
    private final Map<ServedSession.Key, ServedSession> sessions = new ConcurrentHashMap<>();
    /** Session id -> how many of its (session, unit) pairs are served: what the data endpoint accepts. */
    private final Map<Long, Integer> accepted = new ConcurrentHashMap<>();

    private final LongAdder requests = new LongAdder();
    private final LongAdder badRequests = new LongAdder();
    private final LongAdder badFrames = new LongAdder();
    private final LongAdder badDatagrams = new LongAdder();
    private final LongAdder lostUnnamed = new LongAdder();
    private final LongAdder lateDatagrams = new LongAdder();
    private final LongAdder refusedHellos = new LongAdder();
    private final LongAdder controlNotForwarded = new LongAdder();
    private final LongAdder sessionsOpened = new LongAdder();
    private final LongAdder sessionsClosed = new LongAdder();
    private final LongAdder sessionsReplaced = new LongAdder();
    private final LongAdder sessionsOrphaned = new LongAdder();
    private final LongAdder sessionsAbandoned = new LongAdder();

    /**
     * Binds the control port and the data endpoint.
     *
     * @param control the TCP address of the control server
     * @param dataBind the UDP address of the data endpoint
     * @param artp the ARTP configuration of both endpoints
     */
    UnitServerCore(InetSocketAddress control, InetSocketAddress dataBind, ArtpConfig artp, ByteBufAllocator alloc) {
        this.alloc = alloc;
        this.admin = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "pando-remote-unitserver-admin");
            t.setDaemon(true);
            return t;
        });
        this.counting = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "pando-remote-unitserver-counters");
            t.setDaemon(true);
            return t;
        });
        this.group = Transport.group("pando-remote-unitserver-control", 1);
        ArtpEndpoint d = null;
        ArtpEndpoint r = null;
        try {
            d = ArtpEndpoint.builder().bind(dataBind).config(artp).handler(this).acceptor(this::accept).start();
            r = ArtpEndpoint.builder().bind(new InetSocketAddress(dataBind.getAddress(), 0)).config(artp)
                .handler(resultsHandler).start();
            this.server = new ServerBootstrap().group(group).channel(Transport.serverSocket())
                .option(ChannelOption.SO_REUSEADDR, true)
                .childOption(ChannelOption.TCP_NODELAY, true).childOption(ChannelOption.SO_KEEPALIVE, true)
                .childHandler(new ControlInitializer(ControlHandler::new))
                .bind(control).syncUninterruptibly().channel();
        } catch (RuntimeException e) {
            if (d != null) {
                d.close();
            }
            if (r != null) {
                r.close();
            }
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
            admin.shutdownNow();
            counting.shutdownNow();
            throw new IllegalStateException("unit server: cannot listen on control " + control + " / data "
                + dataBind + ": " + e.getMessage(), e);
        }
        this.data = d;
        this.results = r;
        LOG.log(Level.INFO, "unit server: control on tcp {0}, data on udp {1} ({2})", controlAddress(),
            data.localAddress(), data.transport());
    }

    InetSocketAddress controlAddress() {
        return (InetSocketAddress) server.localAddress();
    }

    InetSocketAddress dataAddress() {
        return data.localAddress();
    }

    /** Stops serving: closes every served session on its unit (waiting a bounded time), then the sockets. */
    void stop() {
        server.close().syncUninterruptibly();
        List<CompletableFuture<Void>> closing = new ArrayList<>();
        for (ServedSession s : sessions.values()) {
            closing.add(closeSession(s));
        }
        try {
            CompletableFuture.allOf(closing.toArray(new CompletableFuture[0])).get(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (ExecutionException | TimeoutException e) {
            LOG.log(Level.WARNING, "unit server: stopping with sessions not drained: " + e);
        }
        data.close();
        results.close();
        admin.shutdownNow();
        counting.shutdownNow();
        group.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
    }

    // ---- units come and go

    void addUnit(UnitPort unit) {
        units.put(unit.id(), unit);
    }

    void removeUnit(UnitPort unit) {
        if (!units.remove(unit.id(), unit)) {
            return;
        }
        for (ServedSession s : sessions.values()) {
            if (s.unit == unit) {
                LOG.log(Level.WARNING, "unit server: unit {0} went away while serving session {1}", unit.id(),
                    s.key.session());
                s.closing.set(true);
                forget(s);
                ArtpConnection c = s.connection;
                if (c != null) {
                    c.eventLoop().execute(() -> c.attach(CLOSED)); // what still comes is counted as late
                    c.reset(ErrorCode.APPLICATION_ABORT, "unit " + unit.id() + " stopped");
                }
                s.results.close();
                s.closed.complete(null);
            }
        }
    }

    // ---- data (ARTP, on the data endpoint's event loop)

    private SessionGrant accept(long sessionId, InetSocketAddress peer) {
        return accepted.containsKey(sessionId) ? SessionGrant.UNKEYED : null;
    }

    @Override
    public void connected(ArtpConnection connection) {
        connection.attach(new Unnamed());
        connection.eventLoop().schedule(() -> {
            if (connection.attachment() instanceof Unnamed u) {
                int n = u.releaseAll();
                lostUnnamed.add(n);
                connection.reset(ErrorCode.PROTOCOL_VIOLATION, "no HELLO within " + HELLO_TIMEOUT_MS + " ms");
                LOG.log(Level.WARNING, "unit server: data connection from {0} for session {1} sent no HELLO within "
                    + "{2} ms; reset, {3} datagrams it sent were dropped", connection.remoteAddress(),
                    Long.toUnsignedString(connection.sessionId()), HELLO_TIMEOUT_MS, n);
            }
        }, HELLO_TIMEOUT_MS, TimeUnit.MILLISECONDS);
    }

    @Override
    public void datagram(ArtpConnection connection, ByteBuf datagram, boolean artpControl) {
        int flags;
        try {
            if (artpControl) {
                throw new CorruptedFrameException("an ARTP CONTROL datagram (control information travels as "
                    + "the CONTROL flag of the prefix)");
            }
            flags = DataPrefix.readFlags(datagram);
            if ((flags & DataPrefix.PROCESSED) != 0) {
                throw new CorruptedFrameException("a PROCESSED datagram (acknowledgements travel on result "
                    + "connections)");
            }
        } catch (CorruptedFrameException e) {
            bad(connection, e.getMessage());
            datagram.release();
            return;
        }
        long seq = DataPrefix.readSequence(datagram);
        long flow = DataPrefix.readFlow(datagram);
        boolean hello = (flags & DataPrefix.HELLO) != 0;
        boolean control = (flags & DataPrefix.CONTROL) != 0;
        Object a = connection.attachment();
        if (a instanceof ServedSession s) {
            if (hello) {
                bad(connection, "a second HELLO");
                datagram.release();
                return;
            }
            s.deliver(seq, flow, datagram, control);
        } else if (a instanceof Unnamed u) {
            if (hello) {
                name(connection, u, datagram);
            } else if (u.hold(seq, flow, datagram, control)) {
                connection.pauseReceiving();
            }
        } else {
            lateDatagrams.increment(); // the session was closed (or its unit stopped) on this node
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
        ServedSession s = sessions.get(new ServedSession.Key(new SessionId(connection.sessionId()), unit));
        if (s == null || s.channel == null || s.closing.get()) {
            refuse(connection, u, "unit " + unit + " does not serve session "
                + Long.toUnsignedString(connection.sessionId()) + " on this node");
            return;
        }
        if (s.connection != null) {
            refuse(connection, u, "session " + s.key.session() + " on unit " + unit + " already has a data connection");
            return;
        }
        s.connection = connection;
        connection.attach(s);
        Unnamed.Held h;
        while ((h = u.poll()) != null) {
            s.deliver(h.sequence(), h.flow(), h.data(), h.control());
        }
        if (connection.isReceivingPaused() || s.congested()) {
            s.applyCongestion();
        }
    }

    private void refuse(ArtpConnection connection, Unnamed u, String why) {
        int n = u.releaseAll();
        refusedHellos.increment();
        lostUnnamed.add(n);
        connection.attach(CLOSED);
        connection.reset(ErrorCode.APPLICATION_ABORT, why);
        LOG.log(Level.WARNING, "unit server: refused the data connection from {0}: {1}; {2} datagrams dropped",
            connection.remoteAddress(), why, n);
    }

    private void bad(ArtpConnection connection, String why) {
        badDatagrams.increment();
        long n = badDatagrams.sum();
        if (n == 1 || n % 10_000 == 0) {
            LOG.log(Level.WARNING, "unit server: dropped a malformed datagram from {0} (session {1}): {2} ({3} so "
                + "far)", connection.remoteAddress(), Long.toUnsignedString(connection.sessionId()), why, n);
        }
    }

    @Override
    public void closed(ArtpConnection connection, ErrorCode code, String reason) {
        Object a = connection.attachment();
        if (a instanceof Unnamed u) {
            int n = u.releaseAll();
            lostUnnamed.add(n);
            if (n > 0) {
                LOG.log(Level.WARNING, "unit server: data connection from {0} ended ({1} {2}) before its HELLO; "
                    + "{3} datagrams dropped", connection.remoteAddress(), code, reason, n);
            }
        } else if (a instanceof ServedSession s) {
            if (s.connection == connection) {
                s.connection = null;
            }
            if (code != ErrorCode.NO_ERROR && !s.closing.get()) {
                // Nothing reattaches a data connection: the distribution node has given this unit up for the
                // session (its datagrams went to other units, README "Failure"). Close the session here, so that
                // the unit can be given the session again later (after a false alarm, or once this node is back).
                LOG.log(Level.WARNING, "unit server: the data connection of session {0} on unit {1} from {2} "
                    + "ended: {3} {4}; the session is closed on the unit", s.key.session(), s.key.unit(),
                    connection.remoteAddress(), code, reason);
                try {
                    admin.execute(() -> { // counted once, here or as orphaned, whichever closes it (admin thread)
                        if (!s.closing.get()) {
                            sessionsAbandoned.increment();
                            closeSession(s);
                        }
                    });
                } catch (java.util.concurrent.RejectedExecutionException e) {
                    // stopping: every session is closed anyway
                }
            }
        }
    }

    void controlNotForwarded(ServedSession s) {
        controlNotForwarded.increment();
        long n = controlNotForwarded.sum();
        if (n == 1 || n % 10_000 == 0) {
            LOG.log(Level.WARNING, "unit server: the program of session {0} on unit {1} sent control information "
                + "to its other instances; that is not carried between nodes yet, dropped ({2} so far)",
                s.key.session(), s.key.unit(), n);
        }
    }

    // ---- control (admin thread)

    private ControlMessage handle(ControlMessage m, Channel control) {
        requests.increment();
        if (m instanceof ControlMessage.Hello h) {
            if (h.version() != ControlMessage.VERSION) {
                return error(h, ControlMessage.ErrorCode.VERSION, "this unit node speaks control protocol version "
                    + ControlMessage.VERSION + ", got " + h.version());
            }
            LOG.log(Level.INFO, "unit server: distribution node {0} connected", h.client());
            return new ControlMessage.Ok(h.requestId());
        } else if (m instanceof ControlMessage.ListUnits l) {
            List<UnitState> list = new ArrayList<>();
            for (UnitPort u : units.values()) {
                list.add(new UnitState(u.id(), u.programs(), u.scheduler(), u.load()));
            }
            return new ControlMessage.Units(l.requestId(), list);
        } else if (m instanceof ControlMessage.Open o) {
            return open(o, control);
        } else if (m instanceof ControlMessage.SessionCounters c) {
            ServedSession s = sessions.get(new ServedSession.Key(c.session(), c.unit()));
            if (s == null || s.channel == null) {
                return error(c, ControlMessage.ErrorCode.UNKNOWN_SESSION, "unit " + c.unit()
                    + " does not serve session " + c.session() + " on this node");
            }
            return new ControlMessage.Counters(c.requestId(), sessionCounters(s));
        } else if (m instanceof ControlMessage.UnitCounters c) {
            UnitPort u = units.get(c.unit());
            if (u == null) {
                return unknownUnit(c, c.unit());
            }
            Map<String, Long> counters = new LinkedHashMap<>(u.counters());
            counters().forEach((k, v) -> counters.put("unit_server_" + k, v));
            return new ControlMessage.Counters(c.requestId(), counters);
        } else if (m instanceof ControlMessage.Validate v) {
            UnitPort u = units.get(v.unit());
            if (u == null) {
                return unknownUnit(v, v.unit());
            }
            try {
                u.validate(v.plan());
            } catch (IllegalArgumentException e) {
                return error(v, ControlMessage.ErrorCode.INVALID, e.getMessage());
            }
            return new ControlMessage.Ok(v.requestId());
        } else if (m instanceof ControlMessage.SelectScheduler c) {
            UnitPort u = units.get(c.unit());
            if (u == null) {
                return unknownUnit(c, c.unit());
            }
            try {
                u.selectScheduler(c.scheduler());
            } catch (IllegalArgumentException e) {
                return error(c, ControlMessage.ErrorCode.REFUSED, e.getMessage());
            }
            return new ControlMessage.Ok(c.requestId());
        }
        badRequests.increment();
        return error(m, ControlMessage.ErrorCode.BAD_REQUEST, "a unit server takes requests; got "
            + m.getClass().getSimpleName());
    }

    /**
     * Opens a session on a unit for the distribution node on {@code control}. A session this unit already serves
     * for another control connection is an earlier incarnation that its distribution node gave up (it lost the
     * node: a partition, a stall, a reconnect) and now opens again: that one is closed first (its late results are
     * dropped there as those of a failed unit) and counted in {@code sessions_replaced}.
     */
    ControlMessage open(ControlMessage.Open o, Channel control) {
        UnitPort unit = units.get(o.unit());
        if (unit == null) {
            return unknownUnit(o, o.unit());
        }
        SessionId sid = o.plan().id();
        ServedSession.Key key = new ServedSession.Key(sid, o.unit());
        ServedSession earlier = sessions.get(key);
        if (earlier != null && earlier.control != control) {
            LOG.log(Level.WARNING, "unit server: session {0} on unit {1} opened again by {2}; closing the "
                + "incarnation opened by an earlier control connection", sid, o.unit(),
                control == null ? "?" : control.remoteAddress());
            closeSession(earlier); // its results connection closes on its own time; the unit's session first
            try {
                earlier.unitClosed.get(REPLACE_TIMEOUT_S, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return error(o, ControlMessage.ErrorCode.INTERNAL, "interrupted while closing the earlier "
                    + "incarnation of session " + sid);
            } catch (ExecutionException | TimeoutException e) {
                return error(o, ControlMessage.ErrorCode.REFUSED, "unit " + o.unit() + " still serves an earlier "
                    + "incarnation of session " + sid + ", which did not close within " + REPLACE_TIMEOUT_S + " s: "
                    + e);
            }
            forget(earlier);
            sessionsReplaced.increment();
        }
        ResultLink link = new ResultLink(results, o.aggregation(), sid, alloc);
        ServedSession s = new ServedSession(this, key, unit, o.plan(), link);
        s.control = control;
        if (sessions.putIfAbsent(key, s) != null) {
            link.close();
            return error(o, ControlMessage.ErrorCode.REFUSED, "unit " + o.unit() + " already serves session " + sid);
        }
        try {
            s.channel = unit.open(o.plan(), link, s);
        } catch (RuntimeException e) {
            sessions.remove(key, s);
            link.close();
            return error(o, ControlMessage.ErrorCode.REFUSED, "unit " + o.unit() + " refused session " + sid + ": "
                + e.getMessage());
        }
        accepted.merge(sid.value(), 1, Integer::sum); // from now on the data endpoint takes its connection
        sessionsOpened.increment();
        LOG.log(Level.INFO, "unit server: session {0} ({1}, program {2}) opened on unit {3}; results go to {4}",
            sid, o.plan().name(), o.plan().program(), o.unit(), o.aggregation());
        return new ControlMessage.Ok(o.requestId());
    }

    /** Closes a session: the unit drains it, then its result connections close in order. */
    private CompletableFuture<Void> closeSession(ServedSession s) {
        if (!s.closing.compareAndSet(false, true)) {
            return s.closed;
        }
        UnitChannel c = s.channel;
        CompletableFuture<Void> unitClosed = c == null ? CompletableFuture.completedFuture(null)
            : c.close().toCompletableFuture();
        s.unitClosed = unitClosed;
        unitClosed.thenCompose(v -> s.results.close()).whenComplete((v, err) -> {
            forget(s);
            ArtpConnection conn = s.connection;
            if (conn != null) {
                conn.eventLoop().execute(() -> conn.attach(CLOSED));
            }
            sessionsClosed.increment();
            if (err != null) {
                s.closed.completeExceptionally(err);
            } else {
                LOG.log(Level.INFO, "unit server: session {0} closed on unit {1}", s.key.session(), s.key.unit());
                s.closed.complete(null);
            }
        });
        return s.closed;
    }

    private void forget(ServedSession s) {
        if (sessions.remove(s.key, s)) {
            accepted.computeIfPresent(s.key.session().value(), (k, n) -> n > 1 ? n - 1 : null);
        }
    }

    /** @return the session's accounting on its unit and its links' counters */
    private Map<String, Long> sessionCounters(ServedSession s) {
        Map<String, Long> counters = new LinkedHashMap<>(s.channel.counters());
        counters.putAll(onDataLoop(s::linkCounters));
        counters.putAll(s.results.linkCounters());
        return counters;
    }

    /** @return the reply to a CLOSE that went well: the session's final counters, or OK if they cannot be read */
    private ControlMessage finalCounters(ControlMessage.Close c, ServedSession s) {
        try {
            return new ControlMessage.Counters(c.requestId(), sessionCounters(s));
        } catch (RuntimeException e) {
            return new ControlMessage.Ok(c.requestId());
        }
    }

    private ControlMessage unknownUnit(ControlMessage m, UnitId unit) {
        return error(m, ControlMessage.ErrorCode.UNKNOWN_UNIT, "no unit " + unit + " on this node; units: "
            + new TreeSet<>(units.keySet().stream().map(UnitId::value).toList()));
    }

    private static ControlMessage.Error error(ControlMessage m, ControlMessage.ErrorCode code, String message) {
        return new ControlMessage.Error(m.requestId(), code, message);
    }

    /** @return the server's totals, snake_case */
    Map<String, Long> counters() {
        Map<String, Long> m = new LinkedHashMap<>();
        m.put("units", (long) units.size());
        m.put("sessions", (long) sessions.size());
        m.put("sessions_opened", sessionsOpened.sum());
        m.put("sessions_closed", sessionsClosed.sum());
        m.put("sessions_replaced", sessionsReplaced.sum());
        m.put("sessions_orphaned", sessionsOrphaned.sum());
        m.put("sessions_abandoned", sessionsAbandoned.sum());
        m.put("requests", requests.sum());
        m.put("bad_requests", badRequests.sum());
        m.put("bad_frames", badFrames.sum());
        m.put("bad_datagrams", badDatagrams.sum());
        m.put("refused_hellos", refusedHellos.sum());
        m.put("lost_before_hello", lostUnnamed.sum());
        m.put("late_datagrams", lateDatagrams.sum());
        m.put("control_not_forwarded", controlNotForwarded.sum());
        m.put("results_unexpected", resultsHandler.unexpected.sum());
        return m;
    }

    private <T> T onDataLoop(Callable<T> task) {
        EventLoop loop = data.eventLoop();
        try {
            return loop.submit(task).get(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        } catch (ExecutionException | TimeoutException e) {
            throw new IllegalStateException("the data endpoint did not answer: " + e, e);
        }
    }

    /** One control connection from a distribution node. */
    private final class ControlHandler extends SimpleChannelInboundHandler<ControlMessage> {

        private boolean greeted;

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, ControlMessage m) {
            if (m instanceof ControlMessage.Malformed bad) {
                badRequests.increment();
                LOG.log(Level.WARNING, "unit server: malformed request from {0}: {1}", ctx.channel().remoteAddress(),
                    bad.reason());
                ctx.writeAndFlush(new ControlMessage.Error(bad.requestId(), ControlMessage.ErrorCode.BAD_REQUEST,
                    "malformed request: " + bad.reason()));
                return;
            }
            if (!greeted && !(m instanceof ControlMessage.Hello)) {
                badRequests.increment();
                ctx.writeAndFlush(error(m, ControlMessage.ErrorCode.BAD_REQUEST, "send HELLO (protocol version "
                    + ControlMessage.VERSION + ") first"));
                return;
            }
            Channel ch = ctx.channel();
            if (m instanceof ControlMessage.Close c) {
                ServedSession s = sessions.get(new ServedSession.Key(c.session(), c.unit()));
                if (s == null) {
                    ctx.writeAndFlush(error(c, ControlMessage.ErrorCode.UNKNOWN_SESSION, "unit " + c.unit()
                        + " does not serve session " + c.session() + " on this node"));
                    return;
                }
                admin.execute(() -> closeSession(s).orTimeout(CLOSE_TIMEOUT_S, TimeUnit.SECONDS)
                    .whenCompleteAsync((v, err) -> ch.writeAndFlush(err == null ? finalCounters(c, s)
                        : error(c, ControlMessage.ErrorCode.INTERNAL, "session " + c.session() + " on unit "
                            + c.unit() + " did not close in order: " + err)), admin));
                return;
            }
            if (m instanceof ControlMessage.Hello h && h.version() == ControlMessage.VERSION) {
                greeted = true;
            }
            if (m instanceof ControlMessage.ListUnits) {
                answer(m, ch); // the liveness poll: never queued behind other work
                return;
            }
            boolean counters = m instanceof ControlMessage.SessionCounters || m instanceof ControlMessage.UnitCounters;
            (counters ? counting : admin).execute(() -> answer(m, ch));
        }

        private void answer(ControlMessage m, Channel ch) {
            ControlMessage reply;
            try {
                reply = handle(m, ch);
            } catch (RuntimeException e) {
                LOG.log(Level.WARNING, "unit server: request " + m + " failed", e);
                reply = error(m, ControlMessage.ErrorCode.INTERNAL, String.valueOf(e));
            }
            ch.writeAndFlush(reply).addListener(ChannelFutureListener.FIRE_EXCEPTION_ON_FAILURE);
        }

        /**
         * The distribution node that opened sessions on this connection gave them up with it (it declares a unit
         * node whose control connection ends dead, and re-places its sessions): they are closed here.
         */
        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            Channel ch = ctx.channel();
            admin.execute(() -> {
                int n = 0;
                for (ServedSession s : sessions.values()) {
                    if (s.control == ch && !s.closing.get()) {
                        n++;
                        sessionsOrphaned.increment();
                        closeSession(s);
                    }
                }
                if (n > 0) {
                    LOG.log(Level.WARNING, "unit server: the control connection from {0} ended; closing the {1} "
                        + "session(s) it opened", ch.remoteAddress(), n);
                }
            });
            ctx.fireChannelInactive();
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            if (cause instanceof TooLongFrameException || cause instanceof CorruptedFrameException
                    || cause instanceof DecoderException) {
                badFrames.increment();
                LOG.log(Level.WARNING, "unit server: bad control frame from {0}: {1}; closing the connection",
                    ctx.channel().remoteAddress(), cause.getMessage());
                ctx.writeAndFlush(new ControlMessage.Error(0, ControlMessage.ErrorCode.BAD_REQUEST,
                    "bad frame: " + cause.getMessage())).addListener(ChannelFutureListener.CLOSE);
                return;
            }
            if (!(cause instanceof IOException)) {
                LOG.log(Level.WARNING, "unit server: control connection from " + ctx.channel().remoteAddress()
                    + " failed", cause);
            }
            ctx.close();
        }
    }
}
