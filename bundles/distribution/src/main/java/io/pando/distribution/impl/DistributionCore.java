package io.pando.distribution.impl;

import io.netty.buffer.ByteBuf;
import io.netty.channel.EventLoop;
import io.pando.api.policy.LoadBalancingPolicy;
import io.pando.api.router.DrainInfo;
import io.pando.api.router.MigrationInfo;
import io.pando.api.program.Datagram;
import io.pando.api.router.PolicyRole;
import io.pando.api.router.RouterException;
import io.pando.api.router.RouterService;
import io.pando.api.router.SessionInfo;
import io.pando.api.router.SessionRequest;
import io.pando.api.router.UnitInfo;
import io.pando.api.session.ActiveSession;
import io.pando.api.session.FlowId;
import io.pando.api.session.SessionId;
import io.pando.api.session.SessionState;
import io.pando.api.unit.UnitId;
import io.pando.api.unit.UnitLoad;
import io.pando.artp.ArtpConfig;
import io.pando.artp.ArtpConnection;
import io.pando.artp.ArtpEndpoint;
import io.pando.artp.ArtpHandler;
import io.pando.artp.ControlBlock;
import io.pando.artp.ErrorCode;
import io.pando.artp.SessionGrant;
import io.pando.link.AggregationPort;
import io.pando.link.SessionHandover;
import io.pando.link.SessionPlan;
import io.pando.link.UnitChannel;
import io.pando.link.UnitPort;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.net.InetSocketAddress;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.Collectors;

/**
 * The distribution unit and the session manager of a node.
 *
 * <p><b>Ingress.</b> One ARTP endpoint is the router's address for every session; a sender's handshake names
 * the session, and the connection carries the session from then on, so classifying a packet is one lookup of
 * its connection id inside ARTP. ARTP terminates here (acknowledgements, duplicate suppression and reassembly
 * happen once, at the router's edge), and each complete datagram is numbered in its session's arrival order
 * and handed whole to one unit chosen by the session's {@link LoadBalancingPolicy}; control datagrams go to
 * every unit of the session. All of it runs on the ingress endpoint's event loop without locks.
 *
 * <p><b>Keyed sessions.</b> A session created with a key ({@link SessionRequest#key()}) admits only senders whose
 * handshake is authenticated under it: its grant is {@link SessionGrant#keyed} with the key, made once at creation.
 * ARTP drops and counts every other handshake packet ({@code auth_failed}, {@code ingress_auth_failed} in
 * {@link #stats()}), so no connection exists for such a sender and nothing of it reaches a unit.
 *
 * <p><b>Flows</b> (docs/artp.md, 9.3). A DATA datagram belongs to flow 0. A CONTROL datagram that is a flow
 * datagram (its block is exactly FLOW(f) and END) is a data datagram of flow f: its 12-byte prefix is skipped in
 * place and it is numbered, balanced and delivered like any data datagram, tagged with f. Any other CONTROL
 * datagram is control information about the flow its first FLOW field names (0 without one). A datagram of a
 * flow the session does not have is dropped and counted ({@code unknown_flow}). A flow's position in the plan
 * indexes the session's per-flow counters and its {@link FlowId}, so tagging costs no lookup in a map.
 *
 * <p><b>Back-pressure.</b> When a unit reports a session over its quota, the session's senders stop getting
 * ARTP credit until every unit reports it clear; nothing that ARTP acknowledged is ever dropped.
 *
 * <p><b>Sessions</b> are created and closed by the administrator ({@link RouterService}); creation opens the
 * session at the aggregation unit first (which opens its egress connection only when the first result comes, so
 * creation does not wait for the destination), then on each chosen unit, and undoes everything if one step fails.
 * Creation costs no scan of the open sessions (names are indexed), so it stays as fast with 100,000 sessions open.
 *
 * <p><b>Migration</b> (io.pando.link, "Migration"): the session is opened on the target unit, which holds what it
 * gets; on the ingress loop, between two datagrams, the target replaces the source in the session's units and
 * channels; the source processes what it had, hands the program's state over and closes once its results left;
 * the target installs the state and processes what it held. A drained unit gets no new session and its sessions
 * migrate to the least loaded other units.
 *
 * <p><b>Failure</b> (io.pando.link, "Failure"; README, "Failure recovery"): each channel to a unit is a
 * {@link RetainingChannel} that keeps what the unit has not acknowledged, within the session's quota. When a unit's
 * service goes away ({@link #removeUnit}) or its channel throws, each of its sessions is recovered on the ingress
 * loop: what it had not finished goes to the session's other units, or the session is re-placed on another unit that
 * runs its program (held, with the sender paused, until one does, or until {@link #HELD_TIMEOUT_MS}).
 */
final class DistributionCore implements RouterService, ArtpHandler {

    private static final Logger LOG = System.getLogger(DistributionCore.class.getName());
    private static final long OPEN_TIMEOUT_S = 10;
    /** Opens a session's units side by side (daemon threads that end when idle). */
    private static final java.util.concurrent.Executor UNIT_OPENER = new java.util.concurrent.ThreadPoolExecutor(0, 16,
        10, TimeUnit.SECONDS, new java.util.concurrent.SynchronousQueue<>(), r -> {
            Thread t = new Thread(r, "pando-session-open");
            t.setDaemon(true);
            return t;
        }, new java.util.concurrent.ThreadPoolExecutor.CallerRunsPolicy());
    private static final long CLOSE_TIMEOUT_S = 30;
    private static final long HANDOVER_TIMEOUT_S = 30;
    /** How often the ingress loop applies the units' acknowledgements when no datagram comes to do it. */
    private static final long ACK_SWEEP_MS = 5;
    /** Channels with an acknowledgement not applied yet ({@link #applyAcks()}). */
    private final java.util.Queue<RetainingChannel> ackPending = new java.util.concurrent.ConcurrentLinkedQueue<>();
    /** How long a session that lost its only unit, with no other to take it, keeps what it holds. */
    static final long HELD_TIMEOUT_MS = 30_000;

