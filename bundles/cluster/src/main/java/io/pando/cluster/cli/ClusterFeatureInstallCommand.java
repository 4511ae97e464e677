package io.pando.cluster.cli;

import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.karaf.shell.api.action.Argument;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.lifecycle.Service;

/** {@code pando:cluster-feature-install NAME}: every node of the cluster should run a feature. */
@Service
@Command(scope = "pando", name = "cluster-feature-install", description = "Install a Karaf feature on every node "
    + "of the cluster, and on every node that joins later. Needs quorum. Progress: pando:cluster")
public class ClusterFeatureInstallCommand extends ClusterAction {

    @Argument(index = 0, name = "feature", required = true, description = "The feature, NAME or NAME/VERSION; its "
        + "repository must be known on the nodes (feature:repo-add)")
    String feature;

    @Override
    public Object execute() {
        boolean added = features().addDesiredFeature(feature);
        if (json) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("feature", feature);
            m.put("added", added);
            m.put("desired_features", features().desiredFeatures());
            printJson(System.out, m);
        } else {
            System.out.println(added ? "Feature " + feature + " is now desired on every node; see pando:cluster"
                : "Feature " + feature + " was already desired on every node");
        }
        return null;
    }
}
