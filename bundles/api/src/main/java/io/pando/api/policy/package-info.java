/**
 * The policy SPIs: the decisions of the router that an administrator can switch live and a vendor can
 * replace. Each is an OSGi service interface implemented by a plugin bundle (or by a plain jar bridged by
 * SPI Fly); the router picks the best-ranked service and swaps to a new one without dropping datagrams.
 *
 * <ul>
 * <li>{@link io.pando.api.policy.Classifier}: which session a packet belongs to;</li>
 * <li>{@link io.pando.api.policy.LoadBalancingPolicy}: which unit processes a datagram;</li>
 * <li>{@link io.pando.api.policy.PacketScheduler}: which session's datagram a unit sends next;</li>
 * <li>{@link io.pando.api.policy.AggregationStrategy}: when the aggregation unit sends a processed
 * datagram, bounding reordering.</li>
 * </ul>
 *
 * <p>All of them are called on the packet path: they must be fast, must not block and must not throw for
 * well-formed input. Unless a method says otherwise, a buffer passed in is valid only during the call.
 */
@Export
@Version("1.0.0")
package io.pando.api.policy;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
