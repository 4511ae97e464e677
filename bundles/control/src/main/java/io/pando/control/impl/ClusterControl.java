package io.pando.control.impl;

import io.pando.api.session.SessionId;
import io.pando.api.unit.UnitId;
import io.pando.api.unit.UnitLoad;
import io.pando.cluster.ClusterMember;
import io.pando.cluster.ClusterService;
import io.pando.cluster.MemberRequests;
import io.pando.cluster.NoQuorumException;
import io.pando.cluster.NotLeaderException;
import io.pando.cluster.SessionDirectory;
import io.pando.cluster.SessionRecord;
import io.pando.cluster.UnitDirectory;
import io.pando.cluster.UnitReport;
import java.io.IOException;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;

/**
 * The control unit's view of the cluster (docs/control.md, section 11): the leader check, the replicated session
 * directory and every node's unit reports. A component of its own, registered only when {@code pando-cluster} runs,
 * so that the control unit resolves and works alone without it ({@code io.pando.cluster} is imported optionally):
 * the control unit sees only this class, whose methods speak the router API's and its own types.
 *
 * <p>Directory records ({@link SessionRecord}) carry the owner, the program, the units, the member whose router
 * serves the session ({@code placedBy}) and the reservations {@link #CPU} (thousandths of a core per unit),
 * {@link #MEMORY} and {@link #BANDWIDTH}; the session's name lives only on the router that serves it.
 */
@Component(service = ClusterControl.class)
public final class ClusterControl {

    /** Reservation key: CPU share per unit, thousandths of a core. */
    static final String CPU = "cpu.millis";
    /** Reservation key: the program's memory per unit, bytes. */
    static final String MEMORY = "memory.bytes";
    /** Reservation key: the session's bandwidth, bits per second (absent if none was reserved). */
    static final String BANDWIDTH = "bandwidth.bps";

    /** Attribute: the session's name. */
    static final String NAME = "name";
    /** Attribute: the ingress senders connect to, {@code HOST:PORT} ({@code [V6]:PORT}). */
    static final String INGRESS = "ingress";
    /** How long an OPEN or CLOSE waits for the directory's backups after a membership change. */
    static final long REPLICATION_WAIT_MS = 5_000;
    /** Published by each member whose control unit sees a router: the units that router uses, comma-separated. */
    static final String ROUTER_UNITS = "pando.control.router-units";
    /** How long a member's published router units live unless published again (every second). */
    static final Duration ROUTER_UNITS_TTL = Duration.ofSeconds(5);
    /** The request the leader sends a member to open a session on the member's router. */
    static final String OPEN_HERE = "pando.control.open";

    /** A session as the directory holds it, in the control unit's terms. */
    record Placed(SessionId id, String owner, String name, String program, InetSocketAddress ingress,
        List<UnitId> units, double cpus, long memoryMb, long bandwidthBps, String placedBy, Instant placedAt) {
    }

    /** A unit as its node last reported it. */
    record ReportedUnit(String member, UnitLoad load) {
    }

    /** A leader-only action was refused: why, for the user. */
    static final class NotLeader extends RuntimeException {
        private static final long serialVersionUID = 1L;

        NotLeader(String message) {
            super(message, null, false, false);
        }
    }

    private final ClusterService cluster;
    private final SessionDirectory directory;
    private final UnitDirectory units;
    private final MemberRequests requests;

    /**
     * @param cluster membership and leader
     * @param directory the replicated session directory
     * @param units every node's unit reports
     * @param requests requests to other members and what they publish
     */
    @Activate
    public ClusterControl(@Reference ClusterService cluster, @Reference SessionDirectory directory,
        @Reference UnitDirectory units, @Reference MemberRequests requests) {
        this.cluster = cluster;
        this.directory = directory;
        this.units = units;
        this.requests = requests;
    }

    /**
     * Tells the other members which units this node's router uses (none: this node runs no router).
     *
     * @param routerUnits the units, or empty if no router runs here
     */
    void publishRouter(Optional<Set<UnitId>> routerUnits) {
        if (routerUnits.isEmpty()) {
            requests.withdraw(ROUTER_UNITS);
        } else {
            requests.publish(ROUTER_UNITS, routerUnits.get().stream().map(UnitId::value).sorted()
                .collect(Collectors.joining(",")), ROUTER_UNITS_TTL);
        }
    }

    /** @return the units each member's router uses, by member name, as their control units last published them */
    Map<String, Set<UnitId>> routers() {
        Map<String, Set<UnitId>> out = new TreeMap<>();
        for (Map.Entry<String, String> e : requests.published(ROUTER_UNITS).entrySet()) {
            Set<UnitId> u = new java.util.HashSet<>();
            for (String id : e.getValue().split(",")) {
                if (!id.isEmpty()) {
                    try {
                        u.add(UnitId.of(id));
                    } catch (IllegalArgumentException x) {
                        // not a unit id: ignored (a member of another version)
                    }
                }
            }
            out.put(e.getKey(), u);
        }
        return out;
    }

    /**
     * @param member the member whose router is to open the session
     * @param body the request ({@code ControlCore}'s encoding)
     * @param timeout how long to wait
     * @return the member's answer
     */
    CompletableFuture<byte[]> openOn(String member, byte[] body, Duration timeout) {
        return requests.request(member, OPEN_HERE, body, timeout);
    }

    /**
     * @param handler answers the leader's requests to open a session on this node's router
     * @return ends serving them
     */
    AutoCloseable serveOpen(Function<byte[], byte[]> handler) {
        return requests.serve(OPEN_HERE, handler);
    }

