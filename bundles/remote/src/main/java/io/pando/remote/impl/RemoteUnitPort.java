package io.pando.remote.impl;

import io.pando.api.unit.UnitId;
import io.pando.api.unit.UnitLoad;
import io.pando.artp.ArtpConnection;
import io.pando.link.AggregationPort;
import io.pando.link.SessionEvents;
import io.pando.link.SessionPlan;
import io.pando.link.UnitChannel;
import io.pando.link.UnitPort;
import io.pando.remote.impl.ControlMessage.UnitState;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * A unit on another node, registered here as a {@link UnitPort} service so the distribution unit uses it like a
 * local one. Its load, programs and scheduler are what the node reported at the last poll (every 100 ms by
 * default); everything else is a request over the node's control connection.
 */
final class RemoteUnitPort implements UnitPort {

    private final RemoteNode node;
    private final UnitId id;
    private volatile UnitState state;

    RemoteUnitPort(RemoteNode node, UnitState state) {
        this.node = node;
        this.id = state.id();
        this.state = state;
    }

    void update(UnitState s) {
        state = s;
    }

    @Override
    public UnitId id() {
        return id;
    }

    @Override
    public String location() {
        return node.address().location();
    }

    @Override
    public UnitLoad load() {
        return state.load();
    }

    @Override
    public String scheduler() {
        return state.scheduler();
    }

    @Override
    public Set<String> programs() {
        return state.programs();
    }

    /**
     * @return the unit's totals, its unit server's ({@code unit_server_*}) and those of this node's link to it
     *     ({@code remote_node_*})
     */
    @Override
    public Map<String, Long> counters() {
        try {
            ControlMessage reply = node.call(rid -> new ControlMessage.UnitCounters(rid, id));
            if (reply instanceof ControlMessage.Counters c) {
                Map<String, Long> m = new java.util.LinkedHashMap<>(c.counters());
                node.counters().forEach((k, v) -> m.put("remote_node_" + k, v));
                return m;
            }
        } catch (RuntimeException e) {
            // below
        }
        Map<String, Long> m = new java.util.LinkedHashMap<>();
        m.put("remote_unreachable", 1L);
        node.counters().forEach((k, v) -> m.put("remote_node_" + k, v));
        return m;
    }

    /**
     * Opens the session on the remote unit (it sends its results to this node's aggregation server), then the ARTP
     * data connection, named by a HELLO. If this node's aggregation server takes attachments, the unit is first
     * attached through {@code aggregation} (the distribution unit's port), and the aggregation server hands the
     * unit's results and acknowledgements into that channel: the distribution unit then retains what it gives the
     * unit, as for a local unit.
     *
     * @throws IllegalStateException if the node is unreachable, the unit refuses or the data connection fails
     */
    @Override
    public UnitChannel open(SessionPlan plan, AggregationPort aggregation, SessionEvents events) {
        ResultAttachments attachments = node.core().attachments();
        ResultAttachments.Attachment attached;
        try {
            attached = attachments.attach(aggregation, plan.id(), id);
        } catch (RuntimeException e) {
            throw new IllegalStateException("unit " + id + " on " + location() + ": the aggregation unit refused "
                + "it: " + e.getMessage(), e);
        }
        try {
            return open(plan, events, attached);
        } catch (RuntimeException e) {
            attachments.forget(attached);
            throw e;
        }
    }

    private UnitChannel open(SessionPlan plan, SessionEvents events, ResultAttachments.Attachment attached) {
        ControlMessage reply;
        try {
            reply = node.call(rid -> new ControlMessage.Open(rid, id, plan, node.core().aggregation()));
        } catch (IllegalStateException e) { // unanswered: the unit may still open it; do not leave it behind
            node.request(rid -> new ControlMessage.Close(rid, id, plan.id()));
            throw e;
        }
        if (reply instanceof ControlMessage.Error e) {
            throw new IllegalStateException("unit " + id + " on " + location() + ": " + e.message());
        }
        ArtpConnection c;
        try {
            c = node.core().data().connect(node.address().data(), plan.id().value(), null).toCompletableFuture()
                .get(RemoteNode.REQUEST_TIMEOUT_S, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            node.request(rid -> new ControlMessage.Close(rid, id, plan.id()));
            throw new IllegalStateException("interrupted while connecting to unit " + id, e);
        } catch (ExecutionException | TimeoutException e) {
            node.request(rid -> new ControlMessage.Close(rid, id, plan.id()));
            throw new IllegalStateException("unit " + id + " on " + location() + ": no data connection to "
                + node.address().data() + ": " + (e.getCause() != null ? e.getCause().getMessage() : e), e);
        }
        RemoteUnitChannel channel = new RemoteUnitChannel(node, id, plan, events, c, node.core().alloc(), attached);
        c.attach(channel);
        node.opened(channel);
        try {
            c.send(DataPrefix.hello(node.core().alloc(), id));
        } catch (RuntimeException e) { // the connection ended at once; send released the HELLO
            node.ended(channel);
            node.request(rid -> new ControlMessage.Close(rid, id, plan.id()));
            throw new IllegalStateException("unit " + id + " on " + location() + ": the data connection ended: "
                + e.getMessage(), e);
        }
        return channel;
    }

    /**
     * Asks the unit itself: its program is there and accepts the session's parameters.
     *
     * @throws IllegalArgumentException saying what the unit finds wrong
     * @throws IllegalStateException if the node is unreachable
     */
    @Override
    public void validate(SessionPlan plan) {
        ControlMessage reply = node.call(rid -> new ControlMessage.Validate(rid, id, plan));
        if (reply instanceof ControlMessage.Error e) {
            if (e.code() == ControlMessage.ErrorCode.INVALID) {
                throw new IllegalArgumentException(e.message());
            }
            throw new IllegalStateException("unit " + id + " on " + location() + ": " + e.message());
        }
    }

    /** @throws IllegalArgumentException if the unit has no such scheduler; IllegalStateException if unreachable */
    @Override
    public void selectScheduler(String name) {
        ControlMessage reply = node.call(rid -> new ControlMessage.SelectScheduler(rid, id, name));
        if (reply instanceof ControlMessage.Error e) {
            if (e.code() == ControlMessage.ErrorCode.REFUSED) {
                throw new IllegalArgumentException(e.message());
            }
            throw new IllegalStateException("unit " + id + " on " + location() + ": " + e.message());
        }
    }

    @Override
    public String toString() {
        return "remote unit " + id + " on " + node.address();
    }
}