    private final ArtpEndpoint ingress;
    private final EventLoop loop;
    private final String advertisedHost;
    private final long quotaBytes;
    /** The ingress endpoint's connection cap (senders of all sessions at once), shown in {@link #stats()}. */
    private final int maxConnections;
    private final AggregationPort aggregation;
    private final Map<UnitId, UnitPort> units = new ConcurrentHashMap<>();
    private final Map<String, LoadBalancingPolicy> policies = new ConcurrentHashMap<>();
    private final Map<SessionId, IngressSession> sessions = new ConcurrentHashMap<>();
    /** The open sessions by name (names are unique among them); changed under {@link #admin}. */
    private final Map<String, IngressSession> byName = new HashMap<>();
    private final SecureRandom random = new SecureRandom();
    private final Object admin = new Object();
    private volatile String selectedPolicy;
    private volatile Map<UnitId, UnitLoad> loads = Map.of();
    /** Units that take no new session (pando:unit-drain). */
    private final Set<UnitId> drained = ConcurrentHashMap.newKeySet();

    // ingress loop
    private long refusedNoSession;
    private long datagramsIn;
    private long bytesIn;
    private long policyMissing;
    private long unknownFlow;
    // failure recovery (ingress loop; totals over every session, closed ones too)
    private long retainedTotal;
    private long retainedBytesNow;
    private long retainedBytesHighWater;
    private long unitFailures;
    private long resentAfterUnitFailure;
    private long heldWithoutUnit;
    private long retainedTimedOut;
    private long sessionsReplaced;
    /** Suppressed duplicates and late results of sessions that closed (the open ones count their own). */
    private final java.util.concurrent.atomic.LongAdder duplicatesSuppressed = new java.util.concurrent.atomic.LongAdder();
    private final java.util.concurrent.atomic.LongAdder lateFromFailedUnit = new java.util.concurrent.atomic.LongAdder();
    /** How long a session without a unit keeps what it holds before releasing it (counted). */
    volatile long heldTimeoutMillis = HELD_TIMEOUT_MS;
    /** Opens sessions on replacement units, off the ingress loop (one daemon thread, ends when idle). */
    private final java.util.concurrent.ThreadPoolExecutor recovery = new java.util.concurrent.ThreadPoolExecutor(1, 1,
        10, TimeUnit.SECONDS, new java.util.concurrent.LinkedBlockingQueue<>(), r -> {
            Thread t = new Thread(r, "pando-session-recovery");
            t.setDaemon(true);
            return t;
        });
    // admin
    private long sessionsCreated;
    private long sessionsClosed;
    private long policySwitches;
    private volatile long duplicateUnits;
    // migrations (admin threads)
    private final java.util.concurrent.atomic.AtomicLong migrations = new java.util.concurrent.atomic.AtomicLong();
    private final java.util.concurrent.atomic.AtomicLong migrationsFailed = new java.util.concurrent.atomic.AtomicLong();
    private final java.util.concurrent.atomic.AtomicLong handoverHeld = new java.util.concurrent.atomic.AtomicLong();
    private final java.util.concurrent.atomic.AtomicLong handoverNanos = new java.util.concurrent.atomic.AtomicLong();
    private final java.util.concurrent.atomic.AtomicLong handoverNanosMax = new java.util.concurrent.atomic.AtomicLong();

    /**
     * @param bind the ingress address
     * @param advertisedHost the host senders are told to connect to (empty: the bound address)
     * @param loadBalancing the name of the router's load-balancing policy
     * @param quotaBytes each session's quota in each unit's buffer pool
     */
    DistributionCore(InetSocketAddress bind, String advertisedHost, String loadBalancing, long quotaBytes,
            AggregationPort aggregation, ArtpConfig config) {
        this.advertisedHost = advertisedHost;
        this.selectedPolicy = loadBalancing;
        this.quotaBytes = quotaBytes;
        this.aggregation = aggregation;
        this.maxConnections = config.maxConnections;
        this.ingress = ArtpEndpoint.builder().bind(bind).config(config).handler(this).acceptor(this::accept).start();
        this.loop = ingress.eventLoop();
        loop.scheduleAtFixedRate(this::refreshLoads, 0, 50, TimeUnit.MILLISECONDS);
        loop.scheduleAtFixedRate(this::applyAcks, ACK_SWEEP_MS, ACK_SWEEP_MS, TimeUnit.MILLISECONDS);
    }

    void stop() {
        for (IngressSession s : sessions.values()) {
            try {
                closeSession(s.id);
            } catch (RuntimeException e) {
                LOG.log(Level.WARNING, "closing session " + s.id + " on stop failed", e);
            }
        }
        recovery.shutdownNow();
        ingress.close();
    }

    EventLoop ingressLoop() {
        return loop;
    }

    InetSocketAddress ingressAddress() {
        InetSocketAddress local = ingress.localAddress();
        if (!advertisedHost.isEmpty()) {
            return new InetSocketAddress(advertisedHost, local.getPort());
        }
        return local;
    }

    // ---- units and policies come and go

    void addUnit(UnitPort unit) {
        UnitPort other = units.putIfAbsent(unit.id(), unit);
        if (other != null && other != unit) {
            LOG.log(Level.ERROR, "two units are named {0} ({1} and {2}): the second is not used; give every unit a "
                + "unique unit.id", unit.id(), other.location(), unit.location());
            duplicateUnits++;
            return;
        }
        for (IngressSession s : sessions.values()) {
            if (s.orphaned) { // waits for a unit with its program: this one may be it
                recovery.execute(() -> replace(s));
            }
        }
    }

    /**
     * The unit's service went away: the unit stopped, or the remote layer lost its node (the control connection
     * closed, or the node stopped answering). Each session it served is recovered ({@link #unitFailed}).
     */
    void removeUnit(UnitPort unit) {
        if (units.remove(unit.id(), unit)) {
            unitFailed(unit.id(), "unit " + unit.id() + " (" + unit.location() + ") went away");
        }
    }

    void addPolicy(String name, LoadBalancingPolicy policy) {
        policies.put(name, policy);
    }

    void removePolicy(String name, LoadBalancingPolicy policy) {
        policies.remove(name, policy);
    }

    // ---- the packet path (ingress loop)

