/**
 * Karaf console commands of the Pando cluster (scope {@code pando}): {@code cluster}, {@code cluster-feature-install},
 * {@code cluster-feature-remove}, {@code cluster-feature-list}. Thin actions over {@link io.pando.cluster.ClusterService}
 * and {@link io.pando.cluster.ClusterFeatureAdminService}; every one takes {@code --json}. Private: not exported.
 */
package io.pando.cluster.cli;
