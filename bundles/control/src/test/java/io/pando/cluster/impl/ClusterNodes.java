package io.pando.cluster.impl;

import io.pando.api.unit.UnitId;
import io.pando.api.unit.UnitLoad;
import io.pando.link.AggregationPort;
import io.pando.link.SessionEvents;
import io.pando.link.SessionPlan;
import io.pando.link.UnitChannel;
import io.pando.link.UnitPort;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.logging.Level;

/**
 * Real cluster members (embedded Hazelcast) in this JVM for the control unit's tests, on loopback ports 18500-18539
 * (probed free before use), with fast failure detection (heartbeat 1 s, failure after 4 s) and unit reports every
 * 200 ms. In this package because starting, killing and giving units to a member are the cluster bundle's own
 * (package-private) business.
 */
public final class ClusterNodes implements AutoCloseable {

    private static final int FIRST_PORT = 18500;
    private static final int LAST_PORT = 18539;
    private static final AtomicInteger NEXT = new AtomicInteger(FIRST_PORT);

    private final List<String> addresses = new ArrayList<>();
    private final Set<HazelcastCluster> running = ConcurrentHashMap.newKeySet();
    private final String name;

    /** @param size the members of the member list (quorum: a majority of them) */
    public ClusterNodes(int size) {
        for (int i = 0; i < size; i++) {
            addresses.add("127.0.0.1:" + freePort());
        }
        name = "control-" + addresses.get(0).substring(addresses.get(0).indexOf(':') + 1);
    }

    /** @return the i-th member ("node-a", "node-b", ...), started; returns once it has joined */
    public HazelcastCluster start(int i) {
        int port = Integer.parseInt(addresses.get(i).substring(addresses.get(i).indexOf(':') + 1));
        ClusterSettings s = new ClusterSettings(name, "node-" + (char) ('a' + i), Set.of("control", "unit"),
            "127.0.0.1", port, addresses, 1, 4, 2, ClusterSettings.majority(addresses.size()), 1, 30, 60,
            Level.WARNING, "").withUnitReportMillis(200);
        HazelcastCluster c = new HazelcastCluster(s, Clock.systemUTC());
        running.add(c);
        return c;
    }

    /** Gives the member a unit of its own, reported to the cluster with this load. */
    public static Unit unit(HazelcastCluster member, String id, double cpu) {
        Unit u = new Unit(id, cpu);
        member.addUnit(u);
        return u;
    }

    /**
     * @return whether the cluster has finished replicating: every directory record has its backup, so that killing
     *     one member loses none (right after members join, the engine is still moving partitions and backups)
     */
    public static boolean replicated(HazelcastCluster member) {
        return member.replicated();
    }

    /** Stops the member as a crash would. */
    public void kill(HazelcastCluster c) {
        if (running.remove(c)) {
            c.terminate();
        }
    }

    /** Kills every member still running. */
    @Override
    public void close() {
        List.copyOf(running).forEach(this::kill);
    }

    private static int freePort() {
        while (true) {
            int p = NEXT.getAndIncrement();
            if (p > LAST_PORT) {
                throw new IllegalStateException("no free port left in " + FIRST_PORT + "-" + LAST_PORT);
            }
            try (ServerSocket s = new ServerSocket(p, 1, InetAddress.getLoopbackAddress())) {
                return p;
            } catch (IOException busy) {
                // taken: the next
            }
        }
    }

    /** A unit as the cluster reports it: an id and a CPU load the test sets; it serves no sessions. */
    public static final class Unit implements UnitPort {
        private final UnitId id;
        /** The measured CPU (0..1) the next report carries. */
        public volatile double cpu;

        Unit(String id, double cpu) {
            this.id = UnitId.of(id);
            this.cpu = cpu;
        }

        @Override public UnitId id() { return id; }
        @Override public String location() { return HazelcastCluster.LOCAL; }
        @Override public String scheduler() { return "drr"; }
        @Override public Set<String> programs() { return Set.of("passthrough"); }
        @Override public Map<String, Long> counters() { return Map.of(); }
        @Override public void selectScheduler(String scheduler) { }

        @Override
        public UnitLoad load() {
            return new UnitLoad(id, Instant.now(), cpu, 0, 4096, 0, 0);
        }

        @Override
        public UnitChannel open(SessionPlan plan, AggregationPort aggregation, SessionEvents events) {
            throw new UnsupportedOperationException("the control unit's tests open no session on a unit");
        }
    }
}
