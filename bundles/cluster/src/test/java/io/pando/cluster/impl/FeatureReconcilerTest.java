package io.pando.cluster.impl;

import static io.pando.cluster.impl.TestCluster.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pando.cluster.NodeFeatureReport;
import io.pando.cluster.NodeFeatureReport.FeatureState.Status;
import java.time.Clock;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The reconciler alone, over an in-memory feature manager (not Karaf's FeaturesService). */
class FeatureReconcilerTest {

    private final InMemoryFeatures node = new InMemoryFeatures("pando-policies", "vendor-lb", "broken");
    private final Set<String> desired = ConcurrentHashMap.newKeySet();
    private final List<NodeFeatureReport> published = new CopyOnWriteArrayList<>();
    private FeatureReconciler reconciler;

    @AfterEach
    void close() {
        if (reconciler != null) {
            reconciler.close();
        }
    }

    private FeatureReconciler start(int retrySeconds) {
        reconciler = new FeatureReconciler("node-a", node, () -> Set.copyOf(desired), published::add, retrySeconds,
            Clock.systemUTC());
        return reconciler;
    }

    private Status status(String feature) {
        var s = reconciler.report().features().get(feature);
        return s == null ? null : s.status();
    }

    @Test
    void installsWhatIsMissingAndReportsIt() throws Exception {
        desired.add("pando-policies");
        node.installed.add("vendor-lb"); // installed locally before it was desired
        desired.add("vendor-lb");
        start(60);
        await("installed", 5_000, () -> status("pando-policies") == Status.INSTALLED
            && status("vendor-lb") == Status.INSTALLED);
        assertTrue(node.installed.contains("pando-policies"));
        assertTrue(reconciler.report().healthy());
        assertEquals("node-a", published.get(published.size() - 1).node());
    }

    @Test
    void failuresAreReportedAndRetried() throws Exception {
        node.failing.add("broken");
        desired.add("broken");
        desired.add("nonexistent");
        start(1);
        await("failed", 5_000, () -> status("broken") == Status.FAILED && status("nonexistent") == Status.FAILED);
        var broken = reconciler.report().features().get("broken");
        assertEquals("install failed: Unable to resolve root: missing requirement [broken]", broken.message());
        assertEquals("install failed: No matching features for nonexistent",
            reconciler.report().features().get("nonexistent").message());
        assertFalse(reconciler.report().healthy());

        node.failing.clear(); // the problem is fixed: the periodic run installs it, nobody asks
        await("retried", 5_000, () -> status("broken") == Status.INSTALLED);
    }

    @Test
    void removalUninstallsOnlyWhatTheReconcilerInstalled() throws Exception {
        node.installed.add("vendor-lb");
        desired.add("vendor-lb");
        desired.add("pando-policies");
        start(60);
        await("installed", 5_000, () -> status("pando-policies") == Status.INSTALLED
            && status("vendor-lb") == Status.INSTALLED);

        desired.clear();
        reconciler.requestReconcile();
        await("removed", 5_000, () -> status("pando-policies") == Status.REMOVED);
        assertFalse(node.installed.contains("pando-policies"));
        assertTrue(node.installed.contains("vendor-lb"), "installed by the admin before: kept");
        assertEquals(null, status("vendor-lb"));

        reconciler.requestReconcile();
        await("forgotten", 5_000, () -> reconciler.report().features().isEmpty());
    }

    @Test
    void anUnreadableDesiredSetSkipsTheRun() throws Exception {
        reconciler = new FeatureReconciler("node-a", node, () -> {
            throw new IllegalStateException("cluster member node-a is not running");
        }, published::add, 60, Clock.systemUTC());
        reconciler.requestReconcile();
        reconciler.close();
        assertTrue(reconciler.awaitClosed(5_000));
        assertTrue(published.isEmpty());
        assertTrue(node.installed.isEmpty());
    }
}
