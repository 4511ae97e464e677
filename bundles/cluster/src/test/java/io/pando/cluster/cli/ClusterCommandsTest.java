package io.pando.cluster.cli;

import static io.pando.cluster.cli.Console.array;
import static io.pando.cluster.cli.Console.object;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pando.api.unit.UnitId;
import io.pando.api.unit.UnitLoad;
import io.pando.cluster.NoQuorumException;
import io.pando.cluster.NodeFeatureReport;
import io.pando.cluster.NodeFeatureReport.FeatureState;
import io.pando.cluster.NodeFeatureReport.FeatureState.Status;
import io.pando.cluster.UnitDirectory;
import io.pando.cluster.UnitReport;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The cluster commands over an in-memory cluster. */
class ClusterCommandsTest {

    private static final Instant T = Instant.parse("2026-11-26T02:00:00Z");
    private final FakeCluster fake = new FakeCluster().member("node-a", false).member("node-b", true)
        .member("node-c", false);

    private <A extends ClusterAction> A wire(A a, boolean json) {
        a.cluster = fake;
        a.features = fake;
        a.json = json;
        return a;
    }

    private void reports() {
        fake.desired.add("vendor-lb");
        fake.reports.put("node-a", new NodeFeatureReport("node-a", T, Map.of("vendor-lb",
            new FeatureState(Status.INSTALLED, "", T))));
        fake.reports.put("node-b", new NodeFeatureReport("node-b", T, Map.of("vendor-lb",
            new FeatureState(Status.FAILED, "install failed: missing requirement", T))));
        fake.reports.put("node-x", new NodeFeatureReport("node-x", T, Map.of()));
    }

    @Test
    void clusterTableShowsMembersLeaderQuorumAndFeatureStates() throws Exception {
        reports();
        String out = Console.run(wire(new ClusterCommand(), false));
        assertTrue(out.startsWith("Cluster pando: 3 members, leader node-a, quorum yes (2 needed), health degraded"),
            out);
        for (String s : List.of("node-a", "node-b *", "10.0.0.3:5701", "leader", "member", "unit",
            "2026-11-26T01:00:01Z", "Desired features: vendor-lb", "installed", "failed",
            "install failed: missing requirement", "node-x (not a member)",
            "problem: node-b: feature vendor-lb failed: install failed: missing requirement",
            "problem: node-c: feature vendor-lb not reported yet")) {
            assertTrue(out.contains(s), s + " in\n" + out);
        }
    }

    @Test
    void clusterJson() throws Exception {
        reports();
        Map<String, Object> j = object(Console.json(wire(new ClusterCommand(), true)));
        assertEquals("pando", j.get("cluster"));
        assertEquals("node-b", j.get("local"));
        assertEquals("node-a", j.get("leader"));
        assertEquals("degraded", j.get("health"));
        assertEquals(Map.of("has", true, "size", 2L, "members", 3L), j.get("quorum"));
        List<Object> members = array(j.get("members"));
        assertEquals(3, members.size());
        Map<String, Object> a = object(members.get(0));
        assertEquals("leader", a.get("role"));
        assertEquals("id-node-a", a.get("id"));
        assertEquals("10.0.0.1:5701", a.get("address"));
        assertEquals(List.of("unit"), a.get("node_roles"));
        assertEquals("2026-11-26T01:00:00Z", a.get("joined_at"));
        assertEquals(false, a.get("local"));
        assertEquals(List.of("vendor-lb"), j.get("desired_features"));
        Map<String, Object> nodes = object(j.get("nodes"));
        Map<String, Object> b = object(nodes.get("node-b"));
        assertEquals(true, b.get("member"));
        assertEquals(false, b.get("healthy"));
        assertEquals(Map.of("state", "failed", "message", "install failed: missing requirement",
            "at", "2026-11-26T02:00:00Z"), object(b.get("features")).get("vendor-lb"));
        assertEquals(false, object(nodes.get("node-x")).get("member"));
        assertEquals(2, array(j.get("problems")).size());
    }

    @Test
    void healthWithoutQuorumAndWhenAllIsWell() throws Exception {
        fake.members.subList(1, 3).clear();
        Map<String, Object> j = object(Console.json(wire(new ClusterCommand(), true)));
        assertEquals("no-quorum", j.get("health"));
        assertEquals(Map.of("has", false, "size", 2L, "members", 1L), j.get("quorum"));
        String out = Console.run(wire(new ClusterCommand(), false));
        assertTrue(out.contains("quorum NO (2 needed), health no-quorum"), out);
        assertTrue(out.contains("problem: no quorum: 1 of 2 members needed are visible"), out);
        assertTrue(out.contains("leader (no quorum)"), out);

        fake.quorumSize = 1;
        assertEquals("ok", object(Console.json(wire(new ClusterCommand(), true))).get("health"));
    }

