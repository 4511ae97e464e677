package io.pando.cluster.impl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.hazelcast.cluster.InitialMembershipEvent;
import com.hazelcast.cluster.InitialMembershipListener;
import com.hazelcast.cluster.MembershipEvent;
import com.hazelcast.config.Config;
import com.hazelcast.splitbrainprotection.SplitBrainProtectionOn;
import java.time.Instant;
import java.util.List;
import java.util.Set;
import java.util.logging.Level;
import org.junit.jupiter.api.Test;

/** The engine configuration a member starts with: discovery, privacy, timings, split-brain protection. */
class EngineConfigTest {

    private static final InitialMembershipListener NONE = new InitialMembershipListener() {
        @Override public void init(InitialMembershipEvent event) { }
        @Override public void memberAdded(MembershipEvent event) { }
        @Override public void memberRemoved(MembershipEvent event) { }
    };

    private static ClusterSettings settings(List<String> members, int quorum) {
        return new ClusterSettings("pando", "node-a", Set.of("unit", "control"), "10.0.0.1", 5801, members, 2, 9, 3,
            quorum, 2, 20, 60, Level.WARNING, "");
    }

    @Test
    void tcpIpOnlyNoPhoneHomeAndTheConfiguredTimings() {
        Config c = HazelcastCluster.engineConfig(settings(List.of("10.0.0.1:5801", "10.0.0.2:5801",
            "10.0.0.3:5801"), 2), Instant.ofEpochMilli(1234), NONE);
        assertEquals("pando", c.getClusterName());
        assertEquals("false", c.getProperty("hazelcast.phone.home.enabled"));
        assertEquals("jdk", c.getProperty("hazelcast.logging.type"));
        assertEquals("false", c.getProperty("hazelcast.shutdownhook.enabled"));
        assertEquals("2", c.getProperty("hazelcast.heartbeat.interval.seconds"));
        assertEquals("9", c.getProperty("hazelcast.max.no.heartbeat.seconds"));
        assertEquals("10.0.0.1", c.getProperty("hazelcast.local.localAddress"));
        assertEquals("20", c.getProperty("hazelcast.merge.next.run.delay.seconds"));
        assertFalse(c.getNetworkConfig().getJoin().getMulticastConfig().isEnabled());
        assertFalse(c.getNetworkConfig().getJoin().getAutoDetectionConfig().isEnabled());
        assertTrue(c.getNetworkConfig().getJoin().getTcpIpConfig().isEnabled());
        assertEquals(List.of("10.0.0.1:5801", "10.0.0.2:5801", "10.0.0.3:5801"),
            c.getNetworkConfig().getJoin().getTcpIpConfig().getMembers());
        assertEquals(3, c.getNetworkConfig().getJoin().getTcpIpConfig().getConnectionTimeoutSeconds());
        assertEquals(5801, c.getNetworkConfig().getPort());
        assertFalse(c.getNetworkConfig().isPortAutoIncrement());
        assertFalse(c.getJetConfig().isEnabled());
        assertEquals("node-a", c.getMemberAttributeConfig().getAttribute(HazelcastCluster.ATTR_NAME));
        assertEquals("control,unit", c.getMemberAttributeConfig().getAttribute(HazelcastCluster.ATTR_ROLES));
        assertEquals("1234", c.getMemberAttributeConfig().getAttribute(HazelcastCluster.ATTR_STARTED));

        var protection = c.getSplitBrainProtectionConfig(HazelcastCluster.QUORUM);
        assertTrue(protection.isEnabled());
        assertEquals(2, protection.getMinimumClusterSize());
        assertEquals(SplitBrainProtectionOn.WRITE, protection.getProtectOn());
        assertEquals(HazelcastCluster.QUORUM, c.getMapConfig(HazelcastCluster.SESSIONS).getSplitBrainProtectionName());
        assertEquals(2, c.getMapConfig(HazelcastCluster.SESSIONS).getBackupCount());
        assertEquals(HazelcastCluster.QUORUM,
            c.getMapConfig(HazelcastCluster.DESIRED_FEATURES).getSplitBrainProtectionName());
        assertNull(c.getMapConfig(HazelcastCluster.FEATURE_REPORTS).getSplitBrainProtectionName(),
            "a node reports its features also from a minority partition");
    }

    @Test
    void aClusterOfOneListsItselfAndNeedsNoProtection() {
        Config c = HazelcastCluster.engineConfig(settings(List.of(), 1), Instant.EPOCH, NONE);
        assertEquals(List.of("10.0.0.1:5801"), c.getNetworkConfig().getJoin().getTcpIpConfig().getMembers());
        assertTrue(c.getSplitBrainProtectionConfigs().isEmpty());
        assertNull(c.getMapConfig(HazelcastCluster.SESSIONS).getSplitBrainProtectionName());
    }
}
