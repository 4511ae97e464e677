package io.pando.distribution.impl;

import io.pando.api.session.SessionId;
import io.pando.api.unit.UnitId;
import io.pando.link.AggregationChannel;
import io.pando.link.AggregationPort;
import io.pando.link.Credit;
import io.pando.link.SessionPlan;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Function;

/** An aggregation unit whose open() completes (or fails as told) and whose close() is logged. */
final class TestAggregation implements AggregationPort {

    final List<String> log;
    final List<SessionPlan> opened = new CopyOnWriteArrayList<>();
    final List<SessionId> closed = new CopyOnWriteArrayList<>();
    final Set<String> strategies = Set.of("pass-through", "reorder-window");
    volatile String strategy = "reorder-window";
    /** Calls of {@link #counters(SessionId)} and {@link #reorder(SessionId)}: trips a real one makes to its loop. */
    final java.util.concurrent.atomic.AtomicInteger sessionReads = new java.util.concurrent.atomic.AtomicInteger();
    volatile Function<SessionPlan, CompletableFuture<Void>> onOpen = p -> CompletableFuture.completedFuture(null);

    TestAggregation(List<String> log) {
        this.log = log;
    }

    @Override
    public String strategy() {
        return strategy;
    }

    @Override
    public void selectStrategy(String name) {
        if (!strategies.contains(name)) {
            throw new IllegalArgumentException("no aggregation strategy '" + name + "'");
        }
        strategy = name;
    }

    @Override
    public CompletionStage<Void> open(SessionPlan plan) {
        opened.add(plan);
        log.add("aggregation open");
        return onOpen.apply(plan);
    }

    @Override
    public AggregationChannel attach(SessionId session, UnitId unit, Credit credit) {
        return (seq, flow, data) -> {
            int len = data.readableBytes();
            data.release();
            credit.release(len);
        };
    }

    @Override
    public CompletionStage<Map<String, Long>> close(SessionId session) {
        closed.add(session);
        log.add("aggregation close");
        return CompletableFuture.completedFuture(Map.of("datagrams_out", 42L));
    }

    @Override
    public Map<String, Long> counters(SessionId session) {
        sessionReads.incrementAndGet();
        return Map.of("results_in", 0L);
    }

    @Override
    public Map<String, Long> reorder(SessionId session) {
        sessionReads.incrementAndGet();
        return Map.of("out_of_order", 0L);
    }

    @Override
    public Map<String, Long> counters() {
        return Map.of("sessions", (long) (opened.size() - closed.size()));
    }
}
