package io.pando.unit.impl;

import io.netty.buffer.ByteBuf;
import io.pando.api.program.ActiveProgram;
import io.pando.api.session.Flow;
import io.pando.api.session.FlowId;
import io.pando.api.session.SessionId;
import io.pando.link.AggregationChannel;
import io.pando.link.Credit;
import io.pando.link.SessionEvents;
import io.pando.link.SessionHandover;
import io.pando.link.SessionPlan;
import io.pando.link.UnitChannel;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/**
 * One session on one unit: the distribution unit's {@link UnitChannel} and the aggregation unit's
 * {@link Credit}. Its account in the unit's buffer pool covers every byte of the session the unit is
 * responsible for: inputs not yet processed and results not yet sent on by the aggregation unit.
 *
 * <p>Fields marked "loop" are used on the unit's thread only; the account and the congestion flag are atomic
 * because the distribution unit charges it and the aggregation unit releases it from their own threads.
 */
final class UnitSession implements UnitChannel, Credit {

    final UnitCore core;
    final SessionPlan plan;
    final SessionId id;
    final SessionEvents events;
    final long quota;
    /** The session's flows, ascending, as numbers and as the ids handed to the program (made once). */
    final long[] flowNumbers;
    final FlowId[] flowIds;
    final List<FlowId> flows;
    AggregationChannel output;

    private final AtomicLong held = new AtomicLong();
    private final AtomicLong highWater = new AtomicLong();
    private final AtomicBoolean congested = new AtomicBoolean();
    final AtomicLong atAggregation = new AtomicLong();
    private final LongAdder quotaOverflows = new LongAdder();
    private final LongAdder pushbacks = new LongAdder();
    private final LongAdder lostStopped = new LongAdder();
    private final LongAdder unknownFlow = new LongAdder();
    private final AtomicBoolean unknownFlowLogged = new AtomicBoolean();

    // loop
    ActiveProgram program;
    ProgramFactory programFactory;
    /** The session's sandbox when its program runs in a process (else null). */
    SandboxRunner sandbox;
    /** Completes when the program can take datagrams the first time (its sandbox said READY). */
    final CompletableFuture<Void> started = new CompletableFuture<>();
    /** Sized small: an idle session holds little, and these grow (amortised) with the first burst. */
    final ArrayDeque<Work> waiting = new ArrayDeque<>(2);
    final ArrayDeque<Work> out = new ArrayDeque<>(2);
    final Map<String, byte[]> state = new HashMap<>();
    final SessionTimers timers = new SessionTimers(this);
    /** The ingress sequence of the last datagram the program processed: what its timers' results carry. */
    long lastSequence;
    /** In the unit's list of sessions with queued work or a sandbox (UnitCore#sampleCpu). */
    boolean listedBusy;
    long stateBytes;
    volatile boolean closing;
    final CompletableFuture<Void> closed = new CompletableFuture<>();
    long datagramsIn;
    long bytesIn;
    long controlIn;
    long datagramsOut;
    long bytesOut;
    long controlSent;
    long cpuNanos;
    long programErrors;
    long programSwaps;
    long overBudgetCompleted;
    final long budgetNanos;
    String isolation = "";
    long lostAfterClose;
    String lastError = "";
    /** Migration in: the program waits for {@link #takeOver}; datagrams are held in {@link #waiting} meanwhile. */
    boolean awaitingHandover;
    /** Datagrams (and control information) held while awaiting the hand-over. */
    long heldForHandover;
    /** Migration out: completes with what the program kept once everything delivered before was processed. */
    CompletableFuture<SessionHandover> handover;
    /** Migration out: the state left; whatever arrives now is counted and released. */
    boolean handedOver;
    long lateAfterHandover;
    long timersHandedOver;
    long timersTakenOver;
    // acknowledgements (loop; io.pando.link "Failure"): two checkpoints, each a processed datagram and the number of
    // results emitted up to it; it is acknowledged once that many results were handed to the aggregation channel
    /** Results emitted (queued) and results handed to {@link #output}. */
    long emitted;
    long handed;
    long ackSeq = UnitChannel.NO_SEQUENCE;
    long ackAfter;
    long nextAckSeq = UnitChannel.NO_SEQUENCE;
    long nextAckAfter;
    /** The newest acknowledgement not yet told, and whether the unit's flush has the session queued. */
    long readyAck = UnitChannel.NO_SEQUENCE;
    boolean ackQueued;
    long acknowledgements;

