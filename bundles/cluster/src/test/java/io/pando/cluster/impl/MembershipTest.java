package io.pando.cluster.impl;

import static io.pando.cluster.impl.TestCluster.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pando.cluster.ClusterEvent;
import io.pando.cluster.ClusterMember;
import io.pando.cluster.ClusterMember.MemberRole;
import io.pando.cluster.NoQuorumException;
import io.pando.cluster.NotLeaderException;
import io.pando.cluster.SessionRecord;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Membership, leadership and quorum with three real members on loopback. */
class MembershipTest {

    private final TestCluster cluster = new TestCluster(3);

    @AfterEach
    void stop() {
        cluster.close();
    }

    @Test
    void threeMembersFormOneClusterLedByTheOldest() throws Exception {
        HazelcastCluster a = cluster.start(0);
        HazelcastCluster b = cluster.start(1);
        HazelcastCluster c = cluster.start(2);
        List<HazelcastCluster> all = List.of(a, b, c);
        await("3 members everywhere", 20_000, () -> all.stream().allMatch(m -> m.members().size() == 3));

        for (HazelcastCluster m : all) {
            assertEquals(List.of("node-a", "node-b", "node-c"), m.members().stream().map(ClusterMember::name).toList());
            assertEquals("node-a", m.leader().orElseThrow().name());
            assertEquals(MemberRole.LEADER, m.members().get(0).role());
            assertEquals(MemberRole.MEMBER, m.members().get(2).role());
            assertTrue(m.hasQuorum());
            assertEquals(2, m.quorumSize());
            assertTrue(m.localMember().local());
            assertEquals(1, m.members().stream().filter(ClusterMember::local).count());
        }
        ClusterMember first = b.members().get(0);
        assertEquals(cluster.addresses.get(0), first.address());
        assertEquals(Set.of("unit"), first.nodeRoles());
        assertFalse(first.joinedAt().isAfter(b.members().get(1).joinedAt()));
        assertTrue(a.isLeader());
        assertFalse(b.isLeader());
        a.requireLeader("admit session s1");
        NotLeaderException e = assertThrows(NotLeaderException.class, () -> c.requireLeader("admit session s1"));
        assertTrue(e.getMessage().contains("the leader is node-a"), e.getMessage());
    }

