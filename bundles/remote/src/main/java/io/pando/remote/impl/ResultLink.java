package io.pando.remote.impl;

import io.netty.buffer.ByteBufAllocator;
import io.pando.api.session.SessionId;
import io.pando.api.unit.UnitId;
import io.pando.artp.ArtpEndpoint;
import io.pando.link.AggregationChannel;
import io.pando.link.AggregationPort;
import io.pando.link.Credit;
import io.pando.link.SessionPlan;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * The aggregation unit of one session as a unit on this node sees it when the aggregation unit is on another
 * node: {@link #attach} opens a {@link ResultChannel} to the aggregation server the distribution node named when
 * it opened the session. Not a registered service: the {@code UnitServer} hands it to the unit with the session,
 * so a unit node needs no configuration of where the aggregation unit is.
 *
 * <p>Only {@link #attach} is for units; the administration of the aggregation unit ({@link #open},
 * {@link #close}, strategies) happens on its own node and is refused here.
 */
final class ResultLink implements AggregationPort {

    private final ArtpEndpoint endpoint;
    private final InetSocketAddress aggregation;
    private final SessionId session;
    private final ByteBufAllocator alloc;
    private final List<ResultChannel> channels = new CopyOnWriteArrayList<>();

    ResultLink(ArtpEndpoint endpoint, InetSocketAddress aggregation, SessionId session, ByteBufAllocator alloc) {
        this.endpoint = endpoint;
        this.aggregation = aggregation;
        this.session = session;
        this.alloc = alloc;
    }

    @Override
    public AggregationChannel attach(SessionId session, UnitId unit, Credit credit) {
        if (!this.session.equals(session)) {
            throw new java.util.NoSuchElementException("this link carries session " + this.session + ", not "
                + session);
        }
        ResultChannel c = new ResultChannel(endpoint, aggregation, session, unit, credit, alloc);
        channels.add(c);
        return c;
    }

    /** Closes every result connection in order; completes when all are closed. */
    CompletionStage<Void> close() {
        return CompletableFuture.allOf(channels.stream().map(c -> c.close().toCompletableFuture())
            .toArray(CompletableFuture[]::new));
    }

    /** @return results sent, lost and credit held back, over every channel of the session */
    Map<String, Long> linkCounters() {
        long sent = 0;
        long lost = 0;
        long deferred = 0;
        long acks = 0;
        for (ResultChannel c : channels) {
            sent += c.sent();
            acks += c.acksSent();
            lost += c.lost();
            deferred += c.deferredBytes();
        }
        return Map.of("link_results_sent", sent, "link_results_lost", lost, "link_credit_deferred_bytes", deferred,
            "link_acks_sent", acks);
    }

    InetSocketAddress address() {
        return aggregation;
    }

    @Override
    public String strategy() {
        return "remote";
    }

    @Override
    public void selectStrategy(String name) {
        throw new UnsupportedOperationException("the aggregation unit runs on " + aggregation
            + "; select its strategy there");
    }

    @Override
    public CompletionStage<Void> open(SessionPlan plan) {
        return CompletableFuture.failedFuture(new UnsupportedOperationException("the aggregation unit runs on "
            + aggregation + "; sessions are opened there"));
    }

    @Override
    public CompletionStage<Map<String, Long>> close(SessionId session) {
        return CompletableFuture.failedFuture(new UnsupportedOperationException("the aggregation unit runs on "
            + aggregation + "; sessions are closed there"));
    }

    @Override
    public Map<String, Long> counters(SessionId session) {
        return Map.of();
    }

    @Override
    public Map<String, Long> reorder(SessionId session) {
        return Map.of();
    }

    @Override
    public Map<String, Long> counters() {
        return linkCounters();
    }
}
