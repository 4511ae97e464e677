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
 * <h2>Migration</h2>
 * A live session moves from one unit to another without losing a datagram or its program's state. The
 * distribution unit (1) opens the session on the target with {@link io.pando.link.UnitPort#openForHandover}, which
 * holds what it gets; (2) on its event loop, between two datagrams, replaces the source by the target in the
 * session's units, so every later datagram (and control information) goes to the target; (3) asks the source to
 * {@link io.pando.link.UnitChannel#handOver() hand over}: the source processes everything it had been given,
 * exports the state and timers and stops the program, while its remaining results go on to the aggregation unit,
 * which restores ingress order as for any unit; (4) gives the state to the target
 * ({@link io.pando.link.UnitChannel#takeOver}), which installs it and only then processes the datagrams it held, in
 * order. A stateful program therefore sees every datagram exactly once, in ingress order, across the move. The
 * datagrams held on the target are charged to the session's quota there, so a long hand-over pauses the sender
 * (ARTP credit) instead of dropping anything. The aggregation unit does not use the plan's units: a unit attaches
 * when it opens the session and stays attached until its results have left.
 *
 * <h2>Failure</h2>
 * A unit that dies loses nothing it had accepted. The distribution unit hands each unit the
 * {@link io.pando.link.AggregationPort} to attach to and keeps a reference to each datagram it gave the unit (its
 * <em>retention</em>, bounded by the session's quota: over half of it pauses the sender's ARTP credit like a
 * congested unit) until the unit acknowledges it with {@link io.pando.link.AggregationChannel#processed}: every
 * result of that datagram and of every earlier one was handed to the aggregation channel. When the unit's port goes
 * away (its service is withdrawn: the unit stopped, or its node was lost) or its channel refuses a datagram, the
 * distribution unit fences the unit's aggregation channel (later results of it are dropped and counted), gives every
 * datagram not acknowledged and whose results did not all reach the aggregation unit to the session's other units
 * (or opens the session on another unit that runs the program), with its original sequence, and suppresses the
 * results the dead unit had already handed on for the one datagram it was in the middle of. A unit on another node
 * is attached through the port it is given by its proxy, and its acknowledgements travel with its results to that
 * channel; a unit that does not attach through the port it is given acknowledges nothing there, so nothing is
 * retained for it.
 *
 * <h2>Threads</h2>
 * Every method is thread-safe. {@code deliver} and {@code release} are on the packet path: they take no lock
 * and do not block.
 */
@Export
@Version("1.4.0")
package io.pando.link;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