    /** @return the current leader's name, if any */
    Optional<String> leader() {
        return cluster.leader().map(ClusterMember::name);
    }

    /**
     * @param action what is about to happen, for the reason
     * @throws NotLeader with the reason (which member leads, or that this partition has no quorum)
     */
    void requireLeader(String action) {
        try {
            cluster.requireLeader(action);
        } catch (NotLeaderException | NoQuorumException e) {
            throw new NotLeader(e.getMessage());
        }
    }

    /**
     * Waits, up to {@link #REPLICATION_WAIT_MS}, until every record of the directory has its backups: after a
     * membership change the engine copies data between members for a while, and a record written then, on a leader
     * that dies before the copy, would be lost with it (a session open with nobody to know its owner).
     *
     * @param action what is about to happen, for the reason
     * @throws NotLeader saying that the cluster is still copying its data (the request may be sent again)
     */
    void requireReplicated(String action) {
        long deadline = System.nanoTime() + REPLICATION_WAIT_MS * 1_000_000;
        while (!cluster.replicated()) {
            if (System.nanoTime() - deadline > 0) {
                throw new NotLeader("cannot " + action + " now: the cluster is still copying its data after a "
                    + "membership change (for more than " + REPLICATION_WAIT_MS + " ms); try again shortly");
            }
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new NotLeader("cannot " + action + ": interrupted while the cluster copies its data");
            }
        }
    }

    /** @return whether this node's partition has quorum (directory reads are then complete) */
    boolean hasQuorum() {
        return cluster.hasQuorum();
    }

    /** @return this node's member name */
    String localMember() {
        return cluster.localMember().name();
    }

    /** @return the names of the members this node sees */
    Set<String> members() {
        return cluster.members().stream().map(ClusterMember::name).collect(Collectors.toSet());
    }

    /** @return every unit the current members report, in member then unit order */
    List<ReportedUnit> units() {
        List<ReportedUnit> out = new ArrayList<>();
        for (UnitReport r : units.units()) {
            out.add(new ReportedUnit(r.member(), r.load()));
        }
        return out;
    }

    /** @return every session of the directory */
    List<Placed> sessions() {
        List<Placed> out = new ArrayList<>();
        for (SessionRecord r : directory.list()) {
            placed(r).ifPresent(out::add);
        }
        return out;
    }

    /** @return the session's record, if the directory has one */
    Optional<Placed> session(SessionId id) {
        return directory.get(id.toString()).flatMap(ClusterControl::placed);
    }

    /**
     * Records a new session.
     *
     * @return empty if recorded; else the record already stored under its id (a session id used twice)
     * @throws NotLeader if this partition lost quorum meanwhile
     */
    Optional<Placed> record(Placed p) {
        Map<String, Long> reservations = new HashMap<>();
        reservations.put(CPU, Math.round(p.cpus() * 1000));
        reservations.put(MEMORY, p.memoryMb() << 20);
        if (p.bandwidthBps() > 0) {
            reservations.put(BANDWIDTH, p.bandwidthBps());
        }
        String host = p.ingress().getAddress() instanceof Inet6Address ? "[" + p.ingress().getHostString() + "]"
            : p.ingress().getHostString();
        SessionRecord r = new SessionRecord(p.id().toString(), p.owner(), p.program(),
            p.units().stream().map(UnitId::value).toList(), reservations, p.placedBy(), p.placedAt(),
            Map.of(NAME, p.name(), INGRESS, host + ":" + p.ingress().getPort()));
        try {
            return directory.putIfAbsent(r).map(before -> placed(before).orElse(p));
        } catch (NoQuorumException e) {
            throw new NotLeader(e.getMessage());
        }
    }

    /**
     * Forgets a session.
     *
     * @return whether a record was removed
     * @throws NotLeader if this partition lost quorum meanwhile
     */
    boolean forget(SessionId id) {
        try {
            return directory.remove(id.toString()).isPresent();
        } catch (NoQuorumException e) {
            throw new NotLeader(e.getMessage());
        }
    }

    /** @return the record in the control unit's terms, or empty (logged by the caller) if it is not one of its */
    private static Optional<Placed> placed(SessionRecord r) {
        SessionId id;
        try {
            id = SessionId.parse(r.sessionId());
        } catch (IllegalArgumentException e) {
            return Optional.empty(); // not a session the control unit opened
        }
        Long cpu = r.reservations().get(CPU);
        String name = r.attributes().get(NAME);
        String ingress = r.attributes().get(INGRESS);
        if (cpu == null || name == null || ingress == null) {
            return Optional.empty();
        }
        InetSocketAddress at;
        try {
            int colon = ingress.lastIndexOf(':');
            String host = ingress.substring(0, colon);
            if (host.startsWith("[") && host.endsWith("]")) {
                host = host.substring(1, host.length() - 1);
            }
            at = new InetSocketAddress(InetAddress.getByName(host), Integer.parseInt(ingress.substring(colon + 1)));
        } catch (IOException | RuntimeException e) { // a literal address is never looked up
            return Optional.empty();
        }
        List<UnitId> u = new ArrayList<>();
        for (String unit : r.units()) {
            u.add(UnitId.of(unit));
        }
        return Optional.of(new Placed(id, r.owner(), name, r.program(), at, List.copyOf(u), cpu / 1000.0,
            r.reservations().getOrDefault(MEMORY, 0L) >> 20, r.reservations().getOrDefault(BANDWIDTH, 0L),
            r.placedBy(), r.placedAt()));
    }
}
