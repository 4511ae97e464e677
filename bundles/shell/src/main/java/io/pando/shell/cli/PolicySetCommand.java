package io.pando.shell.cli;

import io.pando.api.router.RouterService;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.karaf.shell.api.action.Argument;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.Completion;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.apache.karaf.shell.support.completers.StringsCompleter;

/**
 * {@code pando:policy-set}: switches the policy of a role for the whole router while traffic flows; nothing
 * accepted is lost. Sessions created with their own load-balancing policy keep it.
 */
@Service
@Command(scope = "pando", name = "policy-set", description = "Switch the policy of a role (load-balancing, "
    + "scheduler or aggregation) for the whole router, live")
public class PolicySetCommand extends RouterAction {

    @Argument(index = 0, name = "role", required = true, description = "load-balancing, scheduler or aggregation")
    @Completion(value = StringsCompleter.class, values = {"load-balancing", "scheduler", "aggregation"})
    String role;

    @Argument(index = 1, name = "name", required = true, description = "The policy to select (see pando:policy-list)")
    @Completion(PolicyNameCompleter.class)
    String name;

    @Override
    public Object execute() {
        PolicyRole r = PolicyRole.of(role);
        if (name == null || name.isEmpty()) {
            throw new IllegalArgumentException("policy-set takes ROLE NAME, got no NAME");
        }
        RouterService router = router();
        String previous = router.selectedPolicies().get(r.router());
        router.selectPolicy(r.router(), name);
        if (json) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("role", r.label);
            m.put("previous", previous);
            m.put("selected", name);
            printJson(System.out, Json.object(m));
            return null;
        }
        System.out.println(r.label + ": " + (previous == null ? "(none)" : previous) + " -> " + name);
        System.out.flush();
        return null;
    }
}
