/**
 * The cluster on an embedded Hazelcast member: {@link io.pando.cluster.impl.HazelcastCluster} (the DS component,
 * configuration PID {@code io.pando.cluster}), its validated {@link io.pando.cluster.impl.ClusterSettings}, the
 * record codec of the directory and the feature reports, and the {@link io.pando.cluster.impl.FeatureReconciler}
 * that installs desired features through Karaf. Private: not exported.
 */
package io.pando.cluster.impl;