    @Test
    void featureInstallListRemove() throws Exception {
        String out = Console.run(wire(install("vendor-lb"), false));
        assertEquals("Feature vendor-lb is now desired on every node; see pando:cluster", out.strip());
        out = Console.run(wire(install("vendor-lb"), false));
        assertEquals("Feature vendor-lb was already desired on every node", out.strip());
        Map<String, Object> j = object(Console.json(wire(install("pando-policies"), true)));
        assertEquals(Map.of("feature", "pando-policies", "added", true,
            "desired_features", List.of("pando-policies", "vendor-lb")), j);

        fake.reports.put("node-a", new NodeFeatureReport("node-a", T, Map.of("vendor-lb",
            new FeatureState(Status.INSTALLED, "", T))));
        fake.reports.put("node-c", new NodeFeatureReport("node-c", T, Map.of("vendor-lb",
            new FeatureState(Status.FAILED, "x", T))));
        List<Object> list = array(Console.json(wire(new ClusterFeatureListCommand(), true)));
        assertEquals(Map.of("feature", "pando-policies", "installed", List.of(), "pending",
            List.of("node-a", "node-b", "node-c"), "failed", List.of()), list.get(0));
        assertEquals(Map.of("feature", "vendor-lb", "installed", List.of("node-a"), "pending", List.of("node-b"),
            "failed", List.of("node-c")), list.get(1));
        out = Console.run(wire(new ClusterFeatureListCommand(), false));
        assertTrue(out.contains("1/3"), out);

        ClusterFeatureRemoveCommand rm = wire(new ClusterFeatureRemoveCommand(), false);
        rm.feature = "vendor-lb";
        assertEquals("Feature vendor-lb is no longer desired; nodes uninstall it", Console.run(rm).strip());
        var e = assertThrows(IllegalArgumentException.class, () -> Console.run(rm));
        assertEquals("feature vendor-lb is not desired cluster-wide (see pando:cluster-feature-list)", e.getMessage());
    }

    @Test
    void refusalsSayWhy() {
        var bad = assertThrows(IllegalArgumentException.class, () -> Console.run(wire(install("bad name"), false)));
        assertTrue(bad.getMessage().contains("bad feature name"));
        fake.members.subList(1, 3).clear();
        var nq = assertThrows(NoQuorumException.class, () -> Console.run(wire(install("vendor-lb"), false)));
        assertEquals("refused to add desired feature vendor-lb: no quorum", nq.getMessage());
        ClusterCommand none = new ClusterCommand();
        var e = assertThrows(IllegalStateException.class, () -> Console.run(none));
        assertEquals(ClusterAction.NOT_RUNNING, e.getMessage());
    }

    @Test
    void clusterUnitsTableAndJson() throws Exception {
        List<UnitReport> reports = List.of(
            UnitReport.of("id-node-a", "node-a", new UnitLoad(UnitId.of("u1"), T, 0.125, 2048, 4096, 2, 5), "drr",
                Set.of("passthrough", "aes-gcm-encrypt")),
            UnitReport.of("id-node-b", "node-b", new UnitLoad(UnitId.of("b1"), T, 0, 0, 4096, 0, 0), "fifo",
                Set.of()));
        UnitDirectory directory = new UnitDirectory() {
            @Override public List<UnitReport> units() { return reports; }
            @Override public Duration reportInterval() { return Duration.ofSeconds(1); }
        };
        ClusterUnitsCommand table = wire(new ClusterUnitsCommand(), false);
        table.unitDirectory = directory;
        String out = Console.run(table);
        assertTrue(out.contains("Member") && out.contains("Programs"), out);
        assertTrue(out.lines().anyMatch(l -> l.contains("node-a") && l.contains("u1") && l.contains("12.5%")
            && l.contains("2048/4096") && l.contains("aes-gcm-encrypt,passthrough")), out);

        ClusterUnitsCommand json = wire(new ClusterUnitsCommand(), true);
        json.unitDirectory = directory;
        List<Object> rows = array(Console.json(json));
        assertEquals(2, rows.size());
        Map<String, Object> a = object(rows.get(0));
        assertEquals("node-a", a.get("member"));
        assertEquals("u1", a.get("unit"));
        assertEquals(0.125, ((Number) a.get("cpu")).doubleValue());
        assertEquals(2, ((Number) a.get("sessions")).intValue());
        assertEquals(List.of("aes-gcm-encrypt", "passthrough"), a.get("programs"));
        assertEquals(T.toString(), a.get("at"));

        ClusterUnitsCommand none = new ClusterUnitsCommand();
        var e = assertThrows(IllegalStateException.class, () -> Console.run(none));
        assertEquals(ClusterAction.NOT_RUNNING, e.getMessage());
    }

    private static ClusterFeatureInstallCommand install(String f) {
        ClusterFeatureInstallCommand c = new ClusterFeatureInstallCommand();
        c.feature = f;
        return c;
    }
}
