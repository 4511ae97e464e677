package io.pando.shell.cli;

import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import org.apache.karaf.shell.api.action.lifecycle.Reference;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.apache.karaf.shell.api.console.CommandLine;
import org.apache.karaf.shell.api.console.Completer;
import org.apache.karaf.shell.api.console.Session;
import org.apache.karaf.shell.support.completers.StringsCompleter;
import org.osgi.framework.BundleContext;

/**
 * Completes the name of a registered policy: of the role named earlier on the line ({@code pando:policy-set
 * scheduler <TAB>}), of load-balancing for {@code --policy}, else of every role.
 */
@Service
public class PolicyNameCompleter implements Completer {

    @Reference
    BundleContext context;

    @Override
    public int complete(Session session, CommandLine commandLine, List<String> candidates) {
        List<String> args = Arrays.asList(commandLine.getArguments());
        List<PolicyRole> roles = List.of(PolicyRole.values());
        if (args.contains("--policy")) {
            roles = List.of(PolicyRole.LOAD_BALANCING);
        } else {
            for (PolicyRole r : PolicyRole.values()) {
                if (args.contains(r.label)) {
                    roles = List.of(r);
                    break;
                }
            }
        }
        List<String> names = PolicyEntry.find(context, roles).stream().map(PolicyEntry::name)
            .filter(Objects::nonNull).distinct().toList();
        return new StringsCompleter(names).complete(session, commandLine, candidates);
    }
}
