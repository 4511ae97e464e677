package io.pando.aggregation.impl;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.channel.EventLoop;
import io.pando.api.policy.AggregationStrategy;
import io.pando.api.program.Datagram;
import io.pando.api.session.SessionId;
import io.pando.api.unit.UnitId;
import io.pando.artp.ArtpConfig;
import io.pando.artp.ArtpConnection;
import io.pando.artp.ArtpCounter;
import io.pando.artp.ArtpEndpoint;
import io.pando.artp.ArtpHandler;
import io.pando.artp.ArtpStats;
import io.pando.artp.ControlBlock;
import io.pando.artp.ErrorCode;
import io.pando.link.AggregationChannel;
import io.pando.link.AggregationPort;
import io.pando.link.Credit;
import io.pando.link.SessionPlan;
import io.pando.policies.api.ReorderStats;
import io.pando.policies.api.ReorderWindowControl;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.net.InetSocketAddress;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Optional;
import java.util.TreeSet;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The aggregation unit: gathers the results of every unit of a session and sends them to the session's
 * destination over ARTP, through the selected {@link AggregationStrategy}.
 *
 * <p><b>Threads.</b> Everything runs on the egress endpoint's event loop, the thread on which the egress ARTP
 * connections also run: units submit their results there (pooled {@link Result} records, no lock), the
 * strategy is driven there (arrivals, a 1 ms tick, closes) and results are handed to ARTP without crossing
 * threads.
 *
 * <p><b>Credit.</b> A result's bytes are returned to its unit when the result has been handed to the egress
 * connection, unless the connection is over its send high-water mark: then the credit is returned when it
 * becomes writable again, so a slow destination pushes back through the units to the sender.
 *
 * <p><b>Switching strategy.</b> The old strategy releases everything it holds (its {@code closed} for every
 * session, in order) before the new one receives anything, so a switch loses nothing. While the selected
 * strategy is not registered, results pass straight through.
 *
 * <p><b>Flows.</b> Each result names its flow; the strategy sees it in {@link Datagram#flow()}. A session has one
 * egress connection per distinct destination of its flows; flow 0 leaves as
 * DATA, any other flow as a flow datagram (docs/artp.md, 9.3), so a destination of several flows tells them
 * apart. A result of a flow the plan does not have is dropped and counted ({@code results_unknown_flow} per
 * session, {@code unknown_flow} in the totals). If one destination fails, only the flows to it lose their
 * results ({@code egress_lost}).
 *
 * <p><b>Lazy egress.</b> Opening a session costs no connection: each egress connection is opened when the first
 * result for its destination arrives (docs/artp.md, 6.2: a connection binds to one session, so connections cannot
 * be shared between sessions). An idle session thus holds no ARTP connection, no ARTP timer and sends no
 * keep-alive, and a node holds as many idle sessions as its heap allows. The results that arrive while the
 * connection opens wait for it in arrival order, with their credit held (the unit's link window bounds them), and
 * are sent, in that order, as soon as it is open; a session closed meanwhile waits for them. A destination that
 * cannot be reached therefore shows when the first result is sent, not when the session opens: its results are
 * dropped and counted ({@code egress_lost}, {@code egress_failed}), with the reason in the log.
 *
 * <p><b>Reordering</b> is measured at the egress for every session whatever the strategy: a result sent after
 * one with a higher ingress sequence counts as out of order, with its displacement.
 */
final class AggregationCore implements AggregationPort, ArtpHandler {

    private static final Logger LOG = System.getLogger(AggregationCore.class.getName());
    private static final int DEFAULT_REORDER_DEPTH = 4096;

    private final ArtpEndpoint egress;
    private final EventLoop loop;
    private final Map<String, StrategyFactory> strategies = new ConcurrentHashMap<>();
    private final Map<SessionId, EgressSession> sessions = new ConcurrentHashMap<>();
    private final IdentityHashMap<Datagram, Result> held = new IdentityHashMap<>();
    private final Sink sink = new Sink();
    private volatile String selected;
    private volatile String inUse = "direct";
    private volatile boolean stopped;

    // loop
    private AggregationStrategy strategy;
    private StrategyFactory strategyFactory;
    private long datagramsIn;
    private long datagramsOut;
    private long bytesOut;
    private long egressLost;
    private long strategyErrors;
    private long strategySwitches;
    private long reverseDatagrams;
    private long unknownFlow;
    private long egressFailed;
    /** The egress endpoint's connection cap: at most this many sessions (flows) send at the same time. */
    private final int maxConnections;

    /**
     * @param bind local address of the egress endpoint
     * @param config ARTP configuration of the egress connections
     * @param strategy the name of the strategy to use once it is registered
     */
    AggregationCore(InetSocketAddress bind, ArtpConfig config, String strategy) {
        this.selected = strategy;
        this.maxConnections = config.maxConnections;
        this.egress = ArtpEndpoint.builder().bind(bind).config(config).handler(this).start();
        this.loop = egress.eventLoop();
    }

    /** Loop: the strategy's clock ticks every millisecond while a session is open, not at all without one. */
    private java.util.concurrent.ScheduledFuture<?> ticker;

    /** Loop. */
    private void tickWhileOpen() {
        if (ticker == null && !stopped) {
            ticker = loop.scheduleAtFixedRate(this::tick, 1, 1, TimeUnit.MILLISECONDS);
        }
    }

    void stop() {
        stopped = true;
        try {
            onLoop(() -> {
                for (EgressSession s : sessions.values()) {
                    flush(s);
                    for (Egress e : s.egresses) {
                        releaseDeferred(e);
                        loseWaiting(e);
                    }
                    s.closed.complete(snapshot(s));
                }
                sessions.clear();
                return null;
            });
        } finally {
            egress.close();
        }
    }

    InetSocketAddress localAddress() {
        return egress.localAddress();
    }

    // ---- AggregationPort

    @Override
    public String strategy() {
        return inUse;
    }

    @Override
    public void selectStrategy(String name) {
        if (!strategies.containsKey(name)) {
            throw new IllegalArgumentException("no aggregation strategy '" + name + "'; registered: "
                + new TreeSet<>(strategies.keySet()));
        }
        selected = name;
        onLoop(() -> {
            rebind();
            return null;
        });
    }

    /**
     * Opens the session; its egress connections open when their first result arrives ({@link #arrived}). Completes
     * at once: nothing here waits for the network or for the loop. The strategy learns of the session in a task
     * queued now, so before any of its results (a unit attaches to the session only after this returns, and the
     * loop runs tasks in the order they were queued).
     */
    @Override
    public CompletionStage<Void> open(SessionPlan plan) {
        EgressSession s = new EgressSession(this, plan);
        if (sessions.putIfAbsent(plan.id(), s) != null) {
            return CompletableFuture.failedFuture(new IllegalStateException("session " + plan.id()
                + " is already open"));
        }
        loop.execute(() -> {
            configure(strategy, s);
            tickWhileOpen();
        });
        return CompletableFuture.completedFuture(null);
    }

    /** Loop: opens the egress connection of {@code e}, for the result that is waiting for it. */
    private void connect(Egress e) {
        e.ready = new CompletableFuture<>();
        CompletableFuture<ArtpConnection> c = egress.connect(e.destination, e.session.id.value(), null)
            .toCompletableFuture();
        if (c.isCompletedExceptionally()) { // on the loop, only the endpoint's own connection cap refuses at once
            connected(e, null, new IllegalStateException("the egress endpoint has its maximum of " + maxConnections
                + " connections open (configuration io.pando.aggregation, artp.max.connections)"));
            return;
        }
        c.whenComplete((conn, err) -> loop.execute(() -> connected(e, conn, err)));
    }

    /** Loop: the egress connection of {@code e} is open (or failed): sends what waited for it, in order. */
    private void connected(Egress e, ArtpConnection c, Throwable err) {
        EgressSession s = e.session;
        if (err != null || stopped) {
            if (c != null) {
                c.close();
            }
            e.failed = true;
            e.failure = err == null ? "the aggregation unit stopped" : "cannot reach the destination "
                + e.destination + " of session " + s.id + ": " + rootMessage(err);
            s.egressFailed++;
            egressFailed++;
            LOG.log(Level.WARNING, "aggregation: {0}; {1} waiting results are dropped, later ones too", e.failure,
                e.waitingCount());
            loseWaiting(e);
        } else {
            e.connection = c;
            c.attach(e);
            ArrayDeque<Result> w = e.waiting;
            e.waiting = null;
            if (w != null) {
                Result r;
                while ((r = w.poll()) != null) {
                    if (s.closing) { // the strategy was flushed already: these go out now, before the close
                        send(s, r);
                    } else {
                        dispatch(s, r);
                    }
                }
            }
        }
        e.ready.complete(null);
    }

    @Override
    public AggregationChannel attach(SessionId session, UnitId unit, Credit credit) {
        EgressSession s = sessions.get(session);
        if (s == null) {
            throw new NoSuchElementException("session " + session + " is not open at the aggregation unit");
        }
        return new Attachment(s, unit, credit);
    }

    @Override
    public CompletionStage<Map<String, Long>> close(SessionId session) {
        EgressSession s = sessions.get(session);
        if (s == null) {
            return CompletableFuture.completedFuture(Map.of());
        }
        loop.execute(() -> {
            s.closing = true;
            flush(s);
            List<CompletableFuture<Void>> closing = new ArrayList<>();
            for (Egress e : s.egresses) {
                if (e.ready != null && !e.ready.isDone()) { // what waits for the connection goes out first
                    closing.add(e.ready.thenCompose(v -> closeConnection(e)));
                } else if (e.connection != null && !e.failed) {
                    closing.add(closeConnection(e));
                }
            }
            if (closing.isEmpty()) {
                finish(s);
                return;
            }
            CompletableFuture.allOf(closing.toArray(new CompletableFuture[0]))
                .whenComplete((v, err) -> loop.execute(() -> finish(s)));
        });
        return s.closed;
    }

    /** Loop: closes the egress connection of {@code e}, if it is open. */
    private static CompletableFuture<Void> closeConnection(Egress e) {
        return e.connection != null && !e.failed ? e.connection.close().toCompletableFuture()
            : CompletableFuture.completedFuture(null);
    }

    private void finish(EgressSession s) {
        s.egresses.forEach(this::releaseDeferred);
        sessions.remove(s.id, s);
        Map<String, Long> last = snapshot(s);
        LOG.log(Level.INFO, "aggregation: session {0} closed: {1}", s.id, last);
        s.closed.complete(last);
    }

    @Override
    public Map<String, Long> counters(SessionId session) {
        EgressSession s = sessions.get(session);
        return s == null ? Map.of() : onLoop(() -> snapshot(s));
    }

    @Override
    public Map<String, Long> reorder(SessionId session) {
        EgressSession s = sessions.get(session);
        if (s == null) {
            return Map.of();
        }
        return onLoop(() -> {
            Map<String, Long> m = new LinkedHashMap<>();
            m.put("out_of_order", s.outOfOrder);
            m.put("max_displacement", s.maxDisplacement);
            if (strategy instanceof ReorderWindowControl rc) {
                Optional<ReorderStats> st = rc.stats(s.id);
                st.ifPresent(r -> {
                    m.put("window_arrived", r.arrived());
                    m.put("window_released_in_order", r.releasedInOrder());
                    m.put("window_released_out_of_order", r.releasedOutOfOrder());
                    m.put("window_held_now", r.heldNow());
                    m.put("window_held_total", r.heldTotal());
                    m.put("window_deadline_releases", r.deadlineReleases());
                    m.put("window_overflow_releases", r.overflowReleases());
                    m.put("window_max_hold_ns", r.maxHoldNanos());
                });
            }
            return m;
        });
    }

    @Override
    public Map<String, Long> counters() {
        return onLoop(() -> {
            Map<String, Long> m = new LinkedHashMap<>();
            m.put("sessions", (long) sessions.size());
            m.put("datagrams_in", datagramsIn);
            m.put("datagrams_out", datagramsOut);
            m.put("bytes_out", bytesOut);
            m.put("held", (long) held.size());
            m.put("egress_lost", egressLost);
            m.put("egress_failed", egressFailed);
            m.put("strategy_errors", strategyErrors);
            m.put("strategy_switches", strategySwitches);
            m.put("reverse_datagrams", reverseDatagrams);
            m.put("unknown_flow", unknownFlow);
            ArtpStats artp = egress.stats();
            m.put("egress_connections", artp.get(ArtpCounter.CONNECTIONS));
            m.put("egress_max_connections", (long) maxConnections);
            m.put("egress_connection_limit", artp.get(ArtpCounter.CONNECTION_LIMIT));
            return m;
        });
    }

    private Map<String, Long> snapshot(EgressSession s) {
        Map<String, Long> m = new LinkedHashMap<>();
        m.put("results_in", s.datagramsIn);
        m.put("datagrams_out", s.datagramsOut);
        m.put("bytes_out", s.bytesOut);
        m.put("out_of_order", s.outOfOrder);
        m.put("max_displacement", s.maxDisplacement);
        m.put("egress_lost", s.egressLost);
        m.put("results_unknown_flow", s.unknownFlow);
        m.put("egress_failed", s.egressFailed);
        long deferred = 0;
        long waiting = 0;
        long pending = 0;
        boolean connected = false;
        for (Egress e : s.egresses) {
            deferred += e.deferredCount();
            waiting += e.waitingCount();
            if (e.connection != null) {
                connected = true;
                pending += e.connection.pendingBytes();
            }
        }
        m.put("credit_deferred", deferred);
        m.put("egress_waiting", waiting);
        ArtpConnection main = s.egresses.get(0).connection; // flow 0's
        if (main != null) {
            Map<String, Long> artp = main.stats().toMap();
            for (String k : new String[] {"retransmitted", "lost", "srtt_us", "cwnd", "bytes_in_flight"}) {
                Long v = artp.get(k);
                if (v != null) {
                    m.put("egress_artp_" + k, v);
                }
            }
        }
        if (connected) {
            m.put("egress_pending_bytes", pending);
        }
        if (s.flowIds.length > 1) {
            m.put("egress_connections", (long) s.egresses.size());
            for (int i = 0; i < s.flowIds.length; i++) {
                m.put("flow_" + s.flowIds[i] + "_datagrams_out", s.flowDatagramsOut[i]);
                m.put("flow_" + s.flowIds[i] + "_bytes_out", s.flowBytesOut[i]);
            }
        }
        return m;
    }

    // ---- strategies come and go (DS, any thread)

    void addStrategy(String name, StrategyFactory factory) {
        strategies.put(name, factory);
        if (name.equals(selected) && !stopped) {
            loop.execute(this::rebind);
        }
    }

    /** Returns once the unit no longer uses the factory's instance (everything it held was sent). */
    void removeStrategy(String name, StrategyFactory factory) {
        strategies.remove(name, factory);
        if (stopped) {
            return; // the unit flushed everything when it stopped
        }
        onLoop(() -> {
            if (strategyFactory == factory) {
                rebind();
            }
            return null;
        });
    }

    // ---- loop

    private void rebind() {
        StrategyFactory f = strategies.get(selected);
        if (f == strategyFactory && (f != null || strategy == null)) {
            return;
        }
        AggregationStrategy old = strategy;
        if (old != null) {
            for (EgressSession s : sessions.values()) {
                try {
                    old.closed(s.id, sink);
                } catch (RuntimeException e) {
                    strategyErrors++;
                    LOG.log(Level.WARNING, "aggregation strategy " + inUse + " failed to release session " + s.id, e);
                }
            }
            if (!held.isEmpty()) { // a strategy that kept something back: send it, lose nothing
                strategyErrors += held.size();
                for (Result r : held.values().toArray(new Result[0])) {
                    send(r.from.session, r);
                }
                held.clear();
            }
            try {
                strategyFactory.unget(old);
            } catch (RuntimeException e) {
                LOG.log(Level.DEBUG, "unget of a strategy failed", e);
            }
        }
        strategy = f == null ? null : f.get();
        strategyFactory = f;
        inUse = f == null ? "direct" : selected;
        strategySwitches++;
        for (EgressSession s : sessions.values()) {
            configure(strategy, s);
        }
    }

    private static void configure(AggregationStrategy strategy, EgressSession s) {
        if (strategy instanceof ReorderWindowControl rc && s.plan.reorderWindowMillis().isPresent()) {
            rc.configure(s.id, TimeUnit.MILLISECONDS.toNanos(s.plan.reorderWindowMillis().get()),
                DEFAULT_REORDER_DEPTH);
        }
    }

    /** Loop: a unit's result arrives. */
    void arrived(Result r) {
        EgressSession s = r.from.session;
        s.datagramsIn++;
        datagramsIn++;
        int p = s.position(r.flow);
        if (p < 0) { // a flow not in the plan: there is nowhere to send it
            s.unknownFlow++;
            unknownFlow++;
            r.data.release();
            r.data = null;
            returnCredit(r);
            return;
        }
        r.position = p;
        Egress e = s.egressOf[p];
        if (e.failed) {
            lose(s, r);
            return;
        }
        if (e.connection == null) { // the destination's first result, or one of those that wait for it
            if (s.closed.isDone()) { // a straggler after the close: no connection is opened for it
                lose(s, r);
                return;
            }
            e.await(r);
            if (e.ready == null) {
                connect(e);
            }
            return;
        }
        dispatch(s, r);
    }

    /** Loop: hands a result whose connection is open to the strategy (or straight to the connection). */
    private void dispatch(EgressSession s, Result r) {
        int p = r.position;
        AggregationStrategy st = strategy;
        if (st == null) {
            send(s, r);
            return;
        }
        ByteBuf b = r.data;
        Datagram d = Datagram.wrap(s.flows[p], false, b.nioBuffer(b.readerIndex(), r.length));
        held.put(d, r);
        try {
            st.arrived(s.id, r.sequence, d, sink);
        } catch (RuntimeException ex) {
            strategyErrors++;
            Result back = held.remove(d);
            if (back != null) {
                send(s, back);
            }
        }
    }

    /** Sends a result on its flow's connection: flow 0 as DATA, any other flow as a flow datagram. */
    private void send(EgressSession s, Result r) {
        int p = r.position;
        Egress e = s.egressOf[p];
        if (e.failed) {
            lose(s, r);
            return;
        }
        long seq = r.sequence;
        if (seq >= 0) {
            if (seq < s.highestSent) {
                s.outOfOrder++;
                s.maxDisplacement = Math.max(s.maxDisplacement, s.highestSent - seq);
            } else {
                s.highestSent = seq;
            }
        }
        ByteBuf data = r.data;
        r.data = null;
        long flow = s.flowIds[p];
        try {
            if (flow == 0) {
                e.connection.send(data);
            } else {
                e.connection.sendControl(withFlowPrefix(data, flow));
            }
        } catch (RuntimeException ex) { // the connection ended under us (or refused the size); the buffer is released
            s.egressLost++;
            egressLost++;
            returnCredit(r);
            return;
        }
        s.datagramsOut++;
        s.bytesOut += r.length;
        s.flowDatagramsOut[p]++;
        s.flowBytesOut[p] += r.length;
        datagramsOut++;
        bytesOut += r.length;
        if (e.connection.isWritable()) {
            returnCredit(r);
        } else {
            e.defer(r);
        }
    }

    /**
     * Makes a result of flow {@code flow} a flow datagram (docs/artp.md, 9.3). The prefix goes into the buffer's
     * headroom when it has {@value ControlBlock#FLOW_PREFIX} bytes before its reader index and no other holder
     * (a buffer handed over with its ownership owns those bytes; results that came from another node arrive that
     * way), else in front of one pooled copy.
     *
     * @param data the result; ownership passes
     * @return the datagram to send; the caller owns it
     */
    static ByteBuf withFlowPrefix(ByteBuf data, long flow) {
        int ri = data.readerIndex();
        if (ri >= ControlBlock.FLOW_PREFIX && data.refCnt() == 1 && !data.isReadOnly()) {
            int wi = data.writerIndex();
            data.setIndex(ri - ControlBlock.FLOW_PREFIX, ri - ControlBlock.FLOW_PREFIX);
            ControlBlock.writeFlowPrefix(data, flow);
            data.writerIndex(wi);
            return data;
        }
        int len = data.readableBytes();
        try {
            ByteBuf out = PooledByteBufAllocator.DEFAULT.directBuffer(ControlBlock.FLOW_PREFIX + len);
            ControlBlock.writeFlowPrefix(out, flow);
            out.writeBytes(data, ri, len);
            return out;
        } finally {
            data.release();
        }
    }

    private void lose(EgressSession s, Result r) {
        s.egressLost++;
        egressLost++;
        if (r.data != null) {
            r.data.release();
            r.data = null;
        }
        returnCredit(r);
    }

    private static void returnCredit(Result r) {
        Credit c = r.from.credit;
        int len = r.length;
        r.recycle();
        c.release(len);
    }

    private void releaseDeferred(Egress e) {
        if (e.deferred == null) {
            return;
        }
        Result r;
        while ((r = e.deferred.poll()) != null) {
            returnCredit(r);
        }
    }

    /** Drops (and counts) the results that waited for a connection that will not open. */
    private void loseWaiting(Egress e) {
        ArrayDeque<Result> w = e.waiting;
        e.waiting = null;
        if (w != null) {
            Result r;
            while ((r = w.poll()) != null) {
                lose(e.session, r);
            }
        }
    }

    private void flush(EgressSession s) {
        AggregationStrategy st = strategy;
        if (st != null) {
            try {
                st.closed(s.id, sink);
            } catch (RuntimeException e) {
                strategyErrors++;
            }
        }
    }

    private void tick() {
        if (sessions.isEmpty()) {
            ticker.cancel(false); // the next open starts it again, on this loop
            ticker = null;
            return;
        }
        AggregationStrategy st = strategy;
        if (st != null && !sessions.isEmpty()) {
            try {
                st.advance(System.nanoTime(), sink);
            } catch (RuntimeException e) {
                strategyErrors++;
            }
        }
    }

    // ---- ARTP handler (loop)

    @Override
    public void datagram(ArtpConnection connection, ByteBuf datagram, boolean control) {
        reverseDatagrams++; // a destination has nothing to say to the router on this path
        datagram.release();
    }

    @Override
    public void writabilityChanged(ArtpConnection connection) {
        if (connection.isWritable() && connection.attachment() instanceof Egress e) {
            releaseDeferred(e);
        }
    }

    @Override
    public void closed(ArtpConnection connection, ErrorCode code, String reason) {
        if (connection.attachment() instanceof Egress e && !e.session.closing) {
            e.failed = true;
            e.failure = code + " " + reason;
            LOG.log(Level.WARNING, "aggregation: the egress of session {0} to {1} ended: {2} {3}", e.session.id,
                e.destination, code, reason);
            releaseDeferred(e);
        }
    }

    // ---- strategy sink (loop)

    private final class Sink implements AggregationStrategy.Sink {
        @Override
        public void send(SessionId session, Datagram datagram) {
            Result r = held.remove(datagram);
            if (r == null) {
                strategyErrors++; // not ours, or released twice
                return;
            }
            AggregationCore.this.send(r.from.session, r);
        }

        @Override
        public void drop(SessionId session, Datagram datagram) {
            Result r = held.remove(datagram);
            if (r == null) {
                strategyErrors++;
                return;
            }
            lose(r.from.session, r);
        }
    }

    // ---- threads

    void execute(Runnable task) {
        loop.execute(task);
    }

    private <T> T onLoop(Callable<T> task) {
        if (loop.inEventLoop()) {
            try {
                return task.call();
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }
        try {
            return loop.submit(task).get(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted waiting for the aggregation unit", e);
        } catch (ExecutionException e) {
            throw new IllegalStateException("aggregation unit: " + e.getCause(), e.getCause());
        } catch (TimeoutException e) {
            throw new IllegalStateException("the aggregation unit did not answer within 10 s", e);
        }
    }

    private static String rootMessage(Throwable t) {
        while (t.getCause() != null) {
            t = t.getCause();
        }
        return String.valueOf(t.getMessage());
    }
}
