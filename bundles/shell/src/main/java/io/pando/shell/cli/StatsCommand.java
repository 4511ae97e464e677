package io.pando.shell.cli;

import io.pando.api.router.RouterService;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.apache.karaf.shell.support.table.ShellTable;

/** {@code pando:stats}: the router's selected policies and its router-wide counters. */
@Service
@Command(scope = "pando", name = "stats", description = "Show the selected policy of each role and the router's "
    + "counters: datagrams and bytes in and out, drops by reason, policy swaps")
public class StatsCommand extends RouterAction {

    @Override
    public Object execute() {
        RouterService router = router();
        Map<io.pando.api.router.PolicyRole, String> selected = router.selectedPolicies();
        Map<String, Long> counters = new TreeMap<>(router.stats());
        Map<String, Object> policies = new LinkedHashMap<>();
        for (PolicyRole r : PolicyRole.values()) {
            policies.put(r.label, selected.get(r.router()));
        }
        if (json) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("policies", policies);
            m.put("counters", counters);
            printJson(System.out, Json.object(m));
            return null;
        }
        ShellTable table = new ShellTable();
        table.column("Role");
        table.column("Selected Policy");
        policies.forEach((role, name) -> table.addRow().addContent(role, name == null ? "-" : name));
        table.print(System.out);
        System.out.println();
        SessionView.counterTable("Counter", counters, "no counters").print(System.out);
        System.out.flush();
        return null;
    }
}
