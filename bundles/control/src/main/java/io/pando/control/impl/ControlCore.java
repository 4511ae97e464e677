package io.pando.control.impl;

import io.pando.api.router.Execution;
import io.pando.api.router.RouterException;
import io.pando.api.router.RouterService;
import io.pando.api.router.SessionInfo;
import io.pando.api.router.SessionKey;
import io.pando.api.router.SessionRequest;
import io.pando.api.router.UnitInfo;
import io.pando.api.session.Flow;
import io.pando.api.session.FlowId;
import io.pando.api.session.SessionId;
import io.pando.api.unit.UnitId;
import io.pando.api.unit.UnitLoad;
import io.pando.control.AdmissionDecision;
import io.pando.control.AdmissionPolicy;
import io.pando.control.PlacementPolicy;
import io.pando.control.ResourceView;
import io.pando.control.SessionDemand;
import io.pando.control.UnitResources;
import io.pando.control.UserUsage;
import io.pando.control.protocol.ControlCodec;
import io.pando.control.protocol.ControlMessage;
import io.pando.control.protocol.Distribution;
import io.pando.control.protocol.FlowSpec;
import io.pando.control.protocol.RefusalCode;
import io.pando.control.protocol.Resources;
import io.pando.control.protocol.SessionSummary;
import java.net.InetSocketAddress;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Answers control requests (docs/control.md): authentication, tokens, admission, placement, reservations and
 * ownership. {@link #handle} may block (a JAAS login, a session being created) and is called on worker threads, never
 * on an event loop. Admission and reservation are one step under {@link #lock}; creating the session is not.
 *
 * <p>Alone (no {@link ClusterControl}), reservations and owners live in {@link #reservations}. In a cluster
 * (docs/control.md, section 11), only the leader answers; sessions, owners and reservations live in the cluster's
 * replicated session directory, {@link #reservations} holds only the OPENs being created, and the units are every
 * node's unit reports.
 */
final class ControlCore {

    private static final Logger LOG = Logger.getLogger(ControlCore.class.getName());
    /**
     * The most CPU share a session can be guaranteed per unit: its program is called on one thread on each unit
     * (the unit's event loop in-process, the sandbox's worker thread in a process), so a larger share could be
     * reserved but never used.
     */
    static final double MAX_CPUS_PER_UNIT = 1.0;

    /**
     * One session the control unit admitted, or is admitting (then {@code id} is null). In a cluster, also who
     * serves it ({@code placedBy}, a member name) and its ingress; both null alone.
     */
    private record Reservation(String user, SessionId id, String name, String program, List<UnitId> units,
        double cpus, long bandwidthBps, Distribution distribution, long order, String placedBy,
        InetSocketAddress ingress) {

        Reservation(String user, SessionId id, String name, String program, List<UnitId> units, double cpus,
            long bandwidthBps, Distribution distribution, long order) {
            this(user, id, name, program, units, cpus, bandwidthBps, distribution, order, null, null);
        }
    }

    /** LIST state of a session another member's router serves. */
    static final String REMOTE = "remote";
    /** LIST state of a session whose member left the cluster (its router, and the session, went with it). */
    static final String LOST = "lost";

    private final Settings settings;
    private final Supplier<RouterService> router;
    private final Authenticator authenticator;
    private final Supplier<AdmissionPolicy> admission;
    private final Supplier<PlacementPolicy> placement;
    private final Supplier<ClusterControl> cluster;
    private final Clock clock;
    private final TokenStore tokens;
    private final SecureRandom random = new SecureRandom();
    private final Object lock = new Object();
    /** Keyed by session id once created (alone only), by a fresh object while being created. */
    private final Map<Object, Reservation> reservations = new LinkedHashMap<>();
    /** In a cluster: sessions this node's router serves that this control unit recorded in the directory. */
    private final Set<SessionId> hosted = ConcurrentHashMap.newKeySet();
    /** The cluster whose leader's requests to open sessions here this node serves, and the registration. */
    private ClusterControl servedBy;
    private AutoCloseable serving;
    private long order;

    ControlCore(Settings settings, Supplier<RouterService> router, Authenticator authenticator,
        Supplier<AdmissionPolicy> admission, Supplier<PlacementPolicy> placement, Supplier<ClusterControl> cluster,
        Clock clock) {
        this.settings = settings;
        this.cluster = cluster;
        this.router = router;
        this.authenticator = authenticator;
        this.admission = admission;
        this.placement = placement;
        this.clock = clock;
        this.tokens = new TokenStore(clock, settings.tokenLifetimeSeconds() * 1000);
    }

    /** @return the reply to a request; never throws */
    ControlMessage.Reply handle(ControlMessage.Request request) {
        try {
            ClusterControl c = cluster.get();
            if (request instanceof ControlMessage.Auth a) {
                leader(c, "authenticate " + a.user());
                return auth(a);
            } else if (request instanceof ControlMessage.Open o) {
                leader(c, "open a session");
                replicated(c, "open a session");
                return open(o, c);
            } else if (request instanceof ControlMessage.Close cl) {
                leader(c, "close session " + Long.toUnsignedString(cl.sessionId()));
                replicated(c, "close session " + Long.toUnsignedString(cl.sessionId()));
                return close(cl, c);
            } else if (request instanceof ControlMessage.ListSessions l) {
                leader(c, "list sessions");
                return list(l, c);
            }
            throw new Refusal(RefusalCode.UNKNOWN_MESSAGE, "unknown request " + request.type());
        } catch (Refusal r) {
            return new ControlMessage.Refused(request.requestId(), r.code, r.getMessage());
        } catch (ClusterControl.NotLeader e) {
            return new ControlMessage.Refused(request.requestId(), RefusalCode.NOT_LEADER, e.getMessage());
        } catch (RuntimeException e) {
            LOG.log(Level.WARNING, "control request " + request.getClass().getSimpleName() + " failed", e);
            return new ControlMessage.Refused(request.requestId(), RefusalCode.INTERNAL,
                "internal error in the control unit: " + e);
        }
    }

    /** A refusal on its way to the reply. */
    private static final class Refusal extends RuntimeException {
        private static final long serialVersionUID = 1L;
        final transient RefusalCode code;

        Refusal(RefusalCode code, String message) {
            super(message, null, false, false);
            this.code = code;
        }
    }

    /** In a cluster, only the leader of a partition with quorum answers (tokens are the leader's own). */
    private static void leader(ClusterControl c, String action) {
        if (c != null) {
            c.requireLeader(action);
        }
    }

    /** In a cluster, the directory is written only once what it holds has its backups (see ClusterControl). */
    private static void replicated(ClusterControl c, String action) {
        if (c != null) {
            c.requireReplicated(action);
        }
    }

    // ---- AUTH

    private ControlMessage.Reply auth(ControlMessage.Auth a) {
        if (!authenticator.check(a.user(), a.password().toCharArray())) {
            return new ControlMessage.Refused(a.requestId(), RefusalCode.AUTH_FAILED, "wrong user or password");
        }
        return new ControlMessage.Authed(a.requestId(), a.user(), tokens.issue(a.user()), tokens.lifetimeSeconds());
    }

    private String userOf(ControlMessage.Authorized r) {
        return tokens.user(r.token()).orElseThrow(() -> new Refusal(RefusalCode.TOKEN_INVALID,
            "unknown or expired token: authenticate again (AUTH)"));
    }

    private RouterService router() {
        RouterService r = router.get();
        if (r == null) {
            throw new Refusal(RefusalCode.UNAVAILABLE, "no router runs on this node (feature pando-distribution)");
        }
        return r;
    }

    // ---- OPEN

    private ControlMessage.Reply open(ControlMessage.Open o, ClusterControl c) {
        String user = userOf(o);
        Resources res = o.resources();
        if (res.cpus() > MAX_CPUS_PER_UNIT) {
            throw new Refusal(RefusalCode.INVALID, String.format(Locale.ROOT, "CPU share %.3f per unit cannot be "
                + "guaranteed: a session's program runs on one thread on each unit, so it can use at most %.3f core per "
                + "unit; ask for %.3f or less per unit and spread the session over more units", res.cpus(),
                MAX_CPUS_PER_UNIT, MAX_CPUS_PER_UNIT));
        }
        RouterService r = c == null ? router() : router.get();
        int k = o.distribution().units();
        String name = o.name().orElseGet(() -> sessionName(user));
        SessionKey key = newKey();
        SessionRequest request = request(o, name, key);
        int memoryMb = memoryMb(res);
        SessionDemand demand = new SessionDemand(user, o.program(), res.cpus(), memoryMb, res.bandwidthBps(), k);
        Object pending = new Object();
        String host = null;
        synchronized (lock) {
            List<Reservation> held = held(r, c);
            List<UnitId> placed;
            if (c == null) {
                placed = place(demand, view(user, held, routerUnits(r, held)), k);
            } else {
                Map.Entry<String, List<UnitId>> choice = host(c, r, demand, user, held);
                host = choice.getKey();
                placed = choice.getValue();
            }
            // counted until recorded (alone: until created; in a cluster: in the directory)
            reservations.put(pending, new Reservation(user, null, name, o.program(), placed, res.cpus(),
                res.bandwidthBps(), o.distribution(), ++order, host, null));
        }
        try {
            if (c != null && !host.equals(c.localMember())) {
                return forward(c, host, o, user, name, key);
            }
            SessionInfo info = create(r, request);
            synchronized (lock) {
                Reservation p = reservations.remove(pending);
                if (c == null) {
                    reservations.put(info.id(), new Reservation(user, info.id(), info.name(), info.program(),
                        info.units(), p.cpus(), p.bandwidthBps(), p.distribution(), p.order()));
                } else {
                    record(c, r, new ClusterControl.Placed(info.id(), user, info.name(), info.program(),
                        info.ingress(), info.units(), p.cpus(), memoryMb, p.bandwidthBps(), c.localMember(),
                        clock.instant()));
                }
            }
            return opened(o.requestId(), info, key, user);
        } finally {
            release(pending);
        }
    }

    /** @return what the router is asked to open; a request it could not take is refused as INVALID */
    private static SessionRequest request(ControlMessage.Open o, String name, SessionKey key) {
        Resources res = o.resources();
        try {
            Execution execution = new Execution(Optional.empty(),
                res.cpuBudgetMicros() == 0 ? Execution.DEFAULT_CPU_BUDGET_MICROS : res.cpuBudgetMicros(),
                memoryMb(res), res.cpus());
            List<Flow> flows = new ArrayList<>();
            for (FlowSpec f : o.flows()) {
                flows.add(new Flow(FlowId.of(f.id()), f.name(), f.destination()));
            }
            return new SessionRequest(name, o.program(), o.destination(), o.distribution().units(), Optional.empty(),
                res.reorderMillis() < 0 ? Optional.empty() : Optional.of((long) res.reorderMillis()), o.parameters(),
                execution, flows, Optional.of(key));
        } catch (IllegalArgumentException e) {
            throw new Refusal(RefusalCode.INVALID, e.getMessage());
        }
    }

    private static int memoryMb(Resources res) {
        return res.memoryMb() == 0 ? Execution.DEFAULT_MEMORY_MB : res.memoryMb();
    }

    /**
     * Admits and places against one view. Called under {@link #lock}.
     *
     * @return the units placed
     * @throws Refusal QUOTA or CAPACITY, with the policy's reason
     */
    private List<UnitId> place(SessionDemand demand, ResourceView view, int k) {
        AdmissionDecision decision = admission.get().admit(demand, view);
        if (!decision.admitted()) {
            throw new Refusal(decision.refusal() == AdmissionDecision.Refusal.QUOTA ? RefusalCode.QUOTA
                : RefusalCode.CAPACITY, decision.reason());
        }
        List<UnitId> placed = placement.get().place(demand, view);
        Set<UnitId> known = new HashSet<>(view.units().stream().map(UnitResources::id).toList());
        if (placed == null || placed.size() < k || new HashSet<>(placed).size() != placed.size()
            || !known.containsAll(placed)) {
            throw new Refusal(RefusalCode.CAPACITY, "capacity: placement found " + (placed == null ? 0
                : placed.size()) + " of the " + k + " unit(s) needed: " + placed);
        }
        return List.copyOf(placed.subList(0, k));
    }

    /**
     * In a cluster, chooses the member whose router serves a new session (docs/control.md, section 12): the first
     * router, in this order, that admission and placement accept with the units it uses: the routers of the other
     * members, those serving the fewest sessions first (then by name), and this node's own router last, so that the
     * leader's loss costs admission, not the sessions' data paths. Called under {@link #lock}.
     *
     * @return the member's name, and the units placed
     * @throws Refusal QUOTA at once; CAPACITY with every router's reason if none can take it; UNAVAILABLE if no
     *     member runs a router
     */
    private Map.Entry<String, List<UnitId>> host(ClusterControl c, RouterService r, SessionDemand demand, String user,
        List<Reservation> held) {
        String me = c.localMember();
        Map<String, Set<UnitId>> routers = new TreeMap<>(c.routers());
        routers.remove(me); // this node's router as it is now, not as published a second ago
        if (r != null) {
            Set<UnitId> mine = new HashSet<>();
            for (UnitInfo u : r.units()) {
                mine.add(u.id());
            }
            routers.put(me, mine);
        }
        if (routers.isEmpty()) {
            throw new Refusal(RefusalCode.UNAVAILABLE, "no member of the cluster runs a router (feature "
                + "pando-distribution with pando-control)");
        }
        Map<String, Integer> serving = new HashMap<>();
        for (Reservation res : held) {
            if (res.placedBy() != null) {
                serving.merge(res.placedBy(), 1, Integer::sum);
            }
        }
        List<String> order = new ArrayList<>(routers.keySet());
        order.sort(Comparator.comparing((String m) -> m.equals(me))
            .thenComparing(m -> serving.getOrDefault(m, 0)).thenComparing(Comparator.naturalOrder()));
        List<String> reasons = new ArrayList<>();
        for (String m : order) {
            try {
                return Map.entry(m, place(demand, view(user, held, clusterUnits(c, held, m, routers.get(m))),
                    demand.units()));
            } catch (Refusal e) {
                if (e.code == RefusalCode.QUOTA) {
                    throw e;
                }
                reasons.add(routers.size() == 1 ? e.getMessage() : m + "'s router: " + e.getMessage());
            }
        }
        throw new Refusal(RefusalCode.CAPACITY, String.join("; ", reasons));
    }

    /**
     * Creates the session on this node's router.
     *
     * @throws Refusal INVALID or UNAVAILABLE with the router's reason
     */
    private SessionInfo create(RouterService r, SessionRequest request) {
        if (r == null) {
            throw new Refusal(RefusalCode.UNAVAILABLE, "no router runs on this node (feature pando-distribution)");
        }
        try {
            return r.createSession(request);
        } catch (IllegalArgumentException e) {
            throw new Refusal(RefusalCode.INVALID, e.getMessage());
        } catch (RouterException e) {
            throw new Refusal(RefusalCode.UNAVAILABLE, e.getMessage());
        }
    }

    /** @return OPENED for a session just created on this node's router */
    private static ControlMessage.Opened opened(long requestId, SessionInfo info, SessionKey key, String user) {
        if (!info.keyed()) { // a router that ignored the key: the sender must connect unkeyed
            LOG.log(Level.WARNING, "session {0} ({1}): the router did not key it; anyone who knows its id can send "
                + "into it", new Object[] {info.id(), info.name()});
        }
        LOG.log(Level.INFO, "session {0} ({1}) opened for {2} on {3}, {4}",
            new Object[] {info.id(), info.name(), user, info.units(), info.keyed() ? "keyed" : "unkeyed"});
        // the key goes to the owner in this reply and nowhere else (not in LIST, not in a log)
        return new ControlMessage.Opened(requestId, info.id().value(), info.name(), info.ingress(),
            info.units().stream().map(UnitId::value).toList(),
            info.keyed() ? Optional.of(key.bytes()) : Optional.empty());
    }

    // ---- OPEN on another member's router

    /** How long the leader waits for a member to open a session on its router. */
    static final Duration FORWARD_TIMEOUT = Duration.ofSeconds(8);

    /**
     * Asks a member to open the session on its router (it records it in the directory, as {@code placedBy}) and
     * answers the user with what it opened.
     */
    private ControlMessage.Reply forward(ClusterControl c, String host, ControlMessage.Open o, String user,
        String name, SessionKey key) {
        byte[] body = OpenHere.encode(new OpenHere(user, name, key, new ControlMessage.Open(o.requestId(),
            new byte[ControlMessage.TOKEN_LENGTH], o.program(), Optional.of(name), o.parameters(), o.destination(),
            o.flows(), o.resources(), o.distribution())));
        byte[] answer;
        try {
            answer = c.openOn(host, body, FORWARD_TIMEOUT).get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new Refusal(RefusalCode.UNAVAILABLE, "interrupted while " + host + " opens the session");
        } catch (java.util.concurrent.ExecutionException e) {
            Throwable why = e.getCause();
            throw new Refusal(RefusalCode.UNAVAILABLE, "the session was placed on " + host + "'s router, which "
                + "did not open it: " + why.getMessage() + (why instanceof java.util.concurrent.TimeoutException
                ? " (if it opened it meanwhile, LIST shows it)" : ""));
        }
        ControlMessage m;
        try {
            m = ControlCodec.fromBytes(answer);
        } catch (RuntimeException e) {
            throw new Refusal(RefusalCode.INTERNAL, host + " answered with an unreadable message: " + e.getMessage());
        }
        if (m instanceof ControlMessage.Opened op) {
            LOG.log(Level.INFO, "session {0} ({1}) of {2} opened on {3}''s router", new Object[] {
                new SessionId(op.sessionId()), op.name(), user, host});
            return new ControlMessage.Opened(o.requestId(), op.sessionId(), op.name(), op.ingress(), op.units(),
                op.sessionKey());
        } else if (m instanceof ControlMessage.Refused ref) {
            return new ControlMessage.Refused(o.requestId(), ref.code(), ref.wireCode(), host + "'s router: "
                + ref.reason());
        }
        throw new Refusal(RefusalCode.INTERNAL, host + " answered with " + m.getClass().getSimpleName());
    }

    /**
     * Answers the leader's request to open a session on this node's router ({@link ClusterControl#OPEN_HERE}):
     * creates it, records it in the directory as placed by this member, and answers OPENED, or REFUSED with the
     * reason. The leader admitted and placed it already; this node checks only that it is in a partition with
     * quorum (the directory is written) and that its router takes it.
     *
     * @param body the request ({@link OpenHere})
     * @return the answer, a control message
     */
    byte[] openHere(byte[] body) {
        ControlMessage.Reply reply;
        long requestId = 0;
        try {
            OpenHere req = OpenHere.decode(body);
            requestId = req.open().requestId();
            ClusterControl c = cluster.get();
            if (c == null) {
                throw new Refusal(RefusalCode.UNAVAILABLE, "this node's control unit is not in the cluster any more");
            }
            RouterService r = router.get();
            SessionInfo info = create(r, request(req.open(), req.name(), req.key()));
            Resources res = req.open().resources();
            synchronized (lock) {
                record(c, r, new ClusterControl.Placed(info.id(), req.user(), info.name(), info.program(),
                    info.ingress(), info.units(), res.cpus(), memoryMb(res), res.bandwidthBps(), c.localMember(),
                    clock.instant()));
            }
            reply = opened(requestId, info, req.key(), req.user());
        } catch (Refusal e) {
            reply = new ControlMessage.Refused(requestId, e.code, e.getMessage());
        } catch (ClusterControl.NotLeader e) {
            reply = new ControlMessage.Refused(requestId, RefusalCode.NOT_LEADER, e.getMessage());
        } catch (IllegalArgumentException e) {
            reply = new ControlMessage.Refused(requestId, RefusalCode.INVALID, "unreadable request: "
                + e.getMessage());
        }
        return ControlCodec.toBytes(reply);
    }

    /**
     * In a cluster: serves the leader's requests to open sessions here, publishes which units this node's router
     * uses (none runs: withdrawn), and closes the sessions whose records went ({@link #reconcileHosted}). Called
     * every second, on one thread.
     */
    void maintain() {
        ClusterControl c = cluster.get();
        serve(c);
        if (c == null) {
            return;
        }
        try {
            publishRouter(c);
        } finally {
            reconcileHosted();
        }
    }

    private synchronized void serve(ClusterControl c) {
        if (c == servedBy) {
            return;
        }
        stopServing();
        if (c != null) {
            serving = c.serveOpen(this::openHere);
            servedBy = c;
        }
    }

    /** Stops answering the leader's requests to open sessions here. */
    synchronized void stopServing() {
        if (serving != null) {
            try {
                serving.close();
            } catch (Exception e) {
                LOG.log(Level.FINE, "ending the requests to open sessions here failed", e);
            }
        }
        serving = null;
        servedBy = null;
    }

    private void publishRouter(ClusterControl c) {
        RouterService r = router.get();
        if (r == null) {
            c.publishRouter(Optional.empty());
            return;
        }
        Set<UnitId> units = new HashSet<>();
        for (UnitInfo u : r.units()) {
            units.add(u.id());
        }
        c.publishRouter(Optional.of(units));
    }

    /**
     * Records a session just created on this node's router in the cluster's directory; if that fails, closes it
     * again (a session nobody leads must not run) and refuses.
     */
    private void record(ClusterControl c, RouterService r, ClusterControl.Placed placed) {
        Optional<ClusterControl.Placed> before;
        try {
            before = c.record(placed);
        } catch (RuntimeException e) {
            closeQuietly(r, placed.id());
            if (e instanceof ClusterControl.NotLeader) {
                throw e;
            }
            throw new Refusal(RefusalCode.UNAVAILABLE, "the session could not be recorded in the cluster's "
                + "directory: " + e.getMessage());
        }
        if (before.isPresent()) { // another router already uses the id: never place a session twice
            closeQuietly(r, placed.id());
            LOG.log(Level.WARNING, "session id {0} of {1}''s router is already in the directory (placed by {2}); "
                + "closed it", new Object[] {placed.id(), placed.placedBy(), before.get().placedBy()});
            throw new Refusal(RefusalCode.UNAVAILABLE, "the router gave a session id that is already in use in the "
                + "cluster; try again");
        }
        hosted.add(placed.id());
    }

    private static void closeQuietly(RouterService r, SessionId id) {
        try {
            r.closeSession(id);
        } catch (RuntimeException e) {
            LOG.log(Level.WARNING, "could not close session " + id + " again", e);
        }
    }

    /** @return a fresh random session key: only its owner learns it (in OPENED) */
    private SessionKey newKey() {
        byte[] k = new byte[SessionKey.LENGTH];
        random.nextBytes(k);
        SessionKey key = SessionKey.of(k);
        java.util.Arrays.fill(k, (byte) 0);
        return key;
    }

    private String sessionName(String user) {
        String clean = user.replaceAll("[^A-Za-z0-9._-]", "_");
        if (clean.length() > 48) {
            clean = clean.substring(0, 48);
        }
        byte[] b = new byte[4];
        random.nextBytes(b);
        return clean + "-" + HexFormat.of().formatHex(b);
    }

    private void release(Object pending) {
        synchronized (lock) {
            reservations.remove(pending);
        }
    }

    /**
     * @return every reservation held now, the OPENs being created included; alone, after dropping those of sessions
     *     the router no longer has; in a cluster, from the directory, after forgetting sessions this node's router
     *     served and no longer has (closed by an administrator, or lost). Called under {@link #lock}.
     */
    private List<Reservation> held(RouterService r, ClusterControl c) {
        if (c == null) {
            reconcile(r);
            return new ArrayList<>(reservations.values());
        }
        List<Reservation> out = new ArrayList<>(reservations.values());
        String me = c.localMember();
        for (ClusterControl.Placed p : c.sessions()) {
            if (p.placedBy().equals(me) && r != null && r.session(p.id()).isEmpty()) {
                c.forget(p.id());
                hosted.remove(p.id());
                LOG.log(Level.INFO, "session {0} of {1}: this node''s router no longer has it; forgotten",
                    new Object[] {p.id(), p.owner()});
                continue;
            }
            out.add(new Reservation(p.owner(), p.id(), p.name(), p.program(), p.units(), p.cpus(), p.bandwidthBps(),
                Distribution.over(Math.max(1, p.units().size())), p.placedAt().toEpochMilli(), p.placedBy(),
                p.ingress()));
        }
        return out;
    }

    /**
     * In a cluster, closes on this node's router the sessions it serves whose record the leader removed (the owner
     * closed them through another member); only with quorum, when the directory is complete. Called periodically.
     */
    void reconcileHosted() {
        ClusterControl c = cluster.get();
        RouterService r = router.get();
        if (c == null || r == null || hosted.isEmpty() || !c.hasQuorum()) {
            return;
        }
        for (SessionId id : List.copyOf(hosted)) {
            if (c.session(id).isEmpty()) {
                hosted.remove(id);
                if (r.session(id).isPresent()) {
                    closeQuietly(r, id);
                    LOG.log(Level.INFO, "session {0} closed on this node''s router: its owner closed it through "
                        + "the leader", id);
                }
            }
        }
    }

    /** Drops reservations of sessions the router no longer has (closed by an administrator, or lost). */
    private void reconcile(RouterService r) {
        Set<SessionId> open = new HashSet<>();
        for (SessionInfo s : r.sessions()) {
            open.add(s.id());
        }
        reservations.entrySet().removeIf(e -> e.getValue().id() != null && !open.contains(e.getValue().id()));
    }

    /**
     * @param held every reservation ({@link #held})
     * @param units the units, each with what is reserved on it and whether it may take a session here
     */
    private ResourceView view(String user, List<Reservation> held, List<UnitResources> units) {
        int sessions = 0;
        double cpus = 0;
        long bandwidth = 0;
        long allBandwidth = 0;
        for (Reservation res : held) {
            allBandwidth += res.bandwidthBps();
            if (res.user().equals(user)) {
                sessions++;
                cpus += res.cpus() * res.units().size();
                bandwidth += res.bandwidthBps();
            }
        }
        return new ResourceView(units, new UserUsage(user, sessions, cpus, bandwidth), settings.quotaOf(user),
            allBandwidth, settings.bandwidthCapacityBps());
    }

    /** @return the units of this node's router (alone) */
    private List<UnitResources> routerUnits(RouterService r, List<Reservation> held) {
        List<UnitResources> units = new ArrayList<>();
        for (UnitInfo u : r.units()) {
            units.add(unit(u.load(), held, Optional.empty()));
        }
        return units;
    }

    /**
     * @return in a cluster, every node's reported units, of which only those {@code member}'s router uses can take
     *     a session there
     */
    private List<UnitResources> clusterUnits(ClusterControl c, List<Reservation> held, String member,
        Set<UnitId> routed) {
        List<UnitResources> units = new ArrayList<>();
        Set<UnitId> seen = new HashSet<>();
        for (ClusterControl.ReportedUnit u : c.units()) {
            if (!seen.add(u.load().unit())) {
                continue; // two members report a unit of that id: the first (by member name) counts
            }
            units.add(unit(u.load(), held, routed.contains(u.load().unit()) ? Optional.empty()
                : Optional.of("(on " + u.member() + ") is not used by " + member + "'s router")));
        }
        return units;
    }

    /** @return a unit with what is reserved on it and whether it may take a session */
    private UnitResources unit(UnitLoad load, List<Reservation> held, Optional<String> unavailable) {
        double reserved = 0;
        int sessions = 0;
        for (Reservation res : held) {
            if (res.units().contains(load.unit())) {
                reserved += res.cpus();
                sessions++;
            }
        }
        long age = clock.millis() - load.at().toEpochMilli();
        if (unavailable.isEmpty() && age > settings.reportMaxAgeSeconds() * 1000) {
            unavailable = Optional.of("has not reported for " + Duration.ofMillis(age).toSeconds() + " s");
        } else if (unavailable.isEmpty() && load.cpu() >= settings.unitOverload()) {
            unavailable = Optional.of(String.format(Locale.ROOT, "is overloaded (CPU %.2f)", load.cpu()));
        }
        return new UnitResources(load.unit(), load, settings.unitCpuCapacity(), reserved, sessions, unavailable);
    }

    // ---- CLOSE

    private ControlMessage.Reply close(ControlMessage.Close c, ClusterControl cc) {
        String user = userOf(c);
        SessionId id = new SessionId(c.sessionId());
        if (cc != null) {
            return closeInCluster(c, cc, user, id);
        }
        synchronized (lock) {
            Reservation res = reservations.get(id);
            if (res == null || !res.user().equals(user)) {
                throw new Refusal(RefusalCode.NOT_YOURS, "not your session");
            }
        }
        RouterService r = router();
        SessionInfo info;
        try {
            info = r.closeSession(id);
        } catch (NoSuchElementException e) {
            release(id);
            throw new Refusal(RefusalCode.NOT_YOURS, "not your session");
        }
        release(id);
        LOG.log(Level.INFO, "session {0} closed by {1}", new Object[] {id, user});
        Map<String, Long> counters = new TreeMap<>(info.counters());
        return new ControlMessage.Closed(c.requestId(), c.sessionId(), counters);
    }

    /**
     * Closes a session of the directory: on this node's router if it serves it (with its final counters); else the
     * record goes, and the member whose router serves it closes it there ({@link #reconcileHosted}); a session
     * whose member left is gone already and only its reservation is released.
     */
    private ControlMessage.Reply closeInCluster(ControlMessage.Close c, ClusterControl cc, String user,
        SessionId id) {
        ClusterControl.Placed p = cc.session(id).filter(s -> s.owner().equals(user))
            .orElseThrow(() -> new Refusal(RefusalCode.NOT_YOURS, "not your session"));
        RouterService r = router.get();
        Map<String, Long> counters = new TreeMap<>();
        String where;
        boolean mine = p.placedBy().equals(cc.localMember()); // ids are per router: only this node's are here
        if (mine && r != null && r.session(id).isPresent()) {
            try {
                counters.putAll(r.closeSession(id).counters());
            } catch (NoSuchElementException e) {
                // closed meanwhile (an administrator): the record goes all the same
            }
            where = "on this node's router";
        } else {
            where = mine ? "(this node's router no longer had it)"
                : cc.members().contains(p.placedBy()) ? "(" + p.placedBy() + " closes it on its router)"
                : "(" + p.placedBy() + " left the cluster: only its reservation was left)";
        }
        synchronized (lock) {
            cc.forget(id);
            hosted.remove(id);
        }
        LOG.log(Level.INFO, "session {0} closed by {1} {2}", new Object[] {id, user, where});
        return new ControlMessage.Closed(c.requestId(), c.sessionId(), counters);
    }

    // ---- LIST

    private ControlMessage.Reply list(ControlMessage.ListSessions l, ClusterControl c) {
        String user = userOf(l);
        RouterService r = c == null ? router() : router.get();
        List<Reservation> mine = new ArrayList<>();
        synchronized (lock) {
            for (Reservation res : held(r, c)) {
                if (res.id() != null && res.user().equals(user)) {
                    mine.add(res);
                }
            }
        }
        mine.sort((a, b) -> a.order() != b.order() ? Long.compare(a.order(), b.order())
            : Long.compareUnsigned(a.id().value(), b.id().value()));
        Set<String> members = c == null ? Set.of() : c.members();
        String me = c == null ? null : c.localMember();
        List<SessionSummary> out = new ArrayList<>();
        for (Reservation res : mine) {
            // ids are per router: a session another member placed is never looked up on this node's router
            Optional<SessionInfo> info = r == null || (me != null && !me.equals(res.placedBy())) ? Optional.empty()
                : r.session(res.id());
            if (info.isEmpty()) {
                if (res.placedBy() != null) { // in the directory, served elsewhere (or by nobody any more)
                    out.add(new SessionSummary(res.id().value(), res.name(), res.program(),
                        members.contains(res.placedBy()) ? REMOTE : LOST, res.ingress(),
                        res.units().stream().map(UnitId::value).toList(), (int) Math.round(res.cpus() * 1000),
                        res.bandwidthBps(), res.distribution()));
                }
                continue;
            }
            SessionInfo s = info.get();
            out.add(new SessionSummary(res.id().value(), s.name(), s.program(),
                s.state().name().toLowerCase(Locale.ROOT), s.ingress(), s.units().stream().map(UnitId::value).toList(),
                (int) Math.round(res.cpus() * 1000), res.bandwidthBps(), res.distribution()));
        }
        return new ControlMessage.ListResult(l.requestId(), out);
    }

    /** @return sessions the control unit holds reservations for (for tests and diagnostics) */
    int reservations() {
        synchronized (lock) {
            return reservations.size();
        }
    }
}
