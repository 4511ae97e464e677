package io.pando.shell.cli;

import java.io.PrintStream;
import java.util.List;
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
 * schedulers, aggregation strategies), with the bundle that provides each and its ranking.
 */
@Service
@Command(scope = "pando", name = "policy-list", description = "List the registered policies: load balancing, "
    + "packet scheduling and aggregation, with providing bundle, ranking and service id")
public class PolicyListCommand extends PandoAction {

    @Reference
    BundleContext context;

    @Option(name = "--role", description = "Only this role: load-balancing, scheduler or aggregation")
    @Completion(value = StringsCompleter.class, values = {"load-balancing", "scheduler", "aggregation"})
    String role;

    @Override
    public Object execute() {
        List<PolicyRole> roles = role == null ? List.of(PolicyRole.values()) : List.of(PolicyRole.of(role));
        List<PolicyEntry> entries = PolicyEntry.find(context, roles);
        print(entries, json, System.out);
        return null;
    }

    static void print(List<PolicyEntry> entries, boolean json, PrintStream out) {
        if (json) {
            printJson(out, Json.array(entries.stream().map(PolicyEntry::toJson).toList()));
            return;
        }
        ShellTable table = new ShellTable().emptyTableText("no policy services registered");
        table.column("Role");
        table.column("Name");
        table.column("Bundle");
        table.column("Bundle ID").alignRight();
        table.column("Ranking").alignRight();
        table.column("Service ID").alignRight();
        for (PolicyEntry e : entries) {
            table.addRow().addContent(e.role().label, e.name() == null ? "-" : e.name(),
                e.bundle() == null ? "-" : e.bundle(), e.bundleId(), e.ranking(), e.serviceId());
        }
        table.print(out);
        out.flush();
    }
}