    UnitSession(UnitCore core, SessionPlan plan, SessionEvents events) {
        this.core = core;
        this.plan = plan;
        this.id = plan.id();
        this.events = events;
        this.quota = plan.quotaBytes();
        this.budgetNanos = plan.execution().cpuBudgetMicros() * 1000;
        List<Flow> f = plan.flows();
        this.flowNumbers = new long[f.size()];
        this.flowIds = new FlowId[f.size()];
        for (int i = 0; i < flowIds.length; i++) {
            flowIds[i] = f.get(i).id();
            flowNumbers[i] = flowIds[i].value();
        }
        this.flows = List.of(flowIds);
    }

    /**
     * Loop: the program is done with the datagram numbered {@code sequence} (its results, if any, are queued); it is
     * acknowledged once every result queued so far was handed to the aggregation channel.
     */
    void processed(long sequence) {
        if (sequence == UnitChannel.NO_SEQUENCE) {
            return;
        }
        if (ackSeq == UnitChannel.NO_SEQUENCE) {
            ackSeq = sequence;
            ackAfter = emitted;
        } else { // the newer one replaces any other waiting behind the first: acknowledgements are cumulative
            nextAckSeq = sequence;
            nextAckAfter = emitted;
        }
        checkAcknowledged();
    }

    /** Loop: after results were handed on: the checkpoints they complete become ready to tell. */
    void checkAcknowledged() {
        while (ackSeq != UnitChannel.NO_SEQUENCE && handed >= ackAfter) {
            readyAck = ackSeq;
            ackSeq = nextAckSeq;
            ackAfter = nextAckAfter;
            nextAckSeq = UnitChannel.NO_SEQUENCE;
            if (!ackQueued) {
                ackQueued = true;
                core.acknowledgeLater(this);
            }
        }
    }

    /** @return the session's id of flow {@code flow} (the cached object), or null if it has no such flow */
    FlowId flowId(long flow) {
        int i = Arrays.binarySearch(flowNumbers, flow);
        return i < 0 ? null : flowIds[i];
    }

    /** @return the session's flow numbers, for messages */
    String flowList() {
        return Arrays.toString(flowNumbers);
    }

    /**
     * {@inheritDoc}
     *
     * <p>A datagram of a flow the plan does not have is released and counted ({@code unknown_flow}; the first one
     * is logged with the session's flows): the distribution unit drops those at the ingress, so it is a bug there.
     */
    @Override
    public void deliver(long sequence, long flow, ByteBuf data, boolean control) {
        FlowId f = flowId(flow);
        if (f == null) {
            unknownFlow.increment();
            data.release();
            if (unknownFlowLogged.compareAndSet(false, true)) {
                System.getLogger(UnitSession.class.getName()).log(System.Logger.Level.WARNING,
                    "unit {0}: session {1} has no flow {2} (its flows: {3}); such datagrams are dropped and counted "
                        + "(unknown_flow)", core.id(), id, Long.toUnsignedString(flow), flowList());
            }
            return;
        }
        int len = data.readableBytes();
        charge(len);
        Work w = Work.of(this, sequence, f, data, control);
        try {
            core.execute(w);
        } catch (java.util.concurrent.RejectedExecutionException e) { // the unit stopped under the session
            lostStopped.increment();
            w.recycle();
            data.release();
            uncharge(len);
        }
    }

    @Override
    public CompletionStage<Void> close() {
        if (core.isStopped()) {
            return closed; // completed when the unit stopped
        }
        core.execute(() -> {
            closing = true;
            core.checkClosed(this);
        });
        return closed;
    }

    @Override
    public CompletionStage<SessionHandover> handOver() {
        if (core.isStopped()) {
            return CompletableFuture.failedFuture(new IllegalStateException("unit " + core.id() + " has stopped"));
        }
        CompletableFuture<SessionHandover> f = new CompletableFuture<>();
        core.execute(() -> core.handOver(this, f));
        return f;
    }

    @Override
    public void takeOver(SessionHandover handover) {
        java.util.Objects.requireNonNull(handover, "handover");
        core.onLoop(() -> {
            core.takeOver(this, handover);
            return null;
        });
    }

    @Override
    public Map<String, Long> counters() {
        return core.isStopped() ? snapshot() : core.onLoop(this::snapshot);
    }

    @Override
    public void release(int bytes) {
        atAggregation.addAndGet(-bytes);
        core.linkReleased(bytes, closing);
        uncharge(bytes);
    }

