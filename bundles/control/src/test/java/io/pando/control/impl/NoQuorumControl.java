package io.pando.control.impl;

import io.pando.cluster.impl.ClusterNodes;
import io.pando.cluster.impl.HazelcastCluster;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;

/**
 * A real control unit on a real cluster member that has no quorum (the only one running of a member list of two,
 * ports 18500-18539): it refuses every request with NOT_LEADER "no quorum". Apart from {@link ControlFixture}, which
 * must load without pando-cluster on the class path.
 */
public final class NoQuorumControl {

    private NoQuorumControl() {
    }

    /**
     * @param users user = password lines
     * @param dir a directory for the users file
     * @param firstPort first port to try for the control endpoint
     * @param lastPort last port to try
     * @return the fixture; closing it stops the member too
     */
    public static ControlFixture start(Map<String, String> users, Path dir, int firstPort, int lastPort)
        throws IOException {
        ClusterNodes nodes = new ClusterNodes(2);
        try {
            HazelcastCluster member = nodes.start(0);
            ClusterControl view = new ClusterControl(member, member, member, member);
            return new ControlFixture(users, dir, Map.of(), firstPort, lastPort, null, () -> view, nodes);
        } catch (IOException | RuntimeException e) {
            nodes.close();
            throw e;
        }
    }
}
