package io.pando.distribution.impl;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.pando.api.session.SessionId;
import io.pando.api.unit.UnitId;
import io.pando.api.unit.UnitLoad;
import io.pando.link.AggregationPort;
import io.pando.link.SessionEvents;
import io.pando.link.SessionHandover;
import io.pando.link.SessionPlan;
import io.pando.link.UnitChannel;
import io.pando.link.UnitPort;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

/** A unit that keeps what it is given in memory: the distribution unit's view of a parallel AR unit. */
final class TestUnit implements UnitPort {

    record Delivery(long sequence, long flow, boolean control, byte[] data) {
    }

    final UnitId id;
    final List<String> log;
    final Map<SessionId, Channel> channels = new ConcurrentHashMap<>();
    final Map<SessionId, SessionEvents> events = new ConcurrentHashMap<>();
    final List<String> schedulers = new CopyOnWriteArrayList<>();
    volatile RuntimeException openFailure;
    /** Thrown by every channel's close() and counters(): the unit stopped under its sessions. */
    volatile RuntimeException stoppedFailure;
    volatile Set<String> programs = Set.of("passthrough");
    /** What the unit's program says about a session's parameters; null accepts anything. */
    volatile java.util.function.Consumer<Map<String, String>> validator;
    /** Whether the unit hands sessions over and takes them over. */
    volatile boolean migrates = true;
    /** What every channel's handOver() waits for, if set. */
    volatile CompletableFuture<Void> handoverGate;
    /** Fails every channel's handOver() when set. */
    volatile RuntimeException handoverFailure;
    /** The CPU load the unit reports. */
    volatile double cpu;

    TestUnit(String id, List<String> log) {
        this.id = UnitId.of(id);
        this.log = log;
    }

    @Override
    public UnitId id() {
        return id;
    }

    @Override
    public String location() {
        return "local";
    }

    @Override
    public UnitLoad load() {
        return new UnitLoad(id, Instant.now(), cpu, 0, 1 << 20, channels.size(), 0);
    }

    @Override
    public String scheduler() {
        return schedulers.isEmpty() ? "fifo" : schedulers.get(schedulers.size() - 1);
    }

    @Override
    public Set<String> programs() {
        return programs;
    }

    @Override
    public Map<String, Long> counters() {
        return Map.of("sessions", (long) channels.size());
    }

    @Override
    public UnitChannel open(SessionPlan plan, AggregationPort aggregation, SessionEvents ev) {
        RuntimeException f = openFailure;
        if (f != null) {
            throw f;
        }
        Channel c = new Channel(plan.id());
        channels.put(plan.id(), c);
        events.put(plan.id(), ev);
        log.add("open " + id);
        return c;
    }

    @Override
    public boolean migrates() {
        return migrates;
    }

    @Override
    public UnitChannel openForHandover(SessionPlan plan, AggregationPort aggregation, SessionEvents ev) {
        if (!migrates) {
            return UnitPort.super.openForHandover(plan, aggregation, ev);
        }
        UnitChannel c = open(plan, aggregation, ev);
        log.add("open-for-handover " + id);
        return c;
    }

    @Override
    public void validate(SessionPlan plan) {
        UnitPort.super.validate(plan);
        java.util.function.Consumer<Map<String, String>> v = validator;
        if (v != null) {
            v.accept(plan.parameters());
        }
        log.add("validate " + id);
    }

    @Override
    public void selectScheduler(String name) {
        schedulers.add(name);
    }

    Channel channel(SessionId session) {
        return channels.get(session);
    }

    /** One session on this unit: records every datagram, drains asynchronously on close. */
    final class Channel implements UnitChannel {
        final SessionId session;
        private final List<Delivery> deliveries = new ArrayList<>();
        volatile boolean closed;
        volatile int late;
        volatile SessionHandover takenOver;
        /** What the channel got before the take-over: what a real unit holds. */
        volatile int heldAtTakeOver;
        /** The session's CPU time on this unit, as a unit counts it ({@code cpu_ns}). */
        volatile long cpuNanos;
        /** Calls of {@link #counters()}: trips a real unit makes to its loop. */
        final java.util.concurrent.atomic.AtomicInteger counterReads = new java.util.concurrent.atomic.AtomicInteger();

        Channel(SessionId session) {
            this.session = session;
        }

        @Override
        public void deliver(long sequence, long flow, ByteBuf data, boolean control) {
            byte[] copy = ByteBufUtil.getBytes(data);
            data.release();
            if (closed) {
                late++;
            }
            synchronized (deliveries) {
                deliveries.add(new Delivery(sequence, flow, control, copy));
            }
        }

        @Override
        public CompletionStage<Void> close() {
            RuntimeException f = stoppedFailure;
            if (f != null) {
                throw f;
            }
            closed = true;
            log.add("close " + id);
            return CompletableFuture.runAsync(() -> log.add("closed " + id),
                CompletableFuture.delayedExecutor(30, TimeUnit.MILLISECONDS));
        }

        /** Hands over the number of datagrams it got as state "n", and timer 7 with 1 s left. */
        @Override
        public CompletionStage<SessionHandover> handOver() {
            log.add("handover " + id);
            RuntimeException f = handoverFailure;
            if (f != null) {
                return CompletableFuture.failedFuture(f);
            }
            CompletableFuture<Void> gate = handoverGate;
            return (gate == null ? CompletableFuture.<Void>completedFuture(null) : gate).thenApply(v -> {
                closed = true;
                return new SessionHandover(Map.of("n", java.nio.ByteBuffer.allocate(8).putLong(count()).array()),
                    Map.of(7L, 1_000_000L), count() - 1);
            });
        }

        @Override
        public void takeOver(SessionHandover handover) {
            if (takenOver != null) {
                throw new IllegalStateException("taken over twice");
            }
            heldAtTakeOver = count();
            takenOver = handover;
            log.add("take-over " + id);
        }

        @Override
        public Map<String, Long> counters() {
            counterReads.incrementAndGet();
            RuntimeException f = stoppedFailure;
            if (f != null) {
                throw f;
            }
            Map<String, Long> m = new java.util.TreeMap<>(Map.of("datagrams_in", (long) count()));
            if (takenOver != null) {
                m.put("held_for_handover", (long) heldAtTakeOver);
            }
            if (cpuNanos > 0) {
                m.put("cpu_ns", cpuNanos);
            }
            return m;
        }

        List<Delivery> deliveries() {
            synchronized (deliveries) {
                return new ArrayList<>(deliveries);
            }
        }

        int count() {
            synchronized (deliveries) {
                return deliveries.size();
            }
        }
    }
}
