package io.pando.unit.impl;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.pando.api.session.SessionId;
import io.pando.api.unit.UnitId;
import io.pando.link.AggregationChannel;
import io.pando.link.AggregationPort;
import io.pando.link.Credit;
import io.pando.link.SessionPlan;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * An aggregation unit for unit tests: records every result (sequence and a copy of its bytes), releases the
 * buffer and returns the credit at once, from another thread, or when the test says so. Tracks the bytes a
 * unit has at the aggregation unit and not yet credited (the link window's subject).
 */
final class RecordingAggregation implements AggregationPort {

    enum CreditMode { IMMEDIATE, ASYNC, MANUAL }

    /** A result: its sequence, a copy of its bytes, and the flow it was sent on. */
    record Result(long sequence, byte[] data, long flow) {
    }

    final CreditMode mode;
    final Map<SessionId, Channel> channels = new ConcurrentHashMap<>();
    final AtomicLong outstanding = new AtomicLong();
    final AtomicLong maxOutstanding = new AtomicLong();
    final AtomicLong delivered = new AtomicLong();
    final AtomicLong credited = new AtomicLong();
    private final ExecutorService creditor = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "test-creditor");
        t.setDaemon(true);
        return t;
    });
    volatile RuntimeException attachFailure;

    RecordingAggregation(CreditMode mode) {
        this.mode = mode;
    }

    void shutdown() throws InterruptedException {
        creditor.shutdown();
        creditor.awaitTermination(5, TimeUnit.SECONDS);
    }

    Channel channel(SessionId id) {
        Channel c = channels.get(id);
        if (c == null) {
            throw new NoSuchElementException("no channel for " + id);
        }
        return c;
    }

    /** Manual mode: returns the credit of every result delivered so far; returns how many. */
    int creditAll() {
        int n = 0;
        for (Channel c : channels.values()) {
            while (c.creditOne() >= 0) {
                n++;
            }
        }
        return n;
    }

    /** A session's way in: records, releases, credits according to the mode. */
    final class Channel implements AggregationChannel {
        final SessionId session;
        final UnitId unit;
        final Credit credit;
        final List<Result> results = new ArrayList<>();
        final ConcurrentLinkedQueue<Integer> uncredited = new ConcurrentLinkedQueue<>();
        /** Each acknowledgement: the sequence, and how many results had come before it. */
        final List<long[]> acks = new ArrayList<>();

        Channel(SessionId session, UnitId unit, Credit credit) {
            this.session = session;
            this.unit = unit;
            this.credit = credit;
        }

        @Override
        public void deliver(long sequence, long flow, ByteBuf data) {
            int len = data.readableBytes();
            byte[] copy = ByteBufUtil.getBytes(data);
            data.release();
            synchronized (results) {
                results.add(new Result(sequence, copy, flow));
            }
            delivered.addAndGet(len);
            long out = outstanding.addAndGet(len);
            maxOutstanding.accumulateAndGet(out, Math::max);
            switch (mode) {
                case IMMEDIATE -> give(len);
                case ASYNC -> creditor.execute(() -> give(len));
                case MANUAL -> uncredited.add(len);
                default -> throw new AssertionError(mode);
            }
        }

        @Override
        public void processed(long sequence) {
            synchronized (results) {
                acks.add(new long[] {sequence, results.size()});
            }
        }

        List<long[]> acks() {
            synchronized (results) {
                return new ArrayList<>(acks);
            }
        }

        /** Manual mode: credits the oldest uncredited result; returns its length, or -1 if none. */
        int creditOne() {
            Integer len = uncredited.poll();
            if (len == null) {
                return -1;
            }
            give(len);
            return len;
        }

        private void give(int len) {
            outstanding.addAndGet(-len);
            credited.addAndGet(len);
            credit.release(len);
        }

        List<Result> results() {
            synchronized (results) {
                return new ArrayList<>(results);
            }
        }

        int count() {
            synchronized (results) {
                return results.size();
            }
        }
    }

    @Override
    public String strategy() {
        return "recording";
    }

    @Override
    public void selectStrategy(String name) {
        throw new IllegalArgumentException(name);
    }

    @Override
    public CompletionStage<Void> open(SessionPlan plan) {
        return CompletableFuture.completedFuture(null);
    }

    @Override
    public AggregationChannel attach(SessionId session, UnitId unit, Credit credit) {
        RuntimeException f = attachFailure;
        if (f != null) {
            throw f;
        }
        Channel c = new Channel(session, unit, credit);
        channels.put(session, c);
        return c;
    }

    @Override
    public CompletionStage<Map<String, Long>> close(SessionId session) {
        return CompletableFuture.completedFuture(Map.of());
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
        return Map.of();
    }
}
