package io.pando.distribution.impl;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.pando.api.session.ActiveSession;
import io.pando.api.session.Flow;
import io.pando.api.session.FlowId;
import io.pando.api.session.SessionId;
import io.pando.api.session.SessionState;
import io.pando.api.unit.UnitId;
import io.pando.artp.ArtpConnection;
import io.pando.artp.ControlBlock;
import io.pando.artp.SessionGrant;
import io.pando.link.SessionEvents;
import io.pando.link.SessionPlan;
import io.pando.link.UnitChannel;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A session at the distribution unit: its units, its sender connections and its ingress counters. The
 * counters and the sequence are used on the ingress event loop only.
 */
final class IngressSession implements SessionEvents {

    final DistributionCore core;
    /** Replaced (never changed) when the session migrates. */
    volatile SessionPlan plan;
    final SessionId id;
    final Instant created = Instant.now();
    /** The session's own load-balancing policy, or null for the router's selected one. */
    final String policy;
    /**
     * What the ingress's acceptor answers a sender of this session: keyed with the session's key (a sender must
     * know it) or unkeyed; made once, so the handshake path allocates nothing for it.
     */
    final SessionGrant grant;
    /** The units serving the session; replaced together with {@link #channels} on the ingress loop. */
    volatile List<UnitId> candidates;
    /** The plan's flow ids in ascending order; a flow's index here is its position. */
    final long[] flowIds;
    /** The plan's flows by position, made once so that tagging a datagram allocates nothing. */
    final FlowId[] flows;
    /** Filled before the session is published, then replaced (never changed) when it migrates. */
    volatile Map<UnitId, UnitChannel> channels = new LinkedHashMap<>();
    UnitChannel[] channelArray = new UnitChannel[0];
    volatile ActiveSession active;
    volatile SessionState state = SessionState.ESTABLISHING;
    final List<ArtpConnection> connections = new CopyOnWriteArrayList<>();
    final AtomicInteger congested = new AtomicInteger();
    private final Runnable applyCongestion = this::applyCongestion;

    // ingress loop
    long nextSequence;
    long datagramsIn;
    long bytesIn;
    long controlIn;
    long policyErrors;
    long pauses;
    long lateAfterClose;
    long programFaults;
    long unknownFlow;
    /** Datagrams in (data and control information) by flow position. */
    final long[] flowDatagramsIn;
    long faultNoticesLost;
    /** Control TLV type (Pando range) of a program-fault notice sent to a session's senders. */
    static final int PROGRAM_FAULT = 0x4001;
    int roundRobin;
    volatile boolean forwarding = true;
    /** A migration of the session runs (at most one at a time). */
    final java.util.concurrent.atomic.AtomicBoolean migrating = new java.util.concurrent.atomic.AtomicBoolean();
    // failure recovery (RetainingChannel; ingress loop unless said otherwise)
    long retainedTotal;
    long retainedBytes;
    long retainedBytesHighWater;
    long retentionPauses;
    long unitFailures;
    long resentAfterUnitFailure;
    long recoveredDelivered;
    long heldWithoutUnit;
    long retainedTimedOut;
    long replacements;
    long recoveryNanosMax;
    /** What came (or was given back by a dead unit) while the session had no unit, in order. */
    final java.util.ArrayDeque<Held> held = new java.util.ArrayDeque<>();
    /** Whether the session has no unit and its sender is paused until it gets one. */
    volatile boolean orphaned;
    /** When the session lost its last unit (nanoTime). */
    long orphanedSince;
    /** Results a resend will give the aggregation unit again, by sequence: how many to drop (unit threads). */
    final Map<Long, java.util.concurrent.atomic.AtomicInteger> suppress = new java.util.concurrent.ConcurrentHashMap<>();
    final java.util.concurrent.atomic.LongAdder duplicatesSuppressed = new java.util.concurrent.atomic.LongAdder();
    final java.util.concurrent.atomic.LongAdder lateFromFailedUnit = new java.util.concurrent.atomic.LongAdder();

    /** A datagram held while the session has no unit; {@code data} is owned by the session. */
    record Held(long sequence, long flow, ByteBuf data, boolean control) {
    }

    // admin, under the session's lock
    volatile long migrations;
    volatile long handoverHeld;
    volatile long handoverNanos;

    IngressSession(DistributionCore core, SessionPlan plan, String policy, SessionGrant grant) {
        this.core = core;
        this.plan = plan;
        this.id = plan.id();
        this.policy = policy;
        this.grant = grant;
        this.candidates = plan.units();
        List<Flow> f = plan.flows();
        this.flowIds = new long[f.size()];
        this.flows = new FlowId[f.size()];
        for (int i = 0; i < flowIds.length; i++) {
            flows[i] = f.get(i).id();
            flowIds[i] = flows[i].value();
        }
        this.flowDatagramsIn = new long[flowIds.length];
    }

    /** Ingress loop: a unit's retention took a datagram of {@code len} bytes. */
    void retained(int len) {
        retainedTotal++;
        retainedBytes += len;
        if (retainedBytes > retainedBytesHighWater) {
            retainedBytesHighWater = retainedBytes;
        }
        core.retained(len);
    }

