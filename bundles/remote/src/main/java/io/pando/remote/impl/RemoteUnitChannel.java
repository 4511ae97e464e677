package io.pando.remote.impl;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.pando.api.unit.UnitId;
import io.pando.artp.ArtpConnection;
import io.pando.artp.ArtpCounter;
import io.pando.artp.ArtpStats;
import io.pando.artp.ErrorCode;
import io.pando.link.SessionEvents;
import io.pando.link.SessionPlan;
import io.pando.link.UnitChannel;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.LongAdder;

/**
 * One session on one remote unit, as the distribution unit holds it: datagrams go over one ARTP connection to the
 * unit node's {@code UnitServer}, with the {@link DataPrefix} in front; administration goes over the node's
 * control connection.
 *
 * <p><b>Back-pressure.</b> When the connection's send queue passes its high-water mark (the unit node stopped
 * granting credit because the unit is over the session's quota, or the network is slow), the session is reported
 * congested to the distribution unit, which pauses the sender; it is reported clear when the queue is below its
 * low-water mark again. Nothing is refused meanwhile: what the sender was already granted is queued.
 *
 * <p><b>Failure.</b> When the unit was attached through the distribution unit's port ({@link ResultAttachments}),
 * the distribution unit retains every data datagram until the unit acknowledges it; a datagram that can no longer be
 * sent (the connection ended: the unit node died, or ARTP gave up on it) then makes {@link #deliver} throw, which
 * tells the distribution unit that the unit is dead, at the next datagram rather than at the next poll. Otherwise
 * the datagram is counted as lost ({@code remote_lost}). Such a channel is also watched for a node that hangs
 * ({@link RemoteNode}'s stall check, which reads {@link #outstanding} and the link's counters and {@link #stalled
 * resets} the connection): the ingress loop's only extra cost is one volatile write per data datagram.
 *
 * <p><b>Threads.</b> {@link #deliver} runs on the distribution unit's ingress loop and takes no lock; writability
 * events come on the ARTP endpoint's loop; the congestion flag is the only state they share.
 */
final class RemoteUnitChannel implements UnitChannel {

    private static final Logger LOG = System.getLogger(RemoteUnitChannel.class.getName());

    private final RemoteNode node;
    private final UnitId unit;
    private final SessionPlan plan;
    private final SessionEvents events;
    private final ArtpConnection connection;
    private final ByteBufAllocator alloc;
    /** Where the unit's results enter the distribution unit's channel, until the aggregation server takes it. */
    private final ResultAttachments.Attachment attached;
    private final AtomicBoolean congested = new AtomicBoolean();
    private final LongAdder congestions = new LongAdder();
    private final LongAdder lost = new LongAdder();
    private volatile boolean closing;
    /** The unit's final counters of the session, from the answer to CLOSE. */
    private volatile Map<String, Long> last;

    // written on the ingress loop only (one writer), read by counters() and the stall check
    /** The sequence of the last data datagram given to the unit, {@link #NO_SEQUENCE} before the first. */
    private volatile long lastGiven = NO_SEQUENCE;
    private volatile long sent;
    private volatile long bytesSent;
    private volatile long controlSent;

    RemoteUnitChannel(RemoteNode node, UnitId unit, SessionPlan plan, SessionEvents events, ArtpConnection connection,
            ByteBufAllocator alloc, ResultAttachments.Attachment attached) {
        this.node = node;
        this.unit = unit;
        this.plan = plan;
        this.events = events;
        this.connection = connection;
        this.alloc = alloc;
        this.attached = attached;
    }

    @Override
    public void deliver(long sequence, long flow, ByteBuf data, boolean control) {
        int len = data.readableBytes();
        ByteBuf out = DataPrefix.prefix(alloc, sequence, control ? DataPrefix.CONTROL : 0, flow, data);
        try {
            connection.send(out);
        } catch (RuntimeException e) { // the connection ended; send released the datagram
            if (attached != null && !control) { // the distribution unit kept it: it goes to another unit
                throw new IllegalStateException("the data connection to unit " + unit + " at " + node.address()
                    + " is gone: " + e.getMessage(), e);
            }
            lost.increment();
            long n = lost.sum();
            if (n == 1 || n % 10_000 == 0) {
                LOG.log(Level.WARNING, "session {0}: a datagram for unit {1} was lost, its data connection to {2} "
                    + "is gone: {3} ({4} lost so far)", plan.id(), unit, node.address(), e.getMessage(), n);
            }
            return;
        }
        sent++;
        bytesSent += len;
        if (control) {
            controlSent++;
        } else if (sequence != NO_SEQUENCE) {
            lastGiven = sequence;
        }
        if (!connection.isWritable() && congested.compareAndSet(false, true)) {
            congestions.increment();
            events.congestion(unit, true);
            if (connection.isWritable()) { // it drained before we reported: its event may have gone by
                clear();
            }
        }
    }

