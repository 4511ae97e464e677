package io.pando.aggregation.impl;

import io.pando.api.session.SessionId;
import io.pando.artp.ArtpConnection;
import io.pando.link.SessionPlan;
import java.util.ArrayDeque;
import java.util.concurrent.CompletableFuture;

/** One session at the aggregation unit; used on the unit's event loop only. */
final class EgressSession {

    final AggregationCore core;
    final SessionPlan plan;
    final SessionId id;
    ArtpConnection connection;
    /** Results sent while the connection was not writable: their credit is returned once it is. */
    final ArrayDeque<Result> deferred = new ArrayDeque<>();
    final CompletableFuture<java.util.Map<String, Long>> closed = new CompletableFuture<>();
    boolean closing;
    boolean failed;
    String failure = "";
    long datagramsIn;
    long datagramsOut;
    long bytesOut;
    long outOfOrder;
    long maxDisplacement;
    long highestSent = -1;
    long egressLost;

    EgressSession(AggregationCore core, SessionPlan plan) {
        this.core = core;
        this.plan = plan;
        this.id = plan.id();
    }
}
