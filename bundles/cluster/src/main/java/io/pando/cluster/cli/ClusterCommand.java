package io.pando.cluster.cli;

import io.pando.cluster.ClusterFeatureAdminService;
import io.pando.cluster.ClusterMember;
import io.pando.cluster.ClusterService;
import io.pando.cluster.NodeFeatureReport;
import io.pando.cluster.NodeFeatureReport.FeatureState;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SortedSet;
import java.util.TreeSet;
import java.util.stream.Collectors;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.apache.karaf.shell.support.table.ShellTable;

/** {@code pando:cluster}: members, roles, leader, quorum, health and each node's desired-feature state. */
@Service
@Command(scope = "pando", name = "cluster", description = "Show the Pando cluster: members (oldest first), roles, "
    + "leader, quorum, health, and how far each node has got with the cluster-wide desired features")
public class ClusterCommand extends ClusterAction {

    @Override
    public Object execute() {
        print(cluster(), features, json, System.out);
        return null;
    }

    /** The cluster as one snapshot, read once so that the parts agree. */
    record Snapshot(ClusterService cluster, List<ClusterMember> members, boolean quorum, SortedSet<String> desired,
        Map<String, NodeFeatureReport> reports) {

        static Snapshot of(ClusterService c, ClusterFeatureAdminService f) {
            return new Snapshot(c, c.members(), c.hasQuorum(), f == null ? new TreeSet<>() : f.desiredFeatures(),
                f == null ? Map.of() : f.reports());
        }

        /** @return what is wrong, for people; empty if nothing */
        List<String> problems() {
            List<String> p = new ArrayList<>();
            if (!quorum) {
                p.add("no quorum: " + members.size() + " of " + cluster.quorumSize() + " members needed are visible; "
                    + "leader-only actions refuse");
            }
            Set<String> names = members.stream().map(ClusterMember::name).collect(Collectors.toSet());
            for (String node : new TreeSet<>(names)) {
                NodeFeatureReport r = reports.get(node);
                for (String f : desired) {
                    FeatureState s = r == null ? null : r.features().get(f);
                    if (s == null) {
                        p.add(node + ": feature " + f + " not reported yet");
                    } else if (s.status() == FeatureState.Status.FAILED) {
                        p.add(node + ": feature " + f + " failed: " + s.message());
                    } else if (s.status() == FeatureState.Status.PENDING) {
                        p.add(node + ": feature " + f + " being installed");
                    }
                }
            }
            return p;
        }

        String health() {
            if (!quorum) {
                return "no-quorum";
            }
            return problems().isEmpty() ? "ok" : "degraded";
        }
    }

    static void print(ClusterService c, ClusterFeatureAdminService f, boolean json, PrintStream out) {
        Snapshot s = Snapshot.of(c, f);
        if (json) {
            printJson(out, toJson(s));
            return;
        }
        String leader = s.members.isEmpty() ? "none" : s.members.get(0).name();
        out.printf("Cluster %s: %d member%s, leader %s, quorum %s (%d needed), health %s%n", c.clusterName(),
            s.members.size(), s.members.size() == 1 ? "" : "s", leader, s.quorum ? "yes" : "NO", c.quorumSize(),
            s.health());
        ShellTable members = new ShellTable().emptyTableText("no members");
        members.column("Name");
        members.column("Address");
        members.column("Role");
        members.column("Node roles");
        members.column("Joined");
        members.column("ID");
        for (ClusterMember m : s.members) {
            String role = m.role().name().toLowerCase(java.util.Locale.ROOT);
            if (m.role() == ClusterMember.MemberRole.LEADER && !s.quorum) {
                role += " (no quorum)";
            }
            members.addRow().addContent(m.name() + (m.local() ? " *" : ""), m.address(), role,
                String.join(",", new TreeSet<>(m.nodeRoles())),
                m.joinedAt().toString(), m.id());
        }
        members.print(out);
        out.println("(* this node)");
        out.println("Desired features: " + (s.desired.isEmpty() ? "none" : String.join(", ", s.desired)));
        if (!s.reports.isEmpty()) {
            ShellTable features = new ShellTable();
            features.column("Node");
            features.column("Feature");
            features.column("State");
            features.column("Since");
            features.column("Message");
            Set<String> present = s.members.stream().map(ClusterMember::name).collect(Collectors.toSet());
            for (NodeFeatureReport r : s.reports.values()) {
                String node = r.node() + (present.contains(r.node()) ? "" : " (not a member)");
                if (r.features().isEmpty()) {
                    features.addRow().addContent(node, "-", "-", r.at().toString(), "");
                }
                for (Map.Entry<String, FeatureState> e : r.features().entrySet()) {
                    FeatureState st = e.getValue();
                    features.addRow().addContent(node, e.getKey(), st.status().name().toLowerCase(java.util.Locale.ROOT),
                        st.at().toString(), st.message());
                }
            }
            features.print(out);
        }
        for (String p : s.problems()) {
            out.println("problem: " + p);
        }
        out.flush();
    }

    /**
     * @return {cluster, local, leader, health, problems[], quorum {has, size, members}, members [{id, name, address,
     *     role, node_roles[], joined_at, local}], desired_features[], nodes {NAME: {member, at, healthy, features
     *     {FEATURE: {state, message, at}}}}}
     */
    static Map<String, Object> toJson(Snapshot s) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("cluster", s.cluster.clusterName());
        m.put("local", s.members.stream().filter(ClusterMember::local).map(ClusterMember::name).findFirst()
            .orElse(null));
        m.put("leader", s.members.isEmpty() ? null : s.members.get(0).name());
        m.put("health", s.health());
        m.put("problems", s.problems());
        Map<String, Object> quorum = new LinkedHashMap<>();
        quorum.put("has", s.quorum);
        quorum.put("size", s.cluster.quorumSize());
        quorum.put("members", s.members.size());
        m.put("quorum", quorum);
        List<Object> members = new ArrayList<>();
        for (ClusterMember cm : s.members) {
            Map<String, Object> j = new LinkedHashMap<>();
            j.put("id", cm.id());
            j.put("name", cm.name());
            j.put("address", cm.address());
            j.put("role", cm.role().name().toLowerCase(java.util.Locale.ROOT));
            j.put("node_roles", new TreeSet<>(cm.nodeRoles()));
            j.put("joined_at", cm.joinedAt().toString());
            j.put("local", cm.local());
            members.add(j);
        }
        m.put("members", members);
        m.put("desired_features", s.desired);
        Set<String> present = s.members.stream().map(ClusterMember::name).collect(Collectors.toSet());
        Map<String, Object> nodes = new LinkedHashMap<>();
        for (NodeFeatureReport r : s.reports.values()) {
            Map<String, Object> n = new LinkedHashMap<>();
            n.put("member", present.contains(r.node()));
            n.put("at", r.at().toString());
            n.put("healthy", r.healthy());
            Map<String, Object> fs = new LinkedHashMap<>();
            r.features().forEach((name, st) -> {
                Map<String, Object> j = new LinkedHashMap<>();
                j.put("state", st.status().name().toLowerCase(java.util.Locale.ROOT));
                j.put("message", st.message());
                j.put("at", st.at().toString());
                fs.put(name, j);
            });
            n.put("features", fs);
            nodes.put(r.node(), n);
        }
        m.put("nodes", nodes);
        return m;
    }
}
