package io.pando.cluster.cli;

import io.pando.cluster.ClusterMember;
import io.pando.cluster.NodeFeatureReport;
import io.pando.cluster.NodeFeatureReport.FeatureState;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SortedSet;
import java.util.TreeSet;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.apache.karaf.shell.support.table.ShellTable;

/** {@code pando:cluster-feature-list}: the desired features and on how many members each runs. */
@Service
@Command(scope = "pando", name = "cluster-feature-list", description = "List the cluster-wide desired features "
    + "and the members that run them, are installing them or failed")
public class ClusterFeatureListCommand extends ClusterAction {

    @Override
    public Object execute() {
        List<String> members = cluster().members().stream().map(ClusterMember::name).sorted().toList();
        print(features().desiredFeatures(), features().reports(), members, json, System.out);
        return null;
    }

    static void print(SortedSet<String> desired, Map<String, NodeFeatureReport> reports, List<String> members,
        boolean json, PrintStream out) {
        List<Object> rows = new ArrayList<>();
        ShellTable table = new ShellTable().emptyTableText("no desired features");
        table.column("Feature");
        table.column("Installed").alignRight();
        table.column("Pending");
        table.column("Failed");
        for (String f : desired) {
            List<String> installed = new ArrayList<>();
            List<String> pending = new ArrayList<>();
            List<String> failed = new ArrayList<>();
            for (String node : members) {
                NodeFeatureReport r = reports.get(node);
                FeatureState s = r == null ? null : r.features().get(f);
                if (s == null || s.status() == FeatureState.Status.PENDING) {
                    pending.add(node);
                } else if (s.status() == FeatureState.Status.INSTALLED) {
                    installed.add(node);
                } else if (s.status() == FeatureState.Status.FAILED) {
                    failed.add(node);
                }
            }
            table.addRow().addContent(f, installed.size() + "/" + members.size(), String.join(",", pending),
                String.join(",", failed));
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("feature", f);
            m.put("installed", new TreeSet<>(installed));
            m.put("pending", new TreeSet<>(pending));
            m.put("failed", new TreeSet<>(failed));
            rows.add(m);
        }
        if (json) {
            printJson(out, rows);
        } else {
            table.print(out);
            out.flush();
        }
    }
}
