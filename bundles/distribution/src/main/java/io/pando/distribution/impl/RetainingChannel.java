package io.pando.distribution.impl;

import io.netty.buffer.ByteBuf;
import io.pando.api.session.SessionId;
import io.pando.api.unit.UnitId;
import io.pando.link.AggregationChannel;
import io.pando.link.AggregationPort;
import io.pando.link.Credit;
import io.pando.link.SessionHandover;
import io.pando.link.SessionPlan;
import io.pando.link.UnitChannel;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One session on one unit, with the datagrams the unit was given and has not acknowledged (io.pando.link,
 * "Failure"): the distribution unit's side of failure recovery.
 *
 * <p><b>Retention.</b> Each data datagram handed to the unit is kept by one more reference (no copy, no allocation:
 * the ring's arrays grow by doubling and are reused) with its sequence, flow, offset and length, in the order the
 * unit was given them. The unit acknowledges cumulatively through the {@link AggregationChannel} it attached with
 * ({@link Acks#processed}): a volatile write on the unit's thread; the ingress loop applies it when it next hands this
 * unit a datagram or on its sweep, releasing every entry up to the one acknowledged. Over half the session's quota
 * retained reports the session congested (the sender gets no ARTP credit, {@code retention_pauses}); under a quarter
 * clears it; what the sender was already granted is still retained (never dropped).
 *
 * <p><b>Failure.</b> {@link #fence()} stops the unit's results from reaching the aggregation unit; then
 * {@link #takeUnfinished} gives back what must be processed again: every retained datagram after the last one whose
 * results reached the aggregation unit. Results are handed on in the order the unit processes datagrams, which is
 * the order it was given them, so the datagram of the unit's last result before the fence is the only one that may
 * be half done: it is given again with the number of results to suppress (those already handed on).
 *
 * <p><b>Threads.</b> The ring is used on the ingress loop only. {@link Acks} runs on the unit's thread and shares
 * with the loop only volatile fields (for a unit on another node, the thread is the aggregation server's, which hands
 * the unit's results on in the order the unit handed them over). A unit that does not attach through the port it is
 * given never acknowledges here, so nothing is retained for it ({@link #retaining} stays false).
 */
final class RetainingChannel implements UnitChannel {

    private static final int INITIAL = 64;
    private static final long[] NO_LONGS = new long[0];
    private static final int[] NO_INTS = new int[0];
    private static final ByteBuf[] NO_BUFS = new ByteBuf[0];

    final UnitId unit;
    final IngressSession session;
    private volatile UnitChannel delegate;
    /** Whether the unit attached through our port: only then do its acknowledgements come here. */
    private volatile boolean retaining;
    /** The unit was declared dead: its results are dropped, it gets nothing more. */
    private volatile boolean fenced;
    /** The last acknowledgement (unit thread writes). */
    private volatile long acked = NO_SEQUENCE;
    /** The sequence of the unit's last result handed on and how many results it had (unit thread writes). */
    private volatile long lastResultSeq = NO_SEQUENCE;
    private volatile int lastResultCount;
    /** Whether this channel waits in the ingress loop's sweep queue for its acknowledgement to be applied. */
    final java.util.concurrent.atomic.AtomicBoolean sweepQueued = new java.util.concurrent.atomic.AtomicBoolean();

    // ingress loop; the ring's arrays are allocated with the first datagram retained (an idle session has none)
    private long[] seqs = NO_LONGS;
    private long[] flows = NO_LONGS;
    private ByteBuf[] bufs = NO_BUFS;
    private int[] offsets = NO_INTS;
    private int[] lengths = NO_INTS;
    private int head;
    private int size;
    private long bytes;
    private long ackApplied = NO_SEQUENCE;
    private boolean congested;

    RetainingChannel(UnitId unit, IngressSession session) {
        this.unit = unit;
        this.session = session;
    }

    /**
     * Opens the session on a unit through this channel: the unit gets a port whose attach wraps the aggregation
     * unit's channel, so that its acknowledgements and results pass here.
     */
    static RetainingChannel open(io.pando.link.UnitPort port, SessionPlan plan, AggregationPort aggregation,
            IngressSession session, boolean forHandover) {
        RetainingChannel c = new RetainingChannel(port.id(), session);
        AggregationPort acking = new AckingPort(aggregation, c);
        c.delegate = forHandover ? port.openForHandover(plan, acking, session) : port.open(plan, acking, session);
        return c;
    }

    UnitChannel delegate() {
        return delegate;
    }

    // ---- the packet path (ingress loop)

    @Override
    public void deliver(long sequence, long flow, ByteBuf data, boolean control) {
        if (retaining && !control && sequence != NO_SEQUENCE) {
            if (acked != ackApplied) {
                applyAcks();
            }
            add(sequence, flow, data);
        }
        try {
            delegate.deliver(sequence, flow, data, control);
        } catch (RuntimeException e) { // a unit whose channel throws is dead to us: what it had is given again
            session.core.unitFailed(unit, "unit " + unit + " refused a datagram: " + e);
        }
    }

    private void add(long sequence, long flow, ByteBuf data) {
        if (size == seqs.length) {
            grow();
        }
        int i = (head + size) & (seqs.length - 1);
        int len = data.readableBytes();
        seqs[i] = sequence;
        flows[i] = flow;
        bufs[i] = data.retain();
        offsets[i] = data.readerIndex();
        lengths[i] = len;
        size++;
        bytes += len;
        session.retained(len);
        if (!congested && bytes > session.plan.quotaBytes() / 2) {
            congested = true;
            session.retentionPauses++;
            session.congestion(unit, true);
        }
    }

    private void grow() {
        int n = Math.max(INITIAL, seqs.length * 2);
        long[] s = new long[n];
        long[] f = new long[n];
        ByteBuf[] b = new ByteBuf[n];
        int[] o = new int[n];
        int[] l = new int[n];
        for (int k = 0; k < size; k++) {
            int i = (head + k) & (seqs.length - 1);
            s[k] = seqs[i];
            f[k] = flows[i];
            b[k] = bufs[i];
            o[k] = offsets[i];
            l[k] = lengths[i];
        }
        seqs = s;
        flows = f;
        bufs = b;
        offsets = o;
        lengths = l;
        head = 0;
    }

    /** Ingress loop: releases every entry up to the one last acknowledged. */
    void applyAcks() {
        long a = acked;
        if (a == ackApplied) {
            return;
        }
        ackApplied = a;
        int at = indexOf(a);
        if (at >= 0) {
            for (int k = 0; k <= at; k++) {
                pop();
            }
        }
        if (congested && bytes < session.plan.quotaBytes() / 4) {
            congested = false;
            session.congestion(unit, false);
        }
    }

    /** @return the position (from the head) of the entry with that sequence, or -1 */
    private int indexOf(long sequence) {
        for (int k = 0; k < size; k++) {
            if (seqs[(head + k) & (seqs.length - 1)] == sequence) {
                return k;
            }
        }
        return -1;
    }

    private void pop() {
        int i = head;
        bufs[i].release();
        bufs[i] = null;
        bytes -= lengths[i];
        session.released(lengths[i]);
        head = (head + 1) & (seqs.length - 1);
        size--;
    }

    /** Ingress loop: the session ended on this unit (closed or moved away): nothing more needs keeping. */
    void releaseAll() {
        while (size > 0) {
            pop();
        }
        if (congested) {
            congested = false;
            session.congestion(unit, false);
        }
    }

    /** @return how many datagrams are retained (ingress loop) */
    int retainedCount() {
        return size;
    }

    // ---- failure (ingress loop)

    /** The unit is dead: its later results are dropped and counted, and it is given nothing more. */
    void fence() {
        fenced = true;
    }

    /** A datagram to give another unit, with the number of its results the aggregation unit already has. */
    record Unfinished(long sequence, long flow, ByteBuf data, int suppress) {
    }

    /**
     * Ingress loop, after {@link #fence()}: hands back what the dead unit had not finished, in the order it was
     * given them, and releases the rest (counted in {@code recovered_already_delivered}); the retention is empty
     * afterwards. Each {@link Unfinished#data()} is a retained slice the caller owns.
     */
    List<Unfinished> takeUnfinished() {
        applyAcks();
        long last = lastResultSeq;
        int partial = indexOf(last); // its results were (partly) handed on, and all of those before it
        List<Unfinished> out = new ArrayList<>(Math.max(0, size - Math.max(partial, 0)));
        for (int k = 0; size > 0; k++) {
            int i = head;
            if (k < partial) {
                session.recoveredDelivered++;
            } else {
                out.add(new Unfinished(seqs[i], flows[i], bufs[i].retainedSlice(offsets[i], lengths[i]),
                    k == partial ? lastResultCount : 0));
            }
            pop();
        }
        if (congested) {
            congested = false;
            session.congestion(unit, false);
        }
        return out;
    }

    // ---- the rest passes through

    @Override
    public CompletionStage<Void> close() {
        CompletionStage<Void> c = delegate.close();
        c.whenComplete((v, e) -> session.core.ingressLoop().execute(this::releaseAll));
        return c;
    }

    @Override
    public CompletionStage<SessionHandover> handOver() {
        return delegate.handOver();
    }

    @Override
    public void takeOver(SessionHandover handover) {
        delegate.takeOver(handover);
    }

    @Override
    public Map<String, Long> counters() {
        return delegate.counters();
    }

    @Override
    public String toString() {
        return "session " + session.id + " on unit " + unit;
    }

    /** The aggregation unit as the unit sees it: attaching marks the channel as acknowledging. */
    private static final class AckingPort implements AggregationPort {

        private final AggregationPort aggregation;
        private final RetainingChannel channel;

        AckingPort(AggregationPort aggregation, RetainingChannel channel) {
            this.aggregation = aggregation;
            this.channel = channel;
        }

        @Override
        public AggregationChannel attach(SessionId session, UnitId unit, Credit credit) {
            AggregationChannel real = aggregation.attach(session, unit, credit);
            channel.retaining = true;
            return new Acks(real, channel);
        }

        @Override
        public String strategy() {
            return aggregation.strategy();
        }

        @Override
        public void selectStrategy(String name) {
            aggregation.selectStrategy(name);
        }

        @Override
        public CompletionStage<Void> open(SessionPlan plan) {
            return aggregation.open(plan);
        }

        @Override
        public CompletionStage<Map<String, Long>> close(SessionId session) {
            return aggregation.close(session);
        }

        @Override
        public Map<String, Long> counters(SessionId session) {
            return aggregation.counters(session);
        }

        @Override
        public Map<String, Long> reorder(SessionId session) {
            return aggregation.reorder(session);
        }

        @Override
        public Map<String, Long> counters() {
            return aggregation.counters();
        }
    }

    /**
     * One unit's results on their way to the aggregation unit (the unit's thread): notes the last result's sequence,
     * drops what a dead unit still sends and what a resend would give twice, and takes the acknowledgements.
     */
    private static final class Acks implements AggregationChannel {

        private final AggregationChannel aggregation;
        private final RetainingChannel channel;
        private final IngressSession session;

        Acks(AggregationChannel aggregation, RetainingChannel channel) {
            this.aggregation = aggregation;
            this.channel = channel;
            this.session = channel.session;
        }

        @Override
        public void deliver(long sequence, long flow, ByteBuf data) {
            RetainingChannel c = channel;
            if (c.fenced) {
                session.lateFromFailedUnit.increment();
                data.release();
                return;
            }
            if (sequence != NO_SEQUENCE) {
                if (sequence == c.lastResultSeq) {
                    c.lastResultCount++;
                } else {
                    c.lastResultCount = 1;
                    c.lastResultSeq = sequence;
                }
                Map<Long, AtomicInteger> suppress = session.suppress;
                if (!suppress.isEmpty() && suppressed(suppress, sequence)) {
                    session.duplicatesSuppressed.increment();
                    data.release();
                    return;
                }
            }
            aggregation.deliver(sequence, flow, data);
        }

        private static boolean suppressed(Map<Long, AtomicInteger> suppress, long sequence) {
            AtomicInteger left = suppress.get(sequence);
            if (left == null) {
                return false;
            }
            int n = left.decrementAndGet();
            if (n <= 0) {
                suppress.remove(sequence, left);
            }
            return n >= 0;
        }

        @Override
        public void processed(long sequence) {
            if (!channel.fenced) {
                channel.acked = sequence;
                if (!channel.sweepQueued.get() && channel.sweepQueued.compareAndSet(false, true)) {
                    channel.session.core.ackPending(channel); // once per sweep, not per acknowledgement
                }
            }
            aggregation.processed(sequence);
        }
    }
}
