package io.pando.cluster.cli;

import io.pando.cluster.ClusterFeatureAdminService;
import java.util.List;
import org.apache.karaf.shell.api.action.lifecycle.Reference;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.apache.karaf.shell.api.console.CommandLine;
import org.apache.karaf.shell.api.console.Completer;
import org.apache.karaf.shell.api.console.Session;
import org.apache.karaf.shell.support.completers.StringsCompleter;

/** Completes the names of the cluster-wide desired features. */
@Service
public class DesiredFeatureCompleter implements Completer {

    @Reference(optional = true)
    ClusterFeatureAdminService features;

    @Override
    public int complete(Session session, CommandLine commandLine, List<String> candidates) {
        ClusterFeatureAdminService f = features;
        if (f == null) {
            return -1;
        }
        try {
            return new StringsCompleter(f.desiredFeatures()).complete(session, commandLine, candidates);
        } catch (RuntimeException e) {
            return -1; // cluster unreachable: no completion
        }
    }
}
