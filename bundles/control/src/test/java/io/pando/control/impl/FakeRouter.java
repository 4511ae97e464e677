package io.pando.control.impl;

import io.pando.api.router.PolicyRole;
import io.pando.api.router.RouterService;
import io.pando.api.router.SessionInfo;
import io.pando.api.router.SessionRequest;
import io.pando.api.router.UnitInfo;
import io.pando.api.session.SessionId;
import io.pando.api.session.SessionState;
import io.pando.api.unit.UnitId;
import io.pando.api.unit.UnitLoad;
import java.net.InetSocketAddress;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A RouterService that keeps sessions in a map: the control unit's tests need the router's answers (units with live
 * load, sessions created and closed, refusals), not its data path.
 */
final class FakeRouter implements RouterService {

    static final InetSocketAddress INGRESS = new InetSocketAddress("127.0.0.1", 7400);

    final Map<UnitId, Double> units = new LinkedHashMap<>();
    final Map<SessionId, SessionInfo> sessions = new LinkedHashMap<>();
    final Map<SessionId, SessionRequest> requests = new LinkedHashMap<>();
    final List<String> programs = new ArrayList<>(List.of("passthrough"));
    volatile Instant reportedAt;
    /** Whether the router honours a request's key (false: like a router that predates keyed sessions). */
    volatile boolean keysSessions = true;
    private final AtomicLong ids = new AtomicLong(1000);

    /**
     * @param firstId the first session id is one more (routers of one cluster test draw distinct ids)
     * @param unitIds the units
     */
    FakeRouter(long firstId, String... unitIds) {
        this(unitIds);
        ids.set(firstId);
    }

    FakeRouter(String... unitIds) {
        for (String u : unitIds) {
            units.put(UnitId.of(u), 0.1);
        }
    }

    @Override
    public synchronized SessionInfo createSession(SessionRequest request) {
        if (!programs.contains(request.program())) {
            throw new IllegalArgumentException("no active program '" + request.program() + "' is registered; "
                + "registered: " + programs);
        }
        if (request.units() > units.size()) {
            throw new IllegalArgumentException("asked for " + request.units() + " units; " + units.size() + " run");
        }
        // like the distribution unit: fewest sessions first, then by id
        List<UnitId> chosen = units.keySet().stream()
            .sorted(Comparator.comparingLong((UnitId u) -> sessions.values().stream()
                .filter(s -> s.units().contains(u)).count()).thenComparing(UnitId::value))
            .limit(request.units()).sorted(Comparator.comparing(UnitId::value)).toList();
        SessionId id = new SessionId(ids.incrementAndGet());
        SessionInfo info = new SessionInfo(id, request.name(), request.program(), SessionState.ACTIVE, INGRESS,
            request.destination(), chosen, "round-robin", Instant.now(), Map.of("datagrams_in", 5L, "bytes_in", 500L),
            Map.of(), Map.of(), request.flows(), request.keyed() && keysSessions);
        sessions.put(id, info);
        requests.put(id, request);
        return info;
    }

    @Override
    public synchronized List<SessionInfo> sessions() {
        return List.copyOf(sessions.values());
    }

    @Override
    public synchronized Optional<SessionInfo> session(SessionId id) {
        return Optional.ofNullable(sessions.get(id));
    }

    @Override
    public synchronized SessionInfo closeSession(SessionId id) {
        SessionInfo s = sessions.remove(id);
        if (s == null) {
            throw new NoSuchElementException("no session " + id);
        }
        return s;
    }

    @Override
    public synchronized List<UnitInfo> units() {
        Instant at = reportedAt == null ? Instant.now() : reportedAt;
        List<UnitInfo> out = new ArrayList<>();
        for (Map.Entry<UnitId, Double> u : units.entrySet()) {
            int n = (int) sessions.values().stream().filter(s -> s.units().contains(u.getKey())).count();
            out.add(new UnitInfo(u.getKey(), "local", new UnitLoad(u.getKey(), at, u.getValue(), 0, 1 << 20, n, 0),
                "fifo", Map.of()));
        }
        return out;
    }

    @Override
    public void selectPolicy(PolicyRole role, String name) {
        throw new UnsupportedOperationException();
    }

    @Override
    public Map<PolicyRole, String> selectedPolicies() {
        return Map.of();
    }

    @Override
    public Map<String, Long> stats() {
        return Map.of();
    }
}
