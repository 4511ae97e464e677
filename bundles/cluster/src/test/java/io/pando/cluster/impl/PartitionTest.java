package io.pando.cluster.impl;

import static io.pando.cluster.impl.TestCluster.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pando.cluster.ClusterEvent;
import io.pando.cluster.ClusterMember;
import io.pando.cluster.NoQuorumException;
import io.pando.cluster.SessionRecord;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.logging.Level;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A real network partition: three members on 127.0.0.1, .2 and .3, each behind a {@link PartitionProxy}; the
 * proxies cut one member off from the other two, then let it back.
 */
class PartitionTest {

    private final List<PartitionProxy> proxies = new ArrayList<>();
    private final List<HazelcastCluster> members = new ArrayList<>();

    @AfterEach
    void stop() {
        members.parallelStream().forEach(HazelcastCluster::terminate);
        proxies.forEach(PartitionProxy::close);
    }

    @Test
    void aMinorityPartitionLosesQuorumAndMergesBackIntoTheMajority() throws Exception {
        InetAddress[] ip = {InetAddress.getByName("127.0.0.1"), InetAddress.getByName("127.0.0.2"),
            InetAddress.getByName("127.0.0.3")};
        int memberPort = TestCluster.freePort(ip);
        int publicPort = TestCluster.freePort(ip);
        List<String> list = new ArrayList<>();
        for (InetAddress a : ip) {
            list.add(a.getHostAddress() + ":" + publicPort);
            proxies.add(new PartitionProxy(new InetSocketAddress(a, publicPort), new InetSocketAddress(a, memberPort)));
        }
        String name = "partition-" + memberPort;
        for (int i = 0; i < 3; i++) {
            members.add(new HazelcastCluster(new ClusterSettings(name, "node-" + (char) ('a' + i), Set.of(),
                ip[i].getHostAddress(), memberPort, list, 1, 4, 2, 2, 1, 2, 60, Level.WARNING, list.get(i)),
                Clock.systemUTC()));
        }
        HazelcastCluster a = members.get(0);
        HazelcastCluster b = members.get(1);
        HazelcastCluster c = members.get(2);
        await("3 members", 30_000, () -> members.stream().allMatch(m -> m.members().size() == 3));
        assertEquals("127.0.0.2:" + publicPort, a.members().get(1).address(), "members are reached at their proxy");
        List<ClusterEvent> seenByA = new CopyOnWriteArrayList<>();
        a.addListener(seenByA::add);

        // cut a off from b and c
        proxies.get(0).block(Set.of(ip[1], ip[2]));
        proxies.get(1).block(Set.of(ip[0]));
        proxies.get(2).block(Set.of(ip[0]));

        await("a alone, b and c together", 30_000, () -> a.members().size() == 1 && b.members().size() == 2
            && c.members().size() == 2);
        assertFalse(a.hasQuorum());
        assertFalse(a.isLeader(), "the old leader, cut off with a minority, no longer leads");
        assertEquals("node-a", a.leader().orElseThrow().name());
        assertTrue(b.isLeader(), "the oldest member of the majority leads it");
        assertEquals("node-b", c.leader().orElseThrow().name());
        assertTrue(c.hasQuorum());
        await("a saw QUORUM_LOST", 5_000, () -> seenByA.stream()
            .anyMatch(e -> e.type() == ClusterEvent.Type.QUORUM_LOST));

        // the same session placed on both sides: only the majority places it
        SessionRecord onMajority = new SessionRecord("p-1", "alice", "prog", List.of("node-c.u1"), Map.of(),
            "node-c", Instant.EPOCH);
        SessionRecord onMinority = new SessionRecord("p-1", "alice", "prog", List.of("node-a.u1"), Map.of(),
            "node-a", Instant.EPOCH);
        assertThrows(NoQuorumException.class, () -> a.putIfAbsent(onMinority));
        assertThrows(NoQuorumException.class, () -> a.requireLeader("admit session p-1"));
        await("the majority places it", 10_000, () -> {
            try {
                return c.putIfAbsent(onMajority).isEmpty();
            } catch (NoQuorumException notYet) {
                return false;
            }
        });

        // heal: a merges into the larger side and sees its directory
        proxies.forEach(PartitionProxy::heal);
        await("one cluster of 3 again", 60_000, () -> members.stream().allMatch(m -> m.members().size() == 3));
        assertEquals(List.of("node-b", "node-c", "node-a"), a.members().stream().map(ClusterMember::name).toList(),
            "a rejoined as the youngest member");
        assertTrue(a.hasQuorum());
        assertTrue(b.isLeader());
        assertFalse(a.isLeader());
        await("a reads the majority's placement", 10_000, () -> a.get("p-1").map(onMajority::equals).orElse(false));
        await("a saw QUORUM_GAINED", 5_000, () -> seenByA.stream()
            .anyMatch(e -> e.type() == ClusterEvent.Type.QUORUM_GAINED));
    }
}