    /** Ingress loop: a unit's retention let a datagram of {@code len} bytes go. */
    void released(int len) {
        retainedBytes -= len;
        core.released(len);
    }

    /**
     * @param flow a flow number
     * @return its position among the session's flows, or -1 if the session has no such flow
     */
    int position(long flow) {
        long[] ids = flowIds;
        if (flow < ids.length && flow >= 0 && ids[(int) flow] == flow) {
            return (int) flow; // flows numbered 0, 1, 2, ...: the usual case
        }
        int i = java.util.Arrays.binarySearch(ids, flow);
        return i >= 0 ? i : -1;
    }

    @Override
    public void congestion(UnitId unit, boolean on) {
        if (on) {
            congested.incrementAndGet();
        } else {
            congested.decrementAndGet();
        }
        core.ingressLoop().execute(applyCongestion);
    }

    /** Ingress loop: pause or resume every sender of the session to match the current congestion. */
    void applyCongestion() {
        boolean pause = congested.get() > 0;
        for (ArtpConnection c : connections) {
            if (pause && !c.isReceivingPaused()) {
                c.pauseReceiving();
                pauses++;
            } else if (!pause && c.isReceivingPaused()) {
                c.resumeReceiving();
            }
        }
    }

    @Override
    public void control(UnitId from, ByteBuf data) {
        control(from, 0, data);
    }

    /** Forwards a program's control information to the session's other units, on the flow it is about. */
    @Override
    public void control(UnitId from, long flow, ByteBuf data) {
        try {
            if (!forwarding) {
                return; // the session is closing: its units take nothing more
            }
            for (Map.Entry<UnitId, UnitChannel> e : channels.entrySet()) {
                if (!e.getKey().equals(from)) {
                    e.getValue().deliver(UnitChannel.NO_SEQUENCE, flow, data.retainedDuplicate(), true);
                }
            }
        } finally {
            data.release();
        }
    }

    /**
     * A unit reports a fault of the session's program: counted, and told to every sender of the session as a
     * control datagram with a {@value #PROGRAM_FAULT} TLV (UTF-8 text; docs/ee.md).
     */
    @Override
    public void programFault(UnitId unit, String reason) {
        String text = "unit " + unit + ": " + reason;
        core.ingressLoop().execute(() -> {
            programFaults++;
            byte[] b = text.getBytes(StandardCharsets.UTF_8);
            int len = Math.min(b.length, 1024);
            for (ArtpConnection c : connections) {
                ByteBuf d = Unpooled.directBuffer(len + 8);
                ControlBlock.writeField(d, PROGRAM_FAULT, Unpooled.wrappedBuffer(b, 0, len));
                ControlBlock.writeEnd(d);
                try {
                    c.sendControl(d);
                } catch (IllegalStateException | IllegalArgumentException e) {
                    faultNoticesLost++; // the connection is closing; the datagram was released
                }
            }
        });
    }

    /** Ingress loop: @return how many datagrams the session's units have not acknowledged */
    long snapshotRetained() {
        long n = 0;
        for (UnitChannel c : channelArray) {
            if (c instanceof RetainingChannel r) {
                n += r.retainedCount();
            }
        }
        return n;
    }

    /** Ingress loop: the session's distribution counters. */
    Map<String, Long> snapshot() {
        Map<String, Long> m = new LinkedHashMap<>();
        m.put("datagrams_in", datagramsIn);
        m.put("bytes_in", bytesIn);
        m.put("control_in", controlIn);
        m.put("policy_errors", policyErrors);
        m.put("pauses", pauses);
        m.put("congested_units", (long) congested.get());
        m.put("connections", (long) connections.size());
        m.put("late_after_close", lateAfterClose);
        m.put("program_faults", programFaults);
        m.put("fault_notices_lost", faultNoticesLost);
        m.put("unknown_flow", unknownFlow);
        m.put("migrations", migrations);
        m.put("handover_held", handoverHeld);
        m.put("handover_us", handoverNanos / 1000);
        m.put("retained", snapshotRetained());
        m.put("retained_total", retainedTotal);
        m.put("retained_bytes", retainedBytes);
        m.put("retained_bytes_high_water", retainedBytesHighWater);
        m.put("retention_pauses", retentionPauses);
        m.put("unit_failures", unitFailures);
        m.put("resent_after_unit_failure", resentAfterUnitFailure);
        m.put("recovered_already_delivered", recoveredDelivered);
        m.put("duplicates_suppressed", duplicatesSuppressed.sum());
        m.put("late_from_failed_unit", lateFromFailedUnit.sum());
        m.put("held_without_unit", heldWithoutUnit);
        m.put("held_now", (long) held.size());
        m.put("retained_timed_out", retainedTimedOut);
        m.put("replacements", replacements);
        m.put("recovery_us_max", recoveryNanosMax / 1000);
        if (flowIds.length > 1) {
            for (int i = 0; i < flowIds.length; i++) {
                m.put("flow_" + flowIds[i] + "_datagrams_in", flowDatagramsIn[i]);
            }
        }
        return m;
    }
}
