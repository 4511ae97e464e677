package io.pando.cluster.cli;

import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.karaf.shell.api.action.Argument;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.Completion;
import org.apache.karaf.shell.api.action.lifecycle.Service;

/** {@code pando:cluster-feature-remove NAME}: a feature is no longer desired cluster-wide. */
@Service
@Command(scope = "pando", name = "cluster-feature-remove", description = "Stop running a feature cluster-wide: "
    + "nodes uninstall it where they installed it for the cluster. Needs quorum")
public class ClusterFeatureRemoveCommand extends ClusterAction {

    @Argument(index = 0, name = "feature", required = true, description = "A desired feature")
    @Completion(DesiredFeatureCompleter.class)
    String feature;

    @Override
    public Object execute() {
        boolean removed = features().removeDesiredFeature(feature);
        if (!removed) {
            throw new IllegalArgumentException("feature " + feature + " is not desired cluster-wide (see "
                + "pando:cluster-feature-list)");
        }
        if (json) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("feature", feature);
            m.put("removed", true);
            m.put("desired_features", features().desiredFeatures());
            printJson(System.out, m);
        } else {
            System.out.println("Feature " + feature + " is no longer desired; nodes uninstall it");
        }
        return null;
    }
}
