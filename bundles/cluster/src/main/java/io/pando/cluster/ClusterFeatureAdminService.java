package io.pando.cluster;

import java.util.Map;
import java.util.SortedSet;
import org.osgi.annotation.versioning.ProviderType;

/**
 * Cluster-wide desired features: the Karaf features every node of the cluster should run. The set is replicated;
 * each node installs the features it lacks through its own Karaf {@code FeaturesService}, again whenever the set
 * changes and when it joins, and retries what failed. A node that joins later gets every feature of the set.
 * Each node publishes a {@link NodeFeatureReport} of how far it got.
 *
 * <p>Removing a feature from the set uninstalls it on the nodes that are members at the time and that installed
 * it for the cluster; a node that is down then keeps it.
 *
 * <p>Implemented by Pando; thread-safe.
 */
@ProviderType
public interface ClusterFeatureAdminService {

    /** @return the desired features, sorted by name */
    SortedSet<String> desiredFeatures();

    /**
     * Asks every node to run a feature.
     *
     * @param feature a feature name, optionally with {@code /version}
     * @return true if it was added, false if it was already desired
     * @throws IllegalArgumentException if the name is malformed, or this node knows no feature of that name (its
     *     repository must be added first, e.g. with {@code feature:repo-add})
     * @throws NoQuorumException if this node's partition has no quorum
     */
    boolean addDesiredFeature(String feature);

    /**
     * @param feature a desired feature
     * @return true if it was removed, false if it was not desired
     * @throws IllegalArgumentException if the name is malformed
     * @throws NoQuorumException if this node's partition has no quorum
     */
    boolean removeDesiredFeature(String feature);

    /** @return the latest report of every node that has published one, by node name, sorted */
    Map<String, NodeFeatureReport> reports();
}