    /**
     * Charges bytes to the session's account. Above half its quota the session is reported congested (its
     * sender stops getting credit), so that what the sender was already granted fits in the other half; what
     * still goes beyond the quota is accepted and counted as an overflow.
     */
    void charge(int bytes) {
        long h = held.addAndGet(bytes);
        core.poolCharged(bytes);
        if (h > highWater.get()) {
            highWater.accumulateAndGet(h, Math::max);
        }
        if (h > quota / 2) {
            if (h > quota) {
                quotaOverflows.increment();
            }
            if (!congested.get() && congested.compareAndSet(false, true)) {
                pushbacks.increment();
                events.congestion(core.id(), true);
            }
        }
    }

    /** Returns bytes to the pool; reports the session clear once it is down to a quarter of its quota. */
    void uncharge(int bytes) {
        long h = held.addAndGet(-bytes);
        core.poolCharged(-bytes);
        if (h <= quota / 4 && congested.get() && congested.compareAndSet(true, false)) {
            events.congestion(core.id(), false);
        }
    }

    long held() {
        return held.get();
    }

    boolean drained() {
        return waiting.isEmpty() && out.isEmpty() && atAggregation.get() == 0
            && (sandbox == null || sandbox.idle());
    }

    /** Loop: the session's accounting. */
    Map<String, Long> snapshot() {
        Map<String, Long> m = new LinkedHashMap<>();
        m.put("datagrams_in", datagramsIn);
        m.put("bytes_in", bytesIn);
        m.put("control_in", controlIn);
        m.put("datagrams_out", datagramsOut);
        m.put("bytes_out", bytesOut);
        m.put("control_sent", controlSent);
        m.put("cpu_ns", cpuNanos);
        m.put("program_errors", programErrors);
        m.put("program_swaps", programSwaps);
        m.put("waiting_for_program", (long) waiting.size());
        m.put("queued_results", (long) out.size());
        m.put("acknowledgements", acknowledgements);
        m.put("buffer_bytes", held.get());
        m.put("buffer_high_water", highWater.get());
        m.put("quota_bytes", quota);
        m.put("quota_overflows", quotaOverflows.sum());
        m.put("pushbacks", pushbacks.sum());
        m.put("state_bytes", stateBytes);
        m.put("lost_unit_stopped", lostStopped.sum() + lostAfterClose);
        m.put("unknown_flow", unknownFlow.sum());
        m.put("timers", (long) timers.size());
        m.put("timers_set", timers.set);
        m.put("timers_fired", timers.fired);
        m.put("timers_cancelled", timers.cancelled);
        m.put("timers_discarded", timers.discarded);
        m.put("over_budget_completed", overBudgetCompleted);
        m.put("isolation_process", "process".equals(isolation) ? 1L : 0L);
        m.put("held_for_handover", heldForHandover);
        m.put("late_after_handover", lateAfterHandover);
        m.put("timers_handed_over", timersHandedOver);
        m.put("timers_taken_over", timersTakenOver);
        if (sandbox != null) {
            m.putAll(sandbox.counters());
        }
        return m;
    }

    /**
     * Loop: writes session state ({@code value} is kept, not copied; null removes the key).
     *
     * @throws IllegalArgumentException if the key or the value breaks its limit
     * @throws IllegalStateException if the state would exceed its quota; the state is unchanged
     */
    void putState(String key, byte[] value) {
        if (key == null || key.isEmpty() || key.length() > io.pando.api.program.ProgramContext.MAX_KEY_LENGTH) {
            throw new IllegalArgumentException("a state key has 1 to "
                + io.pando.api.program.ProgramContext.MAX_KEY_LENGTH + " characters");
        }
        byte[] old = state.get(key);
        long without = stateBytes - (old == null ? 0 : old.length + key.length());
        if (value == null) {
            if (old != null) {
                state.remove(key);
                stateBytes = without;
            }
            return;
        }
        if (value.length > UnitCore.MAX_STATE_VALUE) {
            throw new IllegalArgumentException("a state value has at most " + UnitCore.MAX_STATE_VALUE
                + " bytes, got " + value.length);
        }
        long next = without + value.length + key.length();
        if (next > UnitCore.MAX_STATE_BYTES) {
            throw new IllegalStateException("session state is limited to " + UnitCore.MAX_STATE_BYTES + " bytes; "
                + "this write would make it " + next);
        }
        state.put(key, value);
        stateBytes = next;
    }
}
