package io.pando.shell.cli;

import io.pando.api.router.DrainInfo;
import io.pando.api.router.MigrationInfo;
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
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Optional;
import java.util.Set;

/**
 * An in-memory router for the commands' tests: it keeps sessions in a map and answers like the real one (bad input
 * is an IllegalArgumentException, an unknown session a NoSuchElementException), and refuses with {@link #refusal}
 * when a test sets it.
 */
final class FakeRouter implements RouterService {

    static final Instant CREATED = Instant.parse("2026-03-01T12:00:00Z");

    final Map<PolicyRole, Set<String>> policies = new EnumMap<>(Map.of(
        PolicyRole.LOAD_BALANCING, Set.of("round-robin", "weighted"),
        PolicyRole.SCHEDULER, Set.of("fifo", "drr"),
        PolicyRole.AGGREGATION, Set.of("reorder-window", "passthrough")));
    final Map<PolicyRole, String> selected = new EnumMap<>(Map.of(
        PolicyRole.LOAD_BALANCING, "round-robin",
        PolicyRole.SCHEDULER, "fifo",
        PolicyRole.AGGREGATION, "reorder-window"));
    final Set<String> programs = Set.of("aes-gcm", "echo");
    final List<UnitInfo> units = new ArrayList<>();
    final Map<SessionId, SessionInfo> sessions = new LinkedHashMap<>();
    final Map<String, Long> stats = new HashMap<>();
    /** Thrown by every changing call when set. */
    RuntimeException refusal;
    /** The last request {@link #createSession} was given. */
    SessionRequest lastRequest;
    long nextId = 1;

    FakeRouter unit(String id, String location, double cpu, long used, long capacity, int sessions, long queued) {
        UnitId u = UnitId.of(id);
        units.add(new UnitInfo(u, location, new UnitLoad(u, CREATED, cpu, used, capacity, sessions, queued), "fifo",
            Map.of("datagrams_processed", 1000L * (units.size() + 1), "program_errors", 0L)));
        return this;
    }

    /** Adds an open session on the given units, with counters. */
    SessionInfo session(long id, String name, String... unitIds) {
        List<UnitId> us = List.of(unitIds).stream().map(UnitId::of).toList();
        Map<UnitId, Map<String, Long>> perUnit = new HashMap<>();
        long i = 0;
        for (UnitId u : us) {
            perUnit.put(u, Map.of("datagrams_in", 50 + i, "datagrams_out", 49 + i, "buffer_bytes", 4096L));
            i++;
        }
        SessionInfo s = new SessionInfo(new SessionId(id), name, "aes-gcm", SessionState.ACTIVE,
            new InetSocketAddress("127.0.0.1", 7000), new InetSocketAddress("::1", 9000), us, "round-robin",
            CREATED, Map.of("datagrams_in", 101L, "datagrams_out", 99L, "bytes_in", 150_000L), perUnit,
            Map.of("held", 2L, "late", 1L));
        sessions.put(s.id(), s);
        return s;
    }

    @Override
    public SessionInfo createSession(SessionRequest request) {
        lastRequest = request;
        if (refusal != null) {
            throw refusal;
        }
        if (!programs.contains(request.program())) {
            throw new IllegalArgumentException("unknown program '" + request.program() + "'");
        }
        if (request.units() > units.size()) {
            throw new IllegalArgumentException("asked for " + request.units() + " units, " + units.size() + " run");
        }
        String lb = request.loadBalancing().orElse(selected.get(PolicyRole.LOAD_BALANCING));
        if (!policies.get(PolicyRole.LOAD_BALANCING).contains(lb)) {
            throw new IllegalArgumentException("no load-balancing policy named '" + lb + "'");
        }
        int n = request.units() == 0 ? units.size() : request.units();
        List<UnitId> us = units.subList(0, n).stream().map(UnitInfo::id).toList();
        Map<UnitId, Map<String, Long>> perUnit = new HashMap<>();
        us.forEach(u -> perUnit.put(u, Map.of("datagrams_in", 0L)));
        SessionInfo s = new SessionInfo(new SessionId(nextId++), request.name(), request.program(),
            SessionState.ACTIVE, new InetSocketAddress("127.0.0.1", 7000), request.destination(), us, lb, CREATED,
            Map.of("datagrams_in", 0L, "datagrams_out", 0L), perUnit, Map.of(), request.flows(), request.keyed());
        sessions.put(s.id(), s);
        return s;
    }