    /**
     * A keyed session's grant carries its key: ARTP then drops every handshake packet not tagged under it (an
     * unkeyed INIT, or one tagged with another key) and counts it ({@code auth_failed}, {@code ingress_auth_failed}
     * in {@link #stats()}); no connection is made and nothing of the sender reaches a unit.
     */
    private SessionGrant accept(long sessionId, InetSocketAddress peer) {
        IngressSession s = sessionId == 0 ? null : sessions.get(new SessionId(sessionId));
        return s != null && s.state == SessionState.ACTIVE ? s.grant : null;
    }

    @Override
    public void connected(ArtpConnection connection) {
        IngressSession s = sessions.get(new SessionId(connection.sessionId()));
        if (s == null || s.state != SessionState.ACTIVE) {
            connection.reset(ErrorCode.APPLICATION_ABORT, "session " + Long.toUnsignedString(connection.sessionId())
                + " is not open");
            return;
        }
        connection.attach(s);
        s.connections.add(connection);
        s.applyCongestion();
    }

    @Override
    public void closed(ArtpConnection connection, ErrorCode code, String reason) {
        if (connection.attachment() instanceof IngressSession s) {
            s.connections.remove(connection);
        }
    }

    @Override
    public void datagram(ArtpConnection connection, ByteBuf data, boolean control) {
        if (!(connection.attachment() instanceof IngressSession s) || !s.forwarding) {
            if (connection.attachment() instanceof IngressSession late) {
                late.lateAfterClose++;
            }
            refusedNoSession++;
            data.release();
            return;
        }
        int position = 0; // flow 0, the session's default flow
        if (control) {
            long flow = ControlBlock.flowOf(data);
            boolean flowDatagram = flow != ControlBlock.NOT_A_FLOW_DATAGRAM;
            if (!flowDatagram) {
                flow = namedFlow(data);
            }
            position = s.position(flow);
            if (position < 0) { // a flow the session does not have: nobody could tell what it belongs to
                s.unknownFlow++;
                unknownFlow++;
                data.release();
                return;
            }
            if (!flowDatagram) { // control information: to every unit, outside the data sequence
                int len = data.readableBytes();
                s.datagramsIn++;
                s.bytesIn += len;
                datagramsIn++;
                bytesIn += len;
                s.controlIn++;
                s.flowDatagramsIn[position]++;
                if (s.channelArray.length == 0) { // its unit died and no other took it yet
                    hold(s, UnitChannel.NO_SEQUENCE, flow, data, true);
                    return;
                }
                for (UnitChannel c : s.channelArray) {
                    c.deliver(UnitChannel.NO_SEQUENCE, flow, data.retainedDuplicate(), true);
                }
                data.release();
                return;
            }
            data.skipBytes(ControlBlock.FLOW_PREFIX); // a data datagram of that flow, in place
        }
        int len = data.readableBytes();
        s.datagramsIn++;
        s.bytesIn += len;
        datagramsIn++;
        bytesIn += len;
        s.flowDatagramsIn[position]++;
        if (s.channelArray.length == 0) {
            hold(s, s.nextSequence++, s.flowIds[position], data, false);
            return;
        }
        choose(s, s.channelArray, position, data).deliver(s.nextSequence++, s.flowIds[position], data, false);
    }

    /**
     * The flow a piece of control information is about: the value of the first FLOW field of its block (ARTP
     * validated the block), or 0 when it has none.
     */
    static long namedFlow(ByteBuf data) {
        int i = data.readerIndex();
        int end = data.writerIndex();
        while (i + 4 <= end) {
            int type = data.getUnsignedShort(i);
            int length = data.getUnsignedShort(i + 2);
            if (type == ControlBlock.END) {
                break;
            }
            if (type == ControlBlock.FLOW && length == 4 && i + 8 <= end) {
                return data.getUnsignedInt(i + 4);
            }
            i += 4 + length;
        }
        return 0;
    }

    private UnitChannel choose(IngressSession s, UnitChannel[] channels, int position, ByteBuf data) {
        if (channels.length == 1) {
            return channels[0];
        }
        LoadBalancingPolicy p = policies.get(s.policy != null ? s.policy : selectedPolicy);
        if (p != null) {
            try {
                UnitId u = p.choose(Datagram.wrap(s.flows[position], false, data.nioBuffer(data.readerIndex(), data.readableBytes())),
                    s.active, s.candidates, loads);
                UnitChannel c = u == null ? null : s.channels.get(u);
                if (c != null) {
                    return c;
                }
            } catch (RuntimeException e) {
                if (s.policyErrors == 0) {
                    LOG.log(Level.WARNING, "load-balancing policy failed for session " + s.id, e);
                }
            }
            s.policyErrors++;
        } else {
            policyMissing++;
        }
        return channels[Math.floorMod(s.roundRobin++, channels.length)]; // never stall: fall back to round robin
    }

    private void refreshLoads() {
        Map<UnitId, UnitLoad> m = new HashMap<>();
        for (UnitPort u : units.values()) {
            try {
                m.put(u.id(), u.load());
            } catch (RuntimeException e) {
                LOG.log(Level.DEBUG, "load of unit " + u.id() + " unavailable", e);
            }
        }
        loads = Map.copyOf(m);
    }

    // ---- RouterService

