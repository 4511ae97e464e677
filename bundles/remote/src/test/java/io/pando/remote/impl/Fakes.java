package io.pando.remote.impl;

import io.netty.buffer.ByteBuf;
import io.pando.api.session.SessionId;
import io.pando.api.unit.UnitId;
import io.pando.api.unit.UnitLoad;
import io.pando.link.AggregationChannel;
import io.pando.link.AggregationPort;
import io.pando.link.Credit;
import io.pando.link.SessionEvents;
import io.pando.link.SessionPlan;
import io.pando.link.UnitChannel;
import io.pando.link.UnitPort;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;

/** Stand-ins for the roles on the other side of the link: a unit that echoes, an aggregation unit that collects. */
final class Fakes {

    private Fakes() {
    }

    static void await(String what, BooleanSupplier condition, long seconds) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting for " + what);
            }
            Thread.sleep(5);
        }
    }

    /** The payload of datagram {@code seq}: its length and bytes follow from the number. */
    static int length(long seq) {
        return (int) (seq * 7919 % 3000) + 1;
    }

    static ByteBuf payload(io.netty.buffer.ByteBufAllocator alloc, long seq) {
        int n = length(seq);
        ByteBuf b = alloc.directBuffer(n);
        for (int i = 0; i < n; i++) {
            b.writeByte((int) (seq + i));
        }
        return b;
    }

    static boolean intact(long seq, ByteBuf b) {
        int n = length(seq);
        if (b.readableBytes() != n) {
            return false;
        }
        for (int i = 0; i < n; i++) {
            if (b.getByte(b.readerIndex() + i) != (byte) (seq + i)) {
                return false;
            }
        }
        return true;
    }

    /** A unit whose program passes every datagram through unchanged; it can be told to hold them (congested). */
    static final class EchoUnit implements UnitPort {
        final UnitId id;
        final Map<SessionId, EchoSession> sessions = new ConcurrentHashMap<>();
        volatile String scheduler = "drr";
        /** Whether its sessions acknowledge each datagram after its result ({@code AggregationChannel.processed}). */
        volatile boolean acknowledging;

        EchoUnit(String id) {
            this.id = UnitId.of(id);
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
            return new UnitLoad(id, Instant.now(), 0.5, 10, 100, sessions.size(), 0);
        }

        @Override
        public String scheduler() {
            return scheduler;
        }

        @Override
        public Set<String> programs() {
            return Set.of("passthrough");
        }

        /** When set, counters() waits for it: a unit whose loop is busy for a long time (a CPU-heavy program). */
        volatile java.util.concurrent.CountDownLatch countersGate;
        final java.util.concurrent.atomic.AtomicInteger countersWaiting = new java.util.concurrent.atomic.AtomicInteger();

        @Override
        public Map<String, Long> counters() {
            java.util.concurrent.CountDownLatch gate = countersGate;
            if (gate != null) {
                countersWaiting.incrementAndGet();
                try {
                    gate.await(30, java.util.concurrent.TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                } finally {
                    countersWaiting.decrementAndGet();
                }
            }
            return Map.of("sessions", (long) sessions.size());
        }

        @Override
        public UnitChannel open(SessionPlan plan, AggregationPort aggregation, SessionEvents events) {
            if (plan.program().equals("refuse")) {
                throw new IllegalStateException("the buffer pool cannot reserve " + plan.quotaBytes() + " bytes");
            }
            EchoSession s = new EchoSession(this, plan, events);
            if (sessions.putIfAbsent(plan.id(), s) != null) {
                throw new IllegalStateException("unit " + id + " already serves session " + plan.id());
            }
            s.out = aggregation.attach(plan.id(), id, s);
            return s;
        }

        @Override
        public void validate(SessionPlan plan) {
            if (!plan.parameters().getOrDefault("key", "").matches("[0-9a-f]*")) {
                throw new IllegalArgumentException("key: hex digits only, got '" + plan.parameters().get("key") + "'");
            }
            UnitPort.super.validate(plan);
        }

        @Override
        public void selectScheduler(String name) {
            if (!name.equals("fifo") && !name.equals("drr")) {
                throw new IllegalArgumentException("no packet scheduler '" + name + "' on unit " + id);
            }
            scheduler = name;
        }
    }

    /** One session on an {@link EchoUnit}. */
    static final class EchoSession implements UnitChannel, Credit {
        final EchoUnit unit;
        final SessionPlan plan;
        final SessionEvents events;
        final ConcurrentHashMap.KeySetView<Long, Boolean> received = ConcurrentHashMap.newKeySet();
        final AtomicLong corrupt = new AtomicLong();
        final AtomicLong control = new AtomicLong();
        final AtomicLong atAggregation = new AtomicLong();
        /** Flow of every data datagram received, by sequence; control information by count per flow. */
        final Map<Long, Long> flows = new ConcurrentHashMap<>();
        final Map<Long, Long> controlFlows = new ConcurrentHashMap<>();
        final ArrayDeque<Object[]> held = new ArrayDeque<>();
        final CompletableFuture<Void> closed = new CompletableFuture<>();
        volatile boolean holding;
        AggregationChannel out;

        EchoSession(EchoUnit unit, SessionPlan plan, SessionEvents events) {
            this.unit = unit;
            this.plan = plan;
            this.events = events;
        }

        @Override
        public synchronized void deliver(long sequence, long flow, ByteBuf data, boolean isControl) {
            if (isControl) {
                control.incrementAndGet();
                controlFlows.merge(flow, 1L, Long::sum);
                data.release();
                return;
            }
            if (!received.add(sequence) || !intact(sequence, data)) {
                corrupt.incrementAndGet();
            }
            flows.put(sequence, flow);
            if (holding) {
                held.add(new Object[] {sequence, data, flow});
                return;
            }
            atAggregation.addAndGet(data.readableBytes());
            out.deliver(sequence, flow, data); // the result leaves on the flow it came in on
            if (unit.acknowledging) {
                out.processed(sequence);
            }
        }

        /** Reports the session congested and holds what arrives. */
        synchronized void congest() {
            holding = true;
            events.congestion(unit.id, true);
        }

        /** Sends on what it held and reports the session clear. */
        synchronized void clear() {
            holding = false;
            Object[] h;
            while ((h = held.poll()) != null) {
                ByteBuf b = (ByteBuf) h[1];
                atAggregation.addAndGet(b.readableBytes());
                out.deliver((Long) h[0], (Long) h[2], b);
            }
            events.congestion(unit.id, false);
        }

        @Override
        public void release(int bytes) {
            atAggregation.addAndGet(-bytes);
        }

        @Override
        public CompletionStage<Void> close() {
            CompletableFuture.runAsync(() -> {
                try {
                    await("results of session " + plan.id() + " credited", () -> atAggregation.get() == 0, 30);
                    unit.sessions.remove(plan.id(), this);
                    closed.complete(null);
                } catch (Throwable t) {
                    closed.completeExceptionally(t);
                }
            });
            return closed;
        }

        @Override
        public Map<String, Long> counters() {
            return Map.of("datagrams_in", (long) received.size());
        }
    }

    /** An aggregation unit that checks and collects results, returning credit at once or when told. */
    static class CollectingAggregation implements AggregationPort {
        final Set<SessionId> open = ConcurrentHashMap.newKeySet();
        final Map<SessionId, Set<Long>> results = new ConcurrentHashMap<>();
        /** The flow of every result, by sequence. */
        final Map<Long, Long> flows = new ConcurrentHashMap<>();
        final AtomicLong duplicates = new AtomicLong();
        final AtomicLong corrupt = new AtomicLong();
        final CopyOnWriteArrayList<UnitId> attached = new CopyOnWriteArrayList<>();
        final ConcurrentHashMap<Credit, AtomicLong> withheld = new ConcurrentHashMap<>();
        volatile boolean withholdCredit;

        @Override
        public AggregationChannel attach(SessionId session, UnitId unit, Credit credit) {
            if (!open.contains(session)) {
                throw new NoSuchElementException("session " + session + " is not open at the aggregation unit");
            }
            attached.add(unit);
            Set<Long> got = results.computeIfAbsent(session, k -> ConcurrentHashMap.newKeySet());
            return (seq, flow, data) -> {
                int len = data.readableBytes();
                flows.put(seq, flow);
                if (!intact(seq, data)) {
                    corrupt.incrementAndGet();
                }
                if (!got.add(seq)) {
                    duplicates.incrementAndGet();
                }
                data.release();
                if (withholdCredit) {
                    withheld.computeIfAbsent(credit, c -> new AtomicLong()).addAndGet(len);
                } else {
                    credit.release(len);
                }
            };
        }

        void returnWithheld() {
            withholdCredit = false;
            withheld.forEach((c, n) -> c.release((int) n.getAndSet(0)));
        }

        @Override
        public String strategy() {
            return "collect";
        }

        @Override
        public void selectStrategy(String name) {
            throw new UnsupportedOperationException();
        }

        @Override
        public CompletionStage<Void> open(SessionPlan plan) {
            open.add(plan.id());
            return CompletableFuture.completedFuture(null);
        }

        @Override
        public CompletionStage<Map<String, Long>> close(SessionId session) {
            open.remove(session);
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

    /** Records what a distribution unit would learn about a session. */
    static final class RecordingEvents implements SessionEvents {
        final AtomicLong congestedNow = new AtomicLong();
        final AtomicLong congestionReports = new AtomicLong();
        final AtomicLong clearReports = new AtomicLong();

        @Override
        public void congestion(UnitId unit, boolean congested) {
            if (congested) {
                congestionReports.incrementAndGet();
                congestedNow.incrementAndGet();
            } else {
                clearReports.incrementAndGet();
                congestedNow.decrementAndGet();
            }
        }

        @Override
        public void control(UnitId from, ByteBuf data) {
            data.release();
        }
    }
}
