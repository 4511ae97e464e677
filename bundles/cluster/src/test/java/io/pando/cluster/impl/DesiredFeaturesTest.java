package io.pando.cluster.impl;

import static io.pando.cluster.impl.TestCluster.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pando.cluster.NodeFeatureReport;
import io.pando.cluster.NodeFeatureReport.FeatureState.Status;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Cluster-wide desired features on real members; each node's feature manager is in memory (one per node), so this
 * tests the replication and reconciliation, not Karaf's FeaturesService.
 */
class DesiredFeaturesTest {

    private final TestCluster cluster = new TestCluster(3);

    @AfterEach
    void stop() {
        cluster.close();
    }

    private static Status status(HazelcastCluster any, String node, String feature) {
        NodeFeatureReport r = any.reports().get(node);
        if (r == null || !r.features().containsKey(feature)) {
            return null;
        }
        return r.features().get(feature).status();
    }

    @Test
    void everyNodeInstallsTheDesiredFeaturesAndALaterNodeToo() throws Exception {
        HazelcastCluster a = cluster.start(0);
        HazelcastCluster b = cluster.start(1);
        await("2 members", 20_000, () -> a.members().size() == 2 && b.members().size() == 2);
        InMemoryFeatures fa = new InMemoryFeatures("vendor-lb", "pando-policies", "broken");
        InMemoryFeatures fb = new InMemoryFeatures("vendor-lb", "pando-policies", "broken");
        fb.failing.add("broken");
        a.useInstaller(fa);
        b.useInstaller(fb);

        assertTrue(a.addDesiredFeature("vendor-lb"));
        assertFalse(b.addDesiredFeature("vendor-lb"), "already desired");
        assertTrue(b.addDesiredFeature("broken"));
        assertEquals(Set.of("broken", "vendor-lb"), a.desiredFeatures());
        await("a and b run vendor-lb", 10_000, () -> fa.installed.contains("vendor-lb")
            && fb.installed.contains("vendor-lb"));
        await("reports", 10_000, () -> status(a, "node-b", "broken") == Status.FAILED
            && status(b, "node-a", "broken") == Status.INSTALLED && status(a, "node-b", "vendor-lb") == Status.INSTALLED);
        assertTrue(b.reports().get("node-b").features().get("broken").message().contains("Unable to resolve"));

        // a node that joins later gets them
        HazelcastCluster c = cluster.start(2);
        InMemoryFeatures fc = new InMemoryFeatures("vendor-lb", "pando-policies", "broken");
        c.useInstaller(fc);
        await("c runs both", 10_000, () -> fc.installed.containsAll(Set.of("vendor-lb", "broken")));
        await("c reported", 10_000, () -> status(a, "node-c", "vendor-lb") == Status.INSTALLED);
        assertEquals(List.of("node-a", "node-b", "node-c"), List.copyOf(a.reports().keySet()));

        // removal: uninstalled everywhere
        assertTrue(c.removeDesiredFeature("vendor-lb"));
        assertFalse(c.removeDesiredFeature("vendor-lb"));
        await("uninstalled", 10_000, () -> !fa.installed.contains("vendor-lb")
            && !fb.installed.contains("vendor-lb") && !fc.installed.contains("vendor-lb"));
        await("reported removed", 10_000, () -> status(b, "node-a", "vendor-lb") == Status.REMOVED);
    }

    @Test
    void badOrUnknownFeaturesAreRefused() throws Exception {
        TestCluster alone = new TestCluster(1);
        HazelcastCluster a = alone.start(0);
        try {
            refusals(a);
        } finally {
            alone.close();
        }
    }

    private static void refusals(HazelcastCluster a) throws InterruptedException {
        InMemoryFeatures node = new InMemoryFeatures("vendor-lb");
        a.useInstaller(node);
        var e = assertThrows(IllegalArgumentException.class, () -> a.addDesiredFeature("no-such-feature"));
        assertTrue(e.getMessage().contains("no feature no-such-feature in the feature repositories of node-a"),
            e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> a.addDesiredFeature("bad name"));
        assertTrue(e.getMessage().contains("bad feature name 'bad name'"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> a.removeDesiredFeature("x/"));
        assertThrows(IllegalArgumentException.class, () -> a.addDesiredFeature(null));
        assertTrue(a.hasQuorum(), "a cluster of one has quorum");
        assertTrue(a.addDesiredFeature("vendor-lb"));
        await("installed", 10_000, () -> node.installed.contains("vendor-lb"));
    }
}
