/**
 * The Pando cluster: the nodes of one router, who leads them, and the state they share.
 *
 * <ul>
 * <li>{@link io.pando.cluster.ClusterService}: the members (oldest first), the leader (the oldest member), and
 * whether this node's partition has <em>quorum</em>; a partition without quorum must not admit or place sessions.
 * {@link io.pando.cluster.ClusterListener} services are told of every membership, leadership and quorum change.</li>
 * <li>{@link io.pando.cluster.SessionDirectory}: the replicated session directory (session id to owner, program,
 * placement and reservations), with an atomic put-if-absent so that no session is ever placed twice.</li>
 * <li>{@link io.pando.cluster.ClusterFeatureAdminService}: the Karaf features every node of the cluster should run,
 * and how far each node has got in installing them.</li>
 * <li>{@link io.pando.cluster.UnitDirectory}: the parallel AR units of every node with their live load, as each
 * node reports its own (since 1.1).</li>
 * <li>{@link io.pando.cluster.MemberRequests}: requests one member sends another, and values each member publishes
 * to the others (since 1.3).</li>
 * </ul>
 *
 * <p>Everything a minority partition must not do (write the directory, change the desired features, act as
 * leader) fails with {@link io.pando.cluster.NoQuorumException}, so that a caller can refuse with the reason.
 */
@Export
@Version("1.3.0")
package io.pando.cluster;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
