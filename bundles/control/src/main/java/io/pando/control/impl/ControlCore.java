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
import io.pando.control.AdmissionDecision;
import io.pando.control.AdmissionPolicy;
import io.pando.control.PlacementPolicy;
import io.pando.control.ResourceView;
import io.pando.control.SessionDemand;
import io.pando.control.UnitResources;
import io.pando.control.UserUsage;
import io.pando.control.protocol.ControlMessage;
import io.pando.control.protocol.Distribution;
import io.pando.control.protocol.FlowSpec;
import io.pando.control.protocol.RefusalCode;
import io.pando.control.protocol.Resources;
import io.pando.control.protocol.SessionSummary;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
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
import java.util.function.Supplier;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Answers control requests (docs/control.md): authentication, tokens, admission, placement, reservations and
 * ownership. {@link #handle} may block (a JAAS login, a session being created) and is called on worker threads, never
 * on an event loop. Admission and reservation are one step under {@link #lock}; creating the session is not.
 */
final class ControlCore {

    private static final Logger LOG = Logger.getLogger(ControlCore.class.getName());

    /** One session the control unit admitted, or is admitting (then {@code id} is null). */
    private record Reservation(String user, SessionId id, String name, String program, List<UnitId> units,
        double cpus, long bandwidthBps, Distribution distribution, long order) {
    }

    private final Settings settings;
    private final Supplier<RouterService> router;
    private final Authenticator authenticator;
    private final Supplier<AdmissionPolicy> admission;
    private final Supplier<PlacementPolicy> placement;
    private final Clock clock;
    private final TokenStore tokens;
    private final SecureRandom random = new SecureRandom();
    private final Object lock = new Object();
    /** Keyed by session id once created, by a fresh object while being created. */
    private final Map<Object, Reservation> reservations = new LinkedHashMap<>();
    private long order;

    ControlCore(Settings settings, Supplier<RouterService> router, Authenticator authenticator,
        Supplier<AdmissionPolicy> admission, Supplier<PlacementPolicy> placement, Clock clock) {
        this.settings = settings;
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
            if (request instanceof ControlMessage.Auth a) {
                return auth(a);
            } else if (request instanceof ControlMessage.Open o) {
                return open(o);
            } else if (request instanceof ControlMessage.Close c) {
                return close(c);
            } else if (request instanceof ControlMessage.ListSessions l) {
                return list(l);
            }
            throw new Refusal(RefusalCode.UNKNOWN_MESSAGE, "unknown request " + request.type());
        } catch (Refusal r) {
            return new ControlMessage.Refused(request.requestId(), r.code, r.getMessage());
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

    private ControlMessage.Reply open(ControlMessage.Open o) {
        String user = userOf(o);
        RouterService r = router();
        Resources res = o.resources();
        int k = o.distribution().units();
        String name = o.name().orElseGet(() -> sessionName(user));
        SessionRequest request;
        try {
            Execution execution = new Execution(Optional.empty(),
                res.cpuBudgetMicros() == 0 ? Execution.DEFAULT_CPU_BUDGET_MICROS : res.cpuBudgetMicros(),
                res.memoryMb() == 0 ? Execution.DEFAULT_MEMORY_MB : res.memoryMb(), res.cpus());
            List<Flow> flows = new ArrayList<>();
            for (FlowSpec f : o.flows()) {
                flows.add(new Flow(FlowId.of(f.id()), f.name(), f.destination()));
            }
            request = new SessionRequest(name, o.program(), o.destination(), k, Optional.empty(),
                res.reorderMillis() < 0 ? Optional.empty() : Optional.of((long) res.reorderMillis()), o.parameters(),
                execution, flows, Optional.of(newKey()));
        } catch (IllegalArgumentException e) {
            throw new Refusal(RefusalCode.INVALID, e.getMessage());
        }
        SessionDemand demand = new SessionDemand(user, o.program(), res.cpus(),
            res.memoryMb() == 0 ? Execution.DEFAULT_MEMORY_MB : res.memoryMb(), res.bandwidthBps(), k);
        Object pending = new Object();
        synchronized (lock) {
            reconcile(r);
            ResourceView view = view(r, user);
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
            reservations.put(pending, new Reservation(user, null, name, o.program(), List.copyOf(placed.subList(0, k)),
                res.cpus(), res.bandwidthBps(), o.distribution(), ++order));
        }
        SessionInfo info;
        try {
            info = r.createSession(request);
        } catch (IllegalArgumentException e) {
            release(pending);
            throw new Refusal(RefusalCode.INVALID, e.getMessage());
        } catch (RouterException e) {
            release(pending);
            throw new Refusal(RefusalCode.UNAVAILABLE, e.getMessage());
        } catch (RuntimeException e) {
            release(pending);
            throw e;
        }
        synchronized (lock) {
            Reservation p = reservations.remove(pending);
            // the router makes the final choice of units (router API 1.2 takes a count): reserve where it placed
            reservations.put(info.id(), new Reservation(user, info.id(), info.name(), info.program(), info.units(),
                p.cpus(), p.bandwidthBps(), p.distribution(), p.order()));
            if (!Set.copyOf(info.units()).equals(Set.copyOf(p.units()))) {
                LOG.log(Level.FINE, "session {0}: placed on {1}, the router chose {2}",
                    new Object[] {info.id(), p.units(), info.units()});
            }
        }
        if (!info.keyed()) { // a router that ignored the key: the sender must connect unkeyed
            LOG.log(Level.WARNING, "session {0} ({1}): the router did not key it; anyone who knows its id can send "
                + "into it", new Object[] {info.id(), info.name()});
        }
        LOG.log(Level.INFO, "session {0} ({1}) opened for {2} on {3}, {4}",
            new Object[] {info.id(), info.name(), user, info.units(), info.keyed() ? "keyed" : "unkeyed"});
        // the key goes to the owner in this reply and nowhere else (not in LIST, not in a log)
        return new ControlMessage.Opened(o.requestId(), info.id().value(), info.name(), info.ingress(),
            info.units().stream().map(UnitId::value).toList(),
            info.keyed() ? Optional.of(request.key().orElseThrow().bytes()) : Optional.empty());
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

    /** Drops reservations of sessions the router no longer has (closed by an administrator, or lost). */
    private void reconcile(RouterService r) {
        Set<SessionId> open = new HashSet<>();
        for (SessionInfo s : r.sessions()) {
            open.add(s.id());
        }
        reservations.entrySet().removeIf(e -> e.getValue().id() != null && !open.contains(e.getValue().id()));
    }

    private ResourceView view(RouterService r, String user) {
        List<UnitResources> units = new ArrayList<>();
        long now = clock.millis();
        for (UnitInfo u : r.units()) {
            double reserved = 0;
            int sessions = 0;
            for (Reservation res : reservations.values()) {
                if (res.units().contains(u.id())) {
                    reserved += res.cpus();
                    sessions++;
                }
            }
            long age = now - u.load().at().toEpochMilli();
            Optional<String> unavailable = Optional.empty();
            if (age > settings.reportMaxAgeSeconds() * 1000) {
                unavailable = Optional.of("has not reported for " + Duration.ofMillis(age).toSeconds() + " s");
            } else if (u.load().cpu() >= settings.unitOverload()) {
                unavailable = Optional.of(String.format(Locale.ROOT, "is overloaded (CPU %.2f)", u.load().cpu()));
            }
            units.add(new UnitResources(u.id(), u.load(), settings.unitCpuCapacity(), reserved, sessions,
                unavailable));
        }
        int sessions = 0;
        double cpus = 0;
        long bandwidth = 0;
        long allBandwidth = 0;
        for (Reservation res : reservations.values()) {
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

    // ---- CLOSE

    private ControlMessage.Reply close(ControlMessage.Close c) {
        String user = userOf(c);
        SessionId id = new SessionId(c.sessionId());
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

    // ---- LIST

    private ControlMessage.Reply list(ControlMessage.ListSessions l) {
        String user = userOf(l);
        RouterService r = router();
        List<Reservation> mine = new ArrayList<>();
        synchronized (lock) {
            reconcile(r);
            for (Reservation res : reservations.values()) {
                if (res.id() != null && res.user().equals(user)) {
                    mine.add(res);
                }
            }
        }
        mine.sort((a, b) -> Long.compare(a.order(), b.order()));
        List<SessionSummary> out = new ArrayList<>();
        for (Reservation res : mine) {
            Optional<SessionInfo> info = r.session(res.id());
            if (info.isEmpty()) {
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
