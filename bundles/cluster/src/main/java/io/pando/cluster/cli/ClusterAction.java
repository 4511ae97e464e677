package io.pando.cluster.cli;

import io.pando.cluster.ClusterFeatureAdminService;
import io.pando.cluster.ClusterService;
import io.pando.cluster.UnitDirectory;
import java.io.PrintStream;
import org.apache.karaf.shell.api.action.Action;
import org.apache.karaf.shell.api.action.Option;
import org.apache.karaf.shell.api.action.lifecycle.Reference;

/**
 * What the cluster commands share: {@code --json} (one JSON value on one line, the last line of output) and optional
 * references to the cluster, so that the commands exist on every node and say why they cannot work where no cluster
 * member runs, instead of disappearing from the console.
 */
abstract class ClusterAction implements Action {

    /** The message of every cluster command on a node where no cluster member runs. */
    static final String NOT_RUNNING = "no Pando cluster member runs on this node (feature pando-cluster, "
        + "configuration io.pando.cluster)";

    @Option(name = "--json", description = "Print one JSON object or array, on one line, as the last line of output")
    boolean json;

    @Reference(optional = true)
    ClusterService cluster;

    @Reference(optional = true)
    ClusterFeatureAdminService features;

    @Reference(optional = true)
    UnitDirectory unitDirectory;

    UnitDirectory unitDirectory() {
        UnitDirectory u = unitDirectory;
        if (u == null) {
            throw new IllegalStateException(NOT_RUNNING);
        }
        return u;
    }

    ClusterService cluster() {
        ClusterService c = cluster;
        if (c == null) {
            throw new IllegalStateException(NOT_RUNNING);
        }
        return c;
    }

    ClusterFeatureAdminService features() {
        ClusterFeatureAdminService f = features;
        if (f == null) {
            throw new IllegalStateException(NOT_RUNNING);
        }
        return f;
    }

    static void printJson(PrintStream out, Object value) {
        out.println(Json.write(value));
        out.flush();
    }
}