    @Override
    public SessionInfo createSession(SessionRequest request) {
        synchronized (admin) {
            List<UnitPort> chosen = chooseUnits(request);
            if (units.values().stream().noneMatch(u -> u.programs().contains(request.program()))) {
                Set<String> programs = new TreeSet<>();
                for (UnitPort u : units.values()) {
                    programs.addAll(u.programs());
                }
                throw new IllegalArgumentException("no active program '" + request.program() + "' is registered; "
                    + "registered: " + programs);
            }
            request.loadBalancing().ifPresent(p -> {
                if (!policies.containsKey(p)) {
                    throw new IllegalArgumentException("no load-balancing policy '" + p + "'; registered: "
                        + new TreeSet<>(policies.keySet()));
                }
            });
            IngressSession other = byName.get(request.name());
            if (other != null) {
                throw new IllegalArgumentException("a session named '" + request.name() + "' is open (id "
                    + other.id + ")");
            }
            SessionId id = newId();
            List<UnitId> unitIds = chosen.stream().map(UnitPort::id).toList();
            SessionPlan plan = new SessionPlan(id, request.name(), request.program(), request.parameters(),
                request.destination(), unitIds, quotaBytes, request.reorderWindowMillis(), request.execution(),
                request.flows());
            for (UnitPort u : chosen) {
                u.validate(plan); // the program is there and accepts the parameters: refuse before opening anything
            }
            IngressSession s = new IngressSession(this, plan, request.loadBalancing().orElse(null),
                request.key().map(k -> SessionGrant.keyed(k.bytes())).orElse(SessionGrant.UNKEYED));
            try {
                aggregation.open(plan).toCompletableFuture().get(OPEN_TIMEOUT_S, TimeUnit.SECONDS);
            } catch (ExecutionException | TimeoutException e) {
                aggregation.close(id);
                throw new RouterException("session " + request.name() + " refused: "
                    + (e instanceof TimeoutException ? "the destination " + request.destination()
                        + " did not answer within " + OPEN_TIMEOUT_S + " s" : e.getCause().getMessage()), e);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new RouterException("interrupted while opening session " + request.name(), e);
            }
            // the units open side by side: one whose program starts a sandbox takes about a second
            List<CompletableFuture<UnitChannel>> opening = new ArrayList<>();
            for (UnitPort u : chosen) {
                opening.add(chosen.size() == 1 ? open(u, plan, s)
                    : CompletableFuture.supplyAsync(() -> RetainingChannel.open(u, plan, aggregation, s, false),
                        UNIT_OPENER));
            }
            RuntimeException failure = null;
            for (int i = 0; i < chosen.size(); i++) {
                try {
                    s.channels.put(chosen.get(i).id(), opening.get(i).join());
                } catch (java.util.concurrent.CompletionException e) {
                    RuntimeException cause = e.getCause() instanceof RuntimeException r ? r : e;
                    failure = failure == null ? cause : failure;
                }
            }
            if (failure != null) {
                for (UnitChannel c : s.channels.values()) {
                    c.close();
                }
                s.channels.clear();
                aggregation.close(id);
                throw new RouterException("session " + request.name() + " refused: " + failure.getMessage(), failure);
            }
            s.channelArray = s.channels.values().toArray(new UnitChannel[0]);
            s.active = activeView(s, SessionState.ACTIVE);
            Map<String, Long> ingressCounters = s.snapshot(); // unpublished yet: no trip to the ingress loop
            sessions.put(id, s);
            byName.put(plan.name(), s);
            s.state = SessionState.ACTIVE;
            sessionsCreated++;
            LOG.log(Level.INFO, "session {0} ({1}) created: program {2}, units {3}, to {4}, {5}", id, request.name(),
                request.program(), unitIds, plan.flows().size() == 1 ? request.destination() : plan.flows(),
                s.grant.isKeyed() ? "keyed" : "unkeyed");
            // a session nobody could reach yet has accounted nothing at its units or the aggregation unit: its
            // report says so without a trip to their event loops (RouterService.createSession)
            return report(s, s.state, ingressCounters, Map.of(), Map.of());
        }
    }

    private CompletableFuture<UnitChannel> open(UnitPort u, SessionPlan plan, IngressSession s) {
        try {
            return CompletableFuture.completedFuture(RetainingChannel.open(u, plan, aggregation, s, false));
        } catch (RuntimeException e) {
            return CompletableFuture.failedFuture(e);
        }
    }

    private List<UnitPort> chooseUnits(SessionRequest request) {
        if (units.isEmpty()) {
            throw new RouterException("no unit is running on this node (feature pando-unit, configuration "
                + "io.pando.unit~NAME)");
        }
        List<UnitPort> all = new ArrayList<>(units.values());
        all.removeIf(u -> drained.contains(u.id()));
        int k = request.units() == 0 ? all.size() : request.units();
        if (k > all.size()) {
            throw new IllegalArgumentException("asked for " + k + " units; " + all.size()
                + (drained.isEmpty() ? " run: " : " take sessions: ")
                + new TreeSet<>(all.stream().map(u -> u.id().value()).toList())
                + (drained.isEmpty() ? "" : " (drained: " + new TreeSet<>(drained.stream().map(UnitId::value).toList())
                    + ")"));
        }
        if (k == 0) {
            throw new RouterException("every unit is drained (pando:unit-undrain UNIT)");
        }
        all.sort(Comparator.comparingInt((UnitPort u) -> u.load().sessions()).thenComparing(u -> u.id().value()));
        List<UnitPort> chosen = new ArrayList<>(all.subList(0, k));
        chosen.sort(Comparator.comparing(u -> u.id().value()));
        return chosen;
    }

    private SessionId newId() {
        while (true) {
            long v = random.nextLong() & Long.MAX_VALUE;
            if (v != 0 && !sessions.containsKey(new SessionId(v))) {
                return new SessionId(v);
            }
        }
    }

    private static ActiveSession activeView(IngressSession s, SessionState state) {
        return new ActiveSession(s.id, "admin", state, s.plan.flows(), Set.copyOf(s.candidates));
    }

    @Override
    public List<SessionInfo> sessions() {
        return sessions.values().stream().sorted(Comparator.comparing((IngressSession s) -> s.created))
            .map(this::info).toList();
    }

    @Override
    public Optional<SessionInfo> session(SessionId id) {
        IngressSession s = sessions.get(id);
        return s == null ? Optional.empty() : Optional.of(info(s));
    }