    @Override
    public List<SessionInfo> sessions() {
        return List.copyOf(sessions.values());
    }

    @Override
    public Optional<SessionInfo> session(SessionId id) {
        return Optional.ofNullable(sessions.get(id));
    }

    @Override
    public SessionInfo closeSession(SessionId id) {
        if (refusal != null) {
            throw refusal;
        }
        SessionInfo s = sessions.remove(id);
        if (s == null) {
            throw new NoSuchElementException("session " + id + " is not open");
        }
        return new SessionInfo(s.id(), s.name(), s.program(), SessionState.CLOSED, s.ingress(), s.destination(),
            s.units(), s.loadBalancing(), s.created(), s.counters(), s.unitCounters(), s.reorder(), s.flows(),
            s.keyed());
    }

    /** Units drained by {@link #drainUnit}. */
    final Set<UnitId> drained = new java.util.TreeSet<>(java.util.Comparator.comparing(UnitId::value));

    /** Moves the unit in the session's list; 1.5 ms hand-over, 3 held datagrams, 8 state bytes, no timer. */
    @Override
    public MigrationInfo migrateSession(SessionId id, UnitId from, UnitId to) {
        if (refusal != null) {
            throw refusal;
        }
        SessionInfo s = sessions.get(id);
        if (s == null) {
            throw new NoSuchElementException("session " + id + " is not open");
        }
        if (!s.units().contains(from)) {
            throw new IllegalArgumentException("unit " + from + " does not serve session " + id);
        }
        if (s.units().contains(to)) {
            throw new IllegalArgumentException("unit " + to + " already serves session " + id);
        }
        List<UnitId> us = new ArrayList<>(s.units());
        us.set(us.indexOf(from), to);
        sessions.put(id, new SessionInfo(s.id(), s.name(), s.program(), s.state(), s.ingress(), s.destination(),
            us, s.loadBalancing(), s.created(), s.counters(), s.unitCounters(), s.reorder(), s.flows()));
        return new MigrationInfo(id, from, to, Duration.ofNanos(1_500_000), 3, 8, 0);
    }

    /** Moves every session of the unit to the first other unit not serving it. */
    @Override
    public DrainInfo drainUnit(UnitId unit) {
        if (units.stream().noneMatch(u -> u.id().equals(unit))) {
            throw new NoSuchElementException("no unit " + unit);
        }
        drained.add(unit);
        List<MigrationInfo> moved = new ArrayList<>();
        Map<SessionId, String> stayed = new LinkedHashMap<>();
        for (SessionInfo s : List.copyOf(sessions.values())) {
            if (!s.units().contains(unit)) {
                continue;
            }
            Optional<UnitId> to = units.stream().map(UnitInfo::id)
                .filter(u -> !drained.contains(u) && !s.units().contains(u)).findFirst();
            if (to.isPresent()) {
                moved.add(migrateSession(s.id(), unit, to.get()));
            } else {
                stayed.put(s.id(), "no other unit can take it");
            }
        }
        return new DrainInfo(unit, moved, stayed);
    }

    @Override
    public boolean undrainUnit(UnitId unit) {
        return drained.remove(unit);
    }

    @Override
    public List<UnitInfo> units() {
        return List.copyOf(units);
    }

    @Override
    public void selectPolicy(PolicyRole role, String name) {
        if (refusal != null) {
            throw refusal;
        }
        if (!policies.get(role).contains(name)) {
            throw new IllegalArgumentException("no " + role + " policy named '" + name + "'");
        }
        selected.put(role, name);
    }

    @Override
    public Map<PolicyRole, String> selectedPolicies() {
        return Map.copyOf(selected);
    }

    @Override
    public Map<String, Long> stats() {
        return Map.copyOf(stats);
    }
}
