/**
 * The unit link: the contract between the roles of a Pando router.
 *
 * <pre>
 *  sender --ARTP--> distribution --UnitChannel--> unit 1..N --AggregationChannel--> aggregation --ARTP--> receiver
 *                        ^                          |    |                               |
 *                        |___ SessionEvents ________|    |____________ Credit ___________|
 * </pre>
 *
 * <p>A node registers its parallel AR units as {@link io.pando.link.UnitPort} services and its aggregation unit
 * as an {@link io.pando.link.AggregationPort} service. On one node the roles hand datagrams over in memory
 * through these interfaces (a {@code ByteBuf} changes owner, nothing is copied); between nodes a proxy
 * implements the same interfaces over the network.
 *
 * <h2>Sequence numbers</h2>
 * The distribution unit numbers each session's datagrams in arrival order (the <em>ingress sequence</em>,
 * from 0). A unit gives every result of a datagram that datagram's sequence number, so the aggregation unit can
 * restore ingress order. Control information a program sends to its peer instances has no ingress sequence
 * ({@link io.pando.link.UnitChannel#NO_SEQUENCE}).
 *
 * <h2>Back-pressure, never loss</h2>
 * Nothing that a role accepted is dropped for lack of room. A unit charges each session's datagrams against
 * the session's quota in its buffer pool from the moment it accepts them until the aggregation unit has
 * handed the results to the egress connection ({@link io.pando.link.Credit}); a session over half its quota is
 * reported congested ({@link io.pando.link.SessionEvents#congestion}) and the distribution unit stops granting
 * its sender ARTP credit until the unit reports it clear (below a quarter). The other half holds what the sender
 * had already been granted; what still goes beyond the quota is accepted and counted.
 *
 * <h2>Threads</h2>
 * Every method is thread-safe. {@code deliver} and {@code release} are on the packet path: they take no lock
 * and do not block.
 */
@Export
@Version("1.2.0")
package io.pando.link;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
