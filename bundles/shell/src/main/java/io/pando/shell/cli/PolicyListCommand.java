package io.pando.shell.cli;

import io.pando.api.router.RouterService;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.Completion;
import org.apache.karaf.shell.api.action.Option;
import org.apache.karaf.shell.api.action.lifecycle.Reference;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.apache.karaf.shell.support.completers.StringsCompleter;
import org.apache.karaf.shell.support.table.ShellTable;
import org.osgi.framework.BundleContext;

/**
 * {@code pando:policy-list}: the policy services in the service registry (load-balancing policies, packet
 * schedulers, aggregation strategies), with the bundle that provides each and its ranking; where the router runs,
 * also whether each is the selected policy of its role.
 */
@Service
@Command(scope = "pando", name = "policy-list", description = "List the registered policies: load balancing, "
    + "packet scheduling and aggregation, with providing bundle, ranking and service id")
public class PolicyListCommand extends PandoAction {

    @Reference
    BundleContext context;

    /** Optional: without a router on this node the list has no "selected" column. */
    @Reference(optional = true)
    RouterService router;

    @Option(name = "--role", description = "Only this role: load-balancing, scheduler or aggregation")
    @Completion(value = StringsCompleter.class, values = {"load-balancing", "scheduler", "aggregation"})
    String role;

    @Override
    public Object execute() {
        List<PolicyRole> roles = role == null ? List.of(PolicyRole.values()) : List.of(PolicyRole.of(role));
        List<PolicyEntry> entries = PolicyEntry.find(context, roles);
        RouterService r = router;
        print(entries, r == null ? null : r.selectedPolicies(), json, System.out);
        return null;
    }

    /**
     * @param selected the router's selected policy of each role, {@code null} where no router runs (then neither
     *     the table nor the JSON says which policy is selected)
     */
    static void print(List<PolicyEntry> entries, Map<io.pando.api.router.PolicyRole, String> selected, boolean json,
        PrintStream out) {
        if (json) {
            printJson(out, Json.array(entries.stream()
                .map(e -> selected == null ? e.toJson() : e.toJson(isSelected(e, selected))).toList()));
            return;
        }
        ShellTable table = new ShellTable().emptyTableText("no policy services registered");
        table.column("Role");
        table.column("Name");
        table.column("Bundle");
        table.column("Bundle ID").alignRight();
        table.column("Ranking").alignRight();
        table.column("Service ID").alignRight();
        if (selected != null) {
            table.column("Selected");
        }
        for (PolicyEntry e : entries) {
            List<Object> row = new ArrayList<>(List.of(e.role().label, e.name() == null ? "-" : e.name(),
                e.bundle() == null ? "-" : e.bundle(), e.bundleId(), e.ranking(), e.serviceId()));
            if (selected != null) {
                row.add(isSelected(e, selected) ? "yes" : "no");
            }
            table.addRow().addContent(row);
        }
        table.print(out);
        out.flush();
    }

    private static boolean isSelected(PolicyEntry e, Map<io.pando.api.router.PolicyRole, String> selected) {
        return e.name() != null && e.name().equals(selected.get(e.role().router()));
    }
}