    @Test
    void aPortInUseIsAClearError() throws Exception {
        int port = Integer.parseInt(cluster.addresses.get(0).split(":")[1]);
        try (java.net.ServerSocket taken = new java.net.ServerSocket(port, 1,
            java.net.InetAddress.getByName("127.0.0.1"))) {
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> cluster.start(0));
            assertTrue(e.getMessage().startsWith("cluster member node-a could not start on 127.0.0.1:" + port),
                e.getMessage());
        }
    }

    @Test
    void theNextOldestLeadsWhenTheLeaderLeaves() throws Exception {
        HazelcastCluster a = cluster.start(0);
        HazelcastCluster b = cluster.start(1);
        HazelcastCluster c = cluster.start(2);
        await("3 members", 20_000, () -> b.members().size() == 3 && c.members().size() == 3);
        List<ClusterEvent> seen = new CopyOnWriteArrayList<>();
        c.addListener(seen::add);

        cluster.stop(a);

        await("b leads, seen by b and c", 20_000, () -> b.isLeader()
            && c.leader().map(ClusterMember::name).orElse("").equals("node-b"));
        assertFalse(c.isLeader());
        assertTrue(c.hasQuorum(), "2 of 3 is a majority");
        await("events delivered", 5_000, () -> seen.size() >= 2);
        assertEquals(ClusterEvent.Type.MEMBER_LEFT, seen.get(0).type());
        assertEquals("node-a", seen.get(0).member().name());
        assertEquals(ClusterEvent.Type.LEADER_CHANGED, seen.get(1).type());
        assertEquals("node-b", seen.get(1).member().name());
        assertEquals(2, seen.get(1).members().size());
    }

    @Test
    void aKilledMemberIsDetected() throws Exception {
        HazelcastCluster a = cluster.start(0);
        HazelcastCluster b = cluster.start(1);
        HazelcastCluster c = cluster.start(2);
        await("3 members", 20_000, () -> a.members().size() == 3 && b.members().size() == 3);
        List<ClusterEvent> seen = new CopyOnWriteArrayList<>();
        a.addListener(seen::add);

        long t0 = System.nanoTime();
        cluster.kill(c);

        await("c removed on a and b", 20_000, () -> a.members().size() == 2 && b.members().size() == 2);
        long millis = (System.nanoTime() - t0) / 1_000_000;
        System.out.println("killed member detected after " + millis + " ms");
        assertTrue(a.members().stream().noneMatch(m -> m.name().equals("node-c")));
        await("MEMBER_LEFT delivered", 5_000, () -> seen.stream()
            .anyMatch(e -> e.type() == ClusterEvent.Type.MEMBER_LEFT && e.member().name().equals("node-c")));
        assertTrue(a.isLeader(), "the leader stays");
        assertTrue(a.hasQuorum());
    }

    @Test
    void aMinorityOfOneHasNoQuorumAndRefusesLeaderActions() throws Exception {
        HazelcastCluster a = cluster.start(0);
        HazelcastCluster b = cluster.start(1);
        HazelcastCluster c = cluster.start(2);
        await("3 members", 20_000, () -> c.members().size() == 3);
        List<ClusterEvent> seen = new CopyOnWriteArrayList<>();
        c.addListener(seen::add);

        cluster.stop(a);
        cluster.kill(b);

        await("c alone", 20_000, () -> c.members().size() == 1);
        assertFalse(c.hasQuorum());
        assertEquals("node-c", c.leader().orElseThrow().name(), "the oldest it sees, but not a leader that acts");
        assertFalse(c.isLeader());
        NoQuorumException e = assertThrows(NoQuorumException.class, () -> c.requireLeader("admit session s1"));
        assertTrue(e.getMessage().contains("refused to admit session s1: no quorum, node-c sees 1 of the 2 members"),
            e.getMessage());
        SessionRecord r = new SessionRecord("s1", "alice", "p", List.of("u1"), Map.of(), "node-c", Instant.EPOCH);
        assertThrows(NoQuorumException.class, () -> c.putIfAbsent(r));
        assertThrows(NoQuorumException.class, () -> c.addDesiredFeature("pando-policies"));
        assertTrue(c.get("s1").isEmpty(), "reads still work");
        // the engine's split-brain protection refuses the write too, also when this class's check is bypassed
        assertThrows(com.hazelcast.splitbrainprotection.SplitBrainProtectionException.class,
            () -> c.engineSessions().putIfAbsent("s1", Records.encode(r)));
        await("QUORUM_LOST delivered", 5_000, () -> seen.stream()
            .anyMatch(x -> x.type() == ClusterEvent.Type.QUORUM_LOST && !x.quorum()));

        // a member comes back: quorum again
        HazelcastCluster a2 = cluster.start(0);
        await("2 members", 20_000, () -> c.members().size() == 2 && a2.members().size() == 2);
        assertTrue(c.hasQuorum());
        assertTrue(c.isLeader(), "c is the oldest now");
        assertEquals(List.of("node-c", "node-a"), a2.members().stream().map(ClusterMember::name).toList());
        await("QUORUM_GAINED delivered", 5_000, () -> seen.stream()
            .anyMatch(x -> x.type() == ClusterEvent.Type.QUORUM_GAINED));
        await("put accepted", 10_000, () -> {
            try {
                return c.putIfAbsent(r).isEmpty();
            } catch (NoQuorumException notYet) {
                return false;
            }
        });
        assertEquals(r, a2.get("s1").orElseThrow());
    }
}
