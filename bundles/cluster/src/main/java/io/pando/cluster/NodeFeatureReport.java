package io.pando.cluster;

import java.time.Instant;
import java.util.Collections;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * How far one node has got in running the desired features.
 *
 * @param node the node's member name
 * @param at when the node last reconciled
 * @param features the state of each desired feature on the node, by feature name
 */
public record NodeFeatureReport(String node, Instant at, Map<String, FeatureState> features) {

    /** @throws NullPointerException if a value is missing */
    public NodeFeatureReport {
        Objects.requireNonNull(node, "node");
        Objects.requireNonNull(at, "at");
        features = Collections.unmodifiableMap(new TreeMap<>(features));
    }

    /** @return true if every feature is {@link FeatureState.Status#INSTALLED} (or was removed as asked) */
    public boolean healthy() {
        return features.values().stream().allMatch(f -> f.status() == FeatureState.Status.INSTALLED
            || f.status() == FeatureState.Status.REMOVED);
    }

    /**
     * The state of one feature on one node.
     *
     * @param status where it is
     * @param message why it failed, or an empty string
     * @param at when it got into this state
     */
    public record FeatureState(Status status, String message, Instant at) {

        /** @throws NullPointerException if a value is missing */
        public FeatureState {
            Objects.requireNonNull(status, "status");
            Objects.requireNonNull(message, "message");
            Objects.requireNonNull(at, "at");
        }

        /** Where a feature is on a node. */
        public enum Status {
            /** desired, not installed yet */
            PENDING,
            /** installed (this node runs it) */
            INSTALLED,
            /** the last attempt to install or uninstall it failed; the message says why; retried later */
            FAILED,
            /** no longer desired, and uninstalled */
            REMOVED
        }
    }
}