    @Override
    public SessionInfo closeSession(SessionId id) {
        IngressSession s = sessions.get(id);
        if (s == null) {
            throw new NoSuchElementException("no session " + id);
        }
        synchronized (s) {
            if (s.state == SessionState.CLOSED) {
                throw new NoSuchElementException("no session " + id);
            }
            s.state = SessionState.CLOSED; // refuses new senders at once
            s.active = activeView(s, SessionState.CLOSED);
            List<CompletableFuture<Void>> closing = new ArrayList<>();
            for (ArtpConnection c : s.connections) {
                closing.add(c.close().toCompletableFuture());
            }
            await(closing, "the senders of session " + id + " to finish", () -> {
                for (ArtpConnection c : s.connections) {
                    c.reset(ErrorCode.APPLICATION_ABORT, "session closed by the administrator");
                }
            });
            Map<String, Long> ingressCounters = onLoop(() -> { // one trip to the ingress loop for both
                s.forwarding = false;
                return s.snapshot();
            });
            List<CompletableFuture<Void>> draining = new ArrayList<>();
            for (Map.Entry<UnitId, UnitChannel> e : s.channels.entrySet()) {
                try {
                    draining.add(e.getValue().close().toCompletableFuture());
                } catch (RuntimeException ex) { // a unit that went away under the session: close the rest
                    LOG.log(Level.WARNING, "unit " + e.getKey() + " could not close session " + id, ex);
                }
            }
            await(draining, "the units of session " + id + " to drain", () -> { });
            onLoop(() -> { // drained: nothing retained is needed any more
                for (UnitChannel c : s.channels.values()) {
                    if (c instanceof RetainingChannel r) {
                        r.releaseAll();
                    }
                }
                releaseHeld(s, "the session closed");
                return null;
            });
            Map<UnitId, Map<String, Long>> unitCounters = unitCounters(s);
            Map<String, Long> reorder = aggregation.reorder(id);
            Map<String, Long> egress;
            try {
                egress = aggregation.close(id).toCompletableFuture().get(CLOSE_TIMEOUT_S, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                egress = Map.of();
            } catch (ExecutionException | TimeoutException e) {
                LOG.log(Level.WARNING, "the egress of session " + id + " did not close in order", e);
                egress = Map.of();
            }
            sessions.remove(id, s);
            duplicatesSuppressed.add(s.duplicatesSuppressed.sum());
            lateFromFailedUnit.add(s.lateFromFailedUnit.sum());
            synchronized (admin) {
                byName.remove(s.plan.name(), s);
                sessionsClosed++;
            }
            Map<String, Long> counters = new LinkedHashMap<>(ingressCounters);
            counters.putAll(egress);
            SessionInfo last = report(s, SessionState.CLOSED, counters, unitCounters, reorder);
            LOG.log(Level.INFO, "session {0} ({1}) closed: {2}; units {3}; reordering {4}", id, s.plan.name(),
                counters, unitCounters, reorder);
            return last;
        }
    }

    private void await(List<CompletableFuture<Void>> futures, String what, Runnable onTimeout) {
        try {
            CompletableFuture.allOf(futures.toArray(new CompletableFuture[0])).get(CLOSE_TIMEOUT_S, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (ExecutionException e) {
            LOG.log(Level.WARNING, "waiting for " + what + ": " + e.getCause());
        } catch (TimeoutException e) {
            LOG.log(Level.WARNING, "gave up waiting " + CLOSE_TIMEOUT_S + " s for " + what);
            onTimeout.run();
        }
    }

    private String policyName(IngressSession s) {
        return s.policy != null ? s.policy : selectedPolicy;
    }

    private SessionInfo info(IngressSession s) {
        return info(s, onLoop(s::snapshot));
    }

    private SessionInfo info(IngressSession s, Map<String, Long> ingressCounters) {
        Map<String, Long> counters = new LinkedHashMap<>(ingressCounters);
        counters.putAll(aggregation.counters(s.id));
        return report(s, s.state, counters, unitCounters(s), aggregation.reorder(s.id));
    }

    private SessionInfo report(IngressSession s, SessionState state, Map<String, Long> counters,
            Map<UnitId, Map<String, Long>> unitCounters, Map<String, Long> reorder) {
        return new SessionInfo(s.id, s.plan.name(), s.plan.program(), state, ingressAddress(), s.plan.destination(),
            s.candidates, policyName(s), s.created, counters, unitCounters, reorder, s.plan.flows(),
            s.grant.isKeyed());
    }

    /** Each unit's accounting of the session; a unit that cannot answer is reported without counters. */
    private static Map<UnitId, Map<String, Long>> unitCounters(IngressSession s) {
        Map<UnitId, Map<String, Long>> m = new LinkedHashMap<>();
        for (Map.Entry<UnitId, UnitChannel> e : s.channels.entrySet()) {
            try {
                m.put(e.getKey(), e.getValue().counters());
            } catch (RuntimeException ex) {
                m.put(e.getKey(), Map.of());
            }
        }
        return m;
    }

    @Override
    public List<UnitInfo> units() {
        return units.values().stream().sorted(Comparator.comparing(u -> u.id().value()))
            .map(u -> {
                Map<String, Long> c = new LinkedHashMap<>(u.counters());
                c.put("drained", drained.contains(u.id()) ? 1L : 0L);
                return new UnitInfo(u.id(), u.location(), u.load(), u.scheduler(), c);
            }).toList();
    }

    // ---- migration

    @Override
    public MigrationInfo migrateSession(SessionId id, UnitId from, UnitId to) {
        IngressSession s = sessions.get(id);
        if (s == null || s.state != SessionState.ACTIVE) {
            throw new NoSuchElementException("no session " + id);
        }
        if (!s.migrating.compareAndSet(false, true)) {
            throw new IllegalStateException("a migration of session " + id + " is already running");
        }
        try {
            synchronized (s) { // closeSession takes the same lock: a session does not close mid-migration
                if (s.state != SessionState.ACTIVE) {
                    throw new NoSuchElementException("no session " + id + " (it closed)");
                }
                return migrate(s, from, to);
            }
        } finally {
            s.migrating.set(false);
        }
    }

    private MigrationInfo migrate(IngressSession s, UnitId from, UnitId to) {
        SessionPlan plan = s.plan;
        if (from.equals(to)) {
            throw new IllegalArgumentException("session " + s.id + ": the source and the target are both " + from);
        }
        if (!s.candidates.contains(from)) {
            throw new IllegalArgumentException("unit " + from + " does not serve session " + s.id + "; its units: "
                + s.candidates);
        }
        UnitPort target = units.get(to);
        if (target == null) {
            throw new NoSuchElementException("no unit " + to + "; units: "
                + new TreeSet<>(units.keySet().stream().map(UnitId::value).toList()));
        }
        if (s.candidates.contains(to)) {
            throw new IllegalArgumentException("unit " + to + " already serves session " + s.id);
        }
        if (drained.contains(to)) {
            throw new IllegalArgumentException("unit " + to + " is drained (pando:unit-undrain " + to + ")");
        }
        UnitPort source = units.get(from);
        if (source == null) {
            throw new IllegalArgumentException("unit " + from + " is not running: there is nothing to hand over");
        }
        for (UnitPort u : List.of(source, target)) {
            if (!u.migrates()) {
                throw new IllegalArgumentException("unit " + u.id() + " (" + u.location() + ") cannot hand sessions "
                    + "over or take them over");
            }
        }
        if (!target.programs().contains(plan.program())) {
            throw new IllegalArgumentException("unit " + to + " lacks the program '" + plan.program() + "' of session "
                + s.id + "; it runs: " + target.programs());
        }
        List<UnitId> next = new ArrayList<>(s.candidates);
        next.set(next.indexOf(from), to);
        SessionPlan moved = withUnits(plan, next);
        target.validate(moved);
        UnitChannel in;
        try {
            in = RetainingChannel.open(target, moved, aggregation, s, true);
        } catch (RuntimeException e) {
            throw new RouterException("unit " + to + " cannot take session " + s.id + " over: " + e.getMessage(), e);
        }
        UnitChannel out = s.channels.get(from);
        long t0 = onLoop(() -> { // between two datagrams: every later one goes to the target
            Map<UnitId, UnitChannel> m = new LinkedHashMap<>();
            for (Map.Entry<UnitId, UnitChannel> e : s.channels.entrySet()) {
                m.put(e.getKey().equals(from) ? to : e.getKey(), e.getKey().equals(from) ? in : e.getValue());
            }
            s.channels = m;
            s.channelArray = m.values().toArray(new UnitChannel[0]);
            s.candidates = List.copyOf(next);
            s.plan = moved;
            s.active = activeView(s, SessionState.ACTIVE);
            return System.nanoTime();
        });
        SessionHandover h;
        RuntimeException lost = null;
        try {
            h = out.handOver().toCompletableFuture().get(HANDOVER_TIMEOUT_S, TimeUnit.SECONDS);
        } catch (InterruptedException | ExecutionException | TimeoutException | RuntimeException e) {
            if (e instanceof InterruptedException) {
                Thread.currentThread().interrupt();
            }
            String why = e instanceof TimeoutException ? "no answer within " + HANDOVER_TIMEOUT_S + " s"
                : String.valueOf(e instanceof ExecutionException ? e.getCause().getMessage() : e.getMessage());
            lost = new RouterException("session " + s.id + " moved from " + from + " to " + to + " WITHOUT its "
                + "program state: unit " + from + " did not hand it over (" + why + "); the datagrams are processed "
                + "on " + to + " from an empty state", e);
            h = SessionHandover.EMPTY;
        }
        in.takeOver(h);
        long handover = System.nanoTime() - t0;
        long held = in.counters().getOrDefault("held_for_handover", 0L);
        if (lost != null) {
            migrationsFailed.incrementAndGet();
            LOG.log(Level.ERROR, lost.getMessage(), lost.getCause());
        }
        await(List.of(out.close().toCompletableFuture()), "unit " + from + " to close session " + s.id
            + " after handing it over", () -> { });
        migrations.incrementAndGet();
        handoverHeld.addAndGet(held);
        handoverNanos.addAndGet(handover);
        handoverNanosMax.accumulateAndGet(handover, Math::max);
        s.migrations++;
        s.handoverHeld += held;
        s.handoverNanos += handover;
        if (lost != null) {
            throw lost;
        }
        MigrationInfo info = new MigrationInfo(s.id, from, to, Duration.ofNanos(handover), held, h.stateBytes(),
            h.timerDelaysMicros().size());
        LOG.log(Level.INFO, "session {0} migrated from {1} to {2}: hand-over {3} µs, {4} datagrams held, {5} state "
            + "bytes, {6} timers", s.id, from, to, handover / 1000, held, info.stateBytes(), info.timers());
        return info;
    }

    @Override
    public DrainInfo drainUnit(UnitId unit) {
        if (!units.containsKey(unit) && !drained.contains(unit)) {
            throw new NoSuchElementException("no unit " + unit + "; units: "
                + new TreeSet<>(units.keySet().stream().map(UnitId::value).toList()));
        }
        if (drained.add(unit)) {
            LOG.log(Level.INFO, "unit {0} is drained: it takes no new session", unit);
        }
        List<MigrationInfo> moved = new ArrayList<>();
        Map<SessionId, String> stayed = new LinkedHashMap<>();
        for (SessionInfo info : sessions()) {
            IngressSession s = sessions.get(info.id());
            if (s == null || !s.candidates.contains(unit)) {
                continue;
            }
            try {
                moved.add(migrateSession(s.id, unit, leastLoaded(s, unit)));
            } catch (RuntimeException e) {
                stayed.put(s.id, e.getMessage());
                LOG.log(Level.WARNING, "drain of unit {0}: session {1} stays: {2}", unit, s.id, e.getMessage());
            }
        }
        return new DrainInfo(unit, moved, stayed);
    }

    /** The least loaded unit that can take the session over from {@code from} (fewest sessions, then buffer). */
    private UnitId leastLoaded(IngressSession s, UnitId from) {
        String program = s.plan.program();
        List<UnitId> serving = s.candidates;
        return units.values().stream()
            .filter(u -> !drained.contains(u.id()) && !serving.contains(u.id()) && u.migrates()
                && u.programs().contains(program))
            .map(UnitPort::load)
            .min(Comparator.comparingInt(UnitLoad::sessions).thenComparingLong(UnitLoad::bufferUsed)
                .thenComparing(l -> l.unit().value()))
            .map(UnitLoad::unit)
            .orElseThrow(() -> new IllegalArgumentException("no other unit can take session " + s.id + " over from "
                + from + ": none that is not drained, does not serve it already, runs program '" + program
                + "' and migrates sessions"));
    }

    @Override
    public boolean undrainUnit(UnitId unit) {
        boolean was = drained.remove(unit);
        if (was) {
            LOG.log(Level.INFO, "unit {0} takes new sessions again", unit);
        }
        return was;
    }

    @Override
    public void selectPolicy(PolicyRole role, String name) {
        synchronized (admin) {
            switch (role) {
                case LOAD_BALANCING -> {
                    if (!policies.containsKey(name)) {
                        throw new IllegalArgumentException("no load-balancing policy '" + name + "'; registered: "
                            + new TreeSet<>(policies.keySet()));
                    }
                    selectedPolicy = name;
                }
                case SCHEDULER -> {
                    if (units.isEmpty()) {
                        throw new RouterException("no unit is running on this node");
                    }
                    for (UnitPort u : units.values()) {
                        u.selectScheduler(name);
                    }
                }
                case AGGREGATION -> aggregation.selectStrategy(name);
                default -> throw new IllegalArgumentException("unknown role " + role);
            }
            policySwitches++;
            LOG.log(Level.INFO, "{0} policy is now {1}", role, name);
        }
    }

    @Override
    public Map<PolicyRole, String> selectedPolicies() {
        Map<PolicyRole, String> m = new EnumMap<>(PolicyRole.class);
        m.put(PolicyRole.LOAD_BALANCING, selectedPolicy);
        m.put(PolicyRole.SCHEDULER, units.values().stream().map(UnitPort::scheduler).distinct().sorted()
            .collect(Collectors.joining(",")));
        m.put(PolicyRole.AGGREGATION, aggregation.strategy());
        return m;
    }

    @Override
    public Map<String, Long> stats() {
        Map<String, Long> m = new LinkedHashMap<>();
        synchronized (admin) {
            m.put("sessions_open", (long) sessions.size());
            m.put("sessions_created", sessionsCreated);
            m.put("sessions_closed", sessionsClosed);
            m.put("policy_switches", policySwitches);
        }
        m.put("units", (long) units.size());
        m.put("duplicate_units", duplicateUnits);
        m.put("units_drained", (long) drained.size());
        m.put("migrations", migrations.get());
        m.put("migrations_failed", migrationsFailed.get());
        m.put("migration_held_datagrams", handoverHeld.get());
        m.put("handover_us_total", handoverNanos.get() / 1000);
        m.put("handover_us_max", handoverNanosMax.get() / 1000);
        m.putAll(onLoop(() -> {
            Map<String, Long> i = new LinkedHashMap<>();
            long retainedNow = 0;
            long duplicates = duplicatesSuppressed.sum();
            long late = lateFromFailedUnit.sum();
            for (IngressSession s : sessions.values()) {
                retainedNow += s.snapshotRetained();
                duplicates += s.duplicatesSuppressed.sum();
                late += s.lateFromFailedUnit.sum();
            }
            i.put("retained", retainedNow);
            i.put("retained_total", retainedTotal);
            i.put("retained_bytes", retainedBytesNow);
            i.put("retained_bytes_high_water", retainedBytesHighWater);
            i.put("unit_failures", unitFailures);
            i.put("resent_after_unit_failure", resentAfterUnitFailure);
            i.put("duplicates_suppressed", duplicates);
            i.put("late_from_failed_unit", late);
            i.put("held_without_unit", heldWithoutUnit);
            i.put("retained_timed_out", retainedTimedOut);
            i.put("sessions_replaced", sessionsReplaced);
            i.put("datagrams_in", datagramsIn);
            i.put("bytes_in", bytesIn);
            i.put("refused_no_session", refusedNoSession);
            i.put("policy_missing", policyMissing);
            i.put("unknown_flow", unknownFlow);
            return i;
        }));
        aggregation.counters().forEach((k, v) -> m.put("aggregation_" + k, v));
        ingress.stats().toMap().forEach((k, v) -> m.put("ingress_" + k, v));
        m.put("ingress_max_connections", (long) maxConnections);
        return m;
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
            throw new IllegalStateException("interrupted waiting for the distribution unit", e);
        } catch (ExecutionException e) {
            throw new IllegalStateException("distribution unit: " + e.getCause(), e.getCause());
        } catch (TimeoutException e) {
            throw new IllegalStateException("the distribution unit did not answer within 10 s", e);
        }
    }

    // ---- failure recovery (io.pando.link "Failure"; README "Failure recovery")

    /** Any thread (a unit's): the channel has an acknowledgement the ingress loop has not applied yet. */
    void ackPending(RetainingChannel c) {
        ackPending.offer(c);
    }

    /**
     * Ingress loop: applies the acknowledgements of the channels that got one since the last sweep (a channel the
     * session no longer uses, or of a closed session, is skipped). Idle sessions cost the sweep nothing.
     */
    private void applyAcks() {
        RetainingChannel r;
        while ((r = ackPending.poll()) != null) {
            r.sweepQueued.set(false); // an acknowledgement from now on queues the channel again
            IngressSession s = r.session;
            if (sessions.get(s.id) == s && Arrays.asList(s.channelArray).contains(r)) {
                r.applyAcks();
            }
        }
    }

    /** Ingress loop. */
    void retained(int len) {
        retainedTotal++;
        retainedBytesNow += len;
        if (retainedBytesNow > retainedBytesHighWater) {
            retainedBytesHighWater = retainedBytesNow;
        }
    }

    /** Ingress loop. */
    void released(int len) {
        retainedBytesNow -= len;
    }

    /**
     * Any thread: the unit is dead (its service went away, or its channel refused a datagram). Each session it
     * served is recovered on the ingress loop, between two datagrams.
     */
    void unitFailed(UnitId unit, String why) {
        for (IngressSession s : sessions.values()) {
            if (s.channels.containsKey(unit)) {
                loop.execute(() -> recover(s, unit, why));
            }
        }
    }

    /**
     * Ingress loop: fences the dead unit's results, takes it out of the session, and gives what it had not finished
     * to the session's other units (with their original sequences; the results of a half-done datagram that the
     * aggregation unit already has are suppressed), or, when it was the only one, holds it and looks for another
     * unit that runs the program.
     */
    private void recover(IngressSession s, UnitId unit, String why) {
        UnitChannel c = s.channels.get(unit);
        if (c == null) {
            return; // recovered already, or moved away
        }
        long t0 = System.nanoTime();
        List<RetainingChannel.Unfinished> again = List.of();
        if (c instanceof RetainingChannel r) {
            r.fence();
            again = r.takeUnfinished();
        }
        List<UnitId> next = new ArrayList<>(s.candidates);
        next.remove(unit);
        install(s, withUnits(s.plan, next), unit, null);
        s.unitFailures++;
        unitFailures++;
        for (RetainingChannel.Unfinished u : again) {
            if (u.suppress() > 0) {
                s.suppress.put(u.sequence(), new java.util.concurrent.atomic.AtomicInteger(u.suppress()));
            }
        }
        if (s.channelArray.length > 0) {
            for (RetainingChannel.Unfinished u : again) {
                choose(s, s.channelArray, s.position(u.flow()), u.data()).deliver(u.sequence(), u.flow(), u.data(),
                    false);
                s.resentAfterUnitFailure++;
                resentAfterUnitFailure++;
            }
        } else {
            for (RetainingChannel.Unfinished u : again) {
                s.held.add(new IngressSession.Held(u.sequence(), u.flow(), u.data(), false));
                s.heldWithoutUnit++;
                heldWithoutUnit++;
            }
            orphan(s, unit);
        }
        long took = System.nanoTime() - t0;
        s.recoveryNanosMax = Math.max(s.recoveryNanosMax, took);
        LOG.log(Level.WARNING, "session {0}: {1}; {2} datagrams it had not finished went {3} ({4} µs)", s.id, why,
            again.size(), s.channelArray.length > 0 ? "to " + s.candidates : "on hold until another unit takes the "
            + "session", took / 1000);
    }

    /** Ingress loop: replaces the session's units by {@code plan}'s: {@code gone} leaves, {@code added} joins. */
    private static void install(IngressSession s, SessionPlan plan, UnitId gone, RetainingChannel added) {
        Map<UnitId, UnitChannel> m = new LinkedHashMap<>(s.channels);
        if (gone != null) {
            m.remove(gone);
        }
        if (added != null) {
            m.put(added.unit, added);
        }
        s.channels = m;
        s.channelArray = m.values().toArray(new UnitChannel[0]);
        s.candidates = plan.units();
        s.plan = plan;
        s.active = activeView(s, SessionState.ACTIVE);
    }

    private static SessionPlan withUnits(SessionPlan p, List<UnitId> units) {
        return new SessionPlan(p.id(), p.name(), p.program(), p.parameters(), p.destination(), units, p.quotaBytes(),
            p.reorderWindowMillis(), p.execution(), p.flows());
    }

    /** Ingress loop: a session without a unit keeps what comes, in order, and counts it. */
    private void hold(IngressSession s, long sequence, long flow, ByteBuf data, boolean control) {
        s.held.add(new IngressSession.Held(sequence, flow, data, control));
        s.heldWithoutUnit++;
        heldWithoutUnit++;
    }

    /** Ingress loop: the session lost its last unit: pause its sender and look for another unit. */
    private void orphan(IngressSession s, UnitId unit) {
        if (!s.orphaned) {
            s.orphaned = true;
            s.orphanedSince = System.nanoTime();
            s.congestion(unit, true); // no more credit for the sender until a unit takes the session
            long timeout = heldTimeoutMillis;
            loop.schedule(() -> expireHeld(s, timeout), timeout, TimeUnit.MILLISECONDS);
        }
        recovery.execute(() -> replace(s));
    }

    /** Ingress loop: a session still without a unit after the timeout lets what it held go, counted. */
    private void expireHeld(IngressSession s, long timeout) {
        if (!s.orphaned || s.state != SessionState.ACTIVE) {
            return;
        }
        int n = s.held.size();
        releaseHeld(s, "no unit took the session within " + timeout + " ms");
        s.retainedTimedOut += n;
        retainedTimedOut += n;
        loop.schedule(() -> expireHeld(s, timeout), timeout, TimeUnit.MILLISECONDS);
    }

    /** Ingress loop: releases what a session without a unit held. */
    private static void releaseHeld(IngressSession s, String why) {
        int n = s.held.size();
        IngressSession.Held h;
        while ((h = s.held.poll()) != null) {
            h.data().release();
        }
        if (n > 0) {
            LOG.log(Level.ERROR, "session {0}: {1} datagrams held without a unit are released: {2}", s.id, n, why);
        }
    }

    /**
     * Recovery thread: opens a session that lost its only unit on the least loaded unit that runs its program (not
     * drained), then gives it, on the ingress loop, everything held meanwhile, in order, and resumes the sender. With
     * no such unit the session waits (a unit that appears is tried, {@link #addUnit}).
     */
    private void replace(IngressSession s) {
        synchronized (s) { // a close or a migration of the session waits
            if (!s.orphaned || s.state != SessionState.ACTIVE) {
                return;
            }
            String program = s.plan.program();
            UnitPort u = units.values().stream()
                .filter(p -> !drained.contains(p.id()) && p.programs().contains(program))
                .min(Comparator.comparingInt((UnitPort p) -> p.load().sessions()).thenComparing(p -> p.id().value()))
                .orElse(null);
            if (u == null) {
                LOG.log(Level.ERROR, "session {0} has no unit: none runs program ''{1}'' (and is not drained); its "
                    + "datagrams are held (pando:stats held_without_unit) for {2} ms", s.id, program,
                    heldTimeoutMillis);
                return;
            }
            SessionPlan plan = withUnits(s.plan, List.of(u.id()));
            RetainingChannel c;
            try {
                u.validate(plan);
                c = RetainingChannel.open(u, plan, aggregation, s, false);
            } catch (RuntimeException e) {
                LOG.log(Level.ERROR, "session " + s.id + " could not be re-placed on unit " + u.id() + "; it stays "
                    + "without a unit", e);
                return;
            }
            onLoop(() -> {
                install(s, plan, null, c);
                IngressSession.Held h;
                while ((h = s.held.poll()) != null) {
                    if (!h.control()) {
                        s.resentAfterUnitFailure++;
                        resentAfterUnitFailure++;
                    }
                    c.deliver(h.sequence(), h.flow(), h.data(), h.control());
                }
                s.orphaned = false;
                s.replacements++;
                sessionsReplaced++;
                s.congestion(u.id(), false);
                return null;
            });
            LOG.log(Level.WARNING, "session {0} re-placed on unit {1}", s.id, u.id());
        }
    }
}
