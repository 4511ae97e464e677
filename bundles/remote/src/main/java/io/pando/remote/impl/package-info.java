/**
 * Remote roles: a Pando router's roles on different nodes, behind the same unit link interfaces
 * ({@code io.pando.link}) as on one node. Private implementation; configured, not called.
 *
 * <ul>
 * <li>{@link io.pando.remote.impl.UnitServer} (unit node) serves the node's units: control over TCP
 *     ({@link io.pando.remote.impl.ControlMessage}), datagrams over ARTP; it hands each unit a
 *     {@link io.pando.remote.impl.ResultLink} as its aggregation unit, which sends results over ARTP to the
 *     aggregation node.</li>
 * <li>{@link io.pando.remote.impl.RemoteUnits} (distribution node) registers a {@code UnitPort} proxy per unit of
 *     the configured unit nodes.</li>
 * <li>{@link io.pando.remote.impl.AggregationServer} (aggregation node) receives the results and hands them to
 *     the local aggregation unit.</li>
 * </ul>
 *
 * Every ARTP datagram of these links carries a 17-byte {@link io.pando.remote.impl.DataPrefix}: the ingress
 * sequence, flags (control information, HELLO, PROCESSED), the flow and a result's number.
 */
package io.pando.remote.impl;