    /** ARTP loop: the send queue crossed a water mark. */
    void writabilityChanged() {
        if (connection.isWritable()) {
            clear();
        }
    }

    /** ARTP loop: the connection ended. */
    void closed(ErrorCode code, String reason) {
        if (!closing || code != ErrorCode.NO_ERROR) {
            LOG.log(Level.WARNING, "session {0}: the data connection to unit {1} at {2} ended: {3} {4}", plan.id(),
                unit, node.address(), code, reason);
        }
        clear(); // a dead link must not hold the sender paused for the other units
        node.core().attachments().forget(attached);
        node.ended(this);
    }

    // ---- the stall check (the node's control loop; README, "Failure")

    /** @return whether the distribution unit retains what this unit is given, so a stall can be recovered */
    boolean retained() {
        return attached != null;
    }

    /**
     * @return whether the unit holds something not yet acknowledged: bytes ARTP has not had acknowledged, or a
     *     datagram given after the last one the unit reported processed
     */
    boolean outstanding() {
        return connection.pendingBytes() > 0 || lastGiven != attached.acked();
    }

    /** @return the link's counters now (a snapshot: not for the packet path) */
    ArtpStats linkStats() {
        return connection.stats();
    }

    /** @return how many acknowledgements of processed datagrams came from the unit */
    long acks() {
        return attached.acks();
    }

    /**
     * The node was declared hung: the data connection is reset, so the next datagram for the unit throws at the
     * distribution unit (which then recovers the session, as for a connection that ended).
     */
    void stalled(String why) {
        connection.reset(ErrorCode.IDLE_TIMEOUT, why);
    }

    private void clear() {
        if (congested.compareAndSet(true, false)) {
            events.congestion(unit, false);
        }
    }

    /**
     * Closes in order: the data connection first (everything sent is acknowledged, so it reached the unit), then
     * the session on the unit (which answers once the unit has drained it and its results are out).
     */
    @Override
    public CompletionStage<Void> close() {
        closing = true;
        node.core().attachments().forget(attached);
        node.ended(this);
        return connection.close().thenCompose(v -> node.request(id -> new ControlMessage.Close(id, unit, plan.id())))
            .thenApply(reply -> {
                if (reply instanceof ControlMessage.Error e) {
                    throw new CompletionException(new IllegalStateException("unit " + unit + " on "
                        + node.address() + ": " + e.message()));
                }
                if (reply instanceof ControlMessage.Counters c) {
                    last = c.counters();
                }
                return (Void) null;
            }).toCompletableFuture();
    }

    /** @return the session's accounting on the unit and this link's counters; after close, the final ones */
    @Override
    public Map<String, Long> counters() {
        Map<String, Long> m = new LinkedHashMap<>();
        Map<String, Long> fin = last;
        if (fin != null) {
            m.putAll(fin);
            m.putAll(local());
            return m;
        }
        try {
            ControlMessage reply = node.call(id -> new ControlMessage.SessionCounters(id, unit, plan.id()));
            if (reply instanceof ControlMessage.Counters c) {
                m.putAll(c.counters());
            }
        } catch (RuntimeException e) {
            m.put("remote_unreachable", 1L);
        }
        m.putAll(local());
        return m;
    }

    private Map<String, Long> local() {
        Map<String, Long> m = new LinkedHashMap<>();
        m.put("remote_sent", sent);
        m.put("remote_bytes_sent", bytesSent);
        m.put("remote_control_sent", controlSent);
        m.put("remote_lost", lost.sum() + connection.stats().get(ArtpCounter.DATAGRAMS_ABANDONED));
        m.put("remote_congestions", congestions.sum());
        m.put("remote_congested", congested.get() ? 1L : 0L);
        Map<String, Long> artp = connection.stats().toMap();
        for (String k : new String[] {"retransmitted", "lost", "srtt_us", "cwnd", "bytes_in_flight"}) {
            Long v = artp.get(k);
            if (v != null) {
                m.put("remote_link_" + k, v);
            }
        }
        m.put("remote_link_pending_bytes", connection.pendingBytes());
        return m;
    }
}
