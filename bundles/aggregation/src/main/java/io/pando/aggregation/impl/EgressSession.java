package io.pando.aggregation.impl;

import io.pando.api.session.Flow;
import io.pando.api.session.FlowId;
import io.pando.api.session.SessionId;
import io.pando.link.SessionPlan;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

/**
 * One session at the aggregation unit; used on the unit's event loop only. Its flows are indexed by their
 * position in the plan (ascending ids): the {@link FlowId} handed to the strategy, the egress connection and the
 * per-flow counters of a result are array reads, never a map lookup.
 */
final class EgressSession {

    final AggregationCore core;
    final SessionPlan plan;
    final SessionId id;
    /** The plan's flow ids in ascending order; a flow's index here is its position. */
    final long[] flowIds;
    /** The flows by position, made once. */
    final FlowId[] flows;
    /** The connection each flow's results leave on, by position. */
    final Egress[] egressOf;
    /** One per distinct destination; flow 0's first. */
    final List<Egress> egresses;
    final long[] flowDatagramsOut;
    final long[] flowBytesOut;
    final CompletableFuture<Map<String, Long>> closed = new CompletableFuture<>();
    boolean closing;
    long datagramsIn;
    long datagramsOut;
    long bytesOut;
    long outOfOrder;
    long maxDisplacement;
    long highestSent = -1;
    long egressLost;
    long unknownFlow;
    /** Egress connections that could not be opened. */
    long egressFailed;

    EgressSession(AggregationCore core, SessionPlan plan) {
        this.core = core;
        this.plan = plan;
        this.id = plan.id();
        List<Flow> f = plan.flows();
        int n = f.size();
        flowIds = new long[n];
        flows = new FlowId[n];
        egressOf = new Egress[n];
        flowDatagramsOut = new long[n];
        flowBytesOut = new long[n];
        Map<InetSocketAddress, Egress> byDestination = new LinkedHashMap<>(); // flow 0 has the lowest id: first
        for (int i = 0; i < n; i++) {
            flows[i] = f.get(i).id();
            flowIds[i] = flows[i].value();
            egressOf[i] = byDestination.computeIfAbsent(f.get(i).destination(), d -> new Egress(this, d));
        }
        egresses = List.copyOf(new ArrayList<>(byDestination.values()));
    }

    /**
     * @param flow a flow number
     * @return its position among the session's flows, or -1 if the session has no such flow
     */
    int position(long flow) {
        long[] ids = flowIds;
        if (flow >= 0 && flow < ids.length && ids[(int) flow] == flow) {
            return (int) flow; // flows numbered 0, 1, 2, ...: the usual case
        }
        int i = Arrays.binarySearch(ids, flow);
        return i >= 0 ? i : -1;
    }
}
