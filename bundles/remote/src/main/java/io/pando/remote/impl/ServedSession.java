package io.pando.remote.impl;

import io.netty.buffer.ByteBuf;
import io.pando.api.session.SessionId;
import io.pando.api.unit.UnitId;
import io.pando.artp.ArtpConnection;
import io.pando.link.SessionEvents;
import io.pando.link.SessionPlan;
import io.pando.link.UnitChannel;
import io.pando.link.UnitPort;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * One session on one local unit, served to a distribution unit on another node: the unit's {@link UnitChannel},
 * the ARTP data connection that feeds it, and the {@link SessionEvents} the unit reports to.
 *
 * <p><b>Back-pressure.</b> When the unit reports the session congested, the data connection stops granting the
 * distribution node credit ({@link ArtpConnection#pauseReceiving()}); the distribution node's send queue then
 * fills, and it reports the session congested to its own distribution unit, which pauses the sender. Every
 * report only sets the wanted state and schedules one task on the connection's loop that applies the current
 * state, so reports from different threads cannot be applied out of order.
 *
 * <p>Fields marked "loop" are used on the data endpoint's event loop only.
 */
final class ServedSession implements SessionEvents {

    /** Names a served session. */
    record Key(SessionId session, UnitId unit) {
    }

    final UnitServerCore server;
    final Key key;
    final UnitPort unit;
    final SessionPlan plan;
    final ResultLink results;
    final AtomicBoolean closing = new AtomicBoolean();
    final CompletableFuture<Void> closed = new CompletableFuture<>();
    volatile UnitChannel channel;
    /** Completes when the unit closed the session (set once closing starts). */
    volatile CompletableFuture<Void> unitClosed;
    /** The control connection of the distribution node that opened it (admin thread). */
    volatile io.netty.channel.Channel control;
    /** The data connection once its HELLO named this session's unit; null before and after. */
    volatile ArtpConnection connection;
    private volatile boolean congested;
    private final Runnable applyCongestion = this::applyCongestion;

    // loop
    long datagramsIn;
    long bytesIn;
    long controlIn;
    long pauses;

    ServedSession(UnitServerCore server, Key key, UnitPort unit, SessionPlan plan, ResultLink results) {
        this.server = server;
        this.key = key;
        this.unit = unit;
        this.plan = plan;
        this.results = results;
    }

    /** Loop: a datagram from the distribution node, prefix read; ownership passes to the unit. */
    void deliver(long sequence, long flow, ByteBuf data, boolean control) {
        datagramsIn++;
        bytesIn += data.readableBytes();
        if (control) {
            controlIn++;
        }
        channel.deliver(sequence, flow, data, control);
    }

    @Override
    public void congestion(UnitId unit, boolean on) {
        congested = on;
        ArtpConnection c = connection;
        if (c != null) {
            c.eventLoop().execute(applyCongestion);
        }
    }

    /** Loop: pause or resume the data connection to match the unit's report. */
    void applyCongestion() {
        ArtpConnection c = connection;
        if (c == null) {
            return;
        }
        if (congested) {
            if (!c.isReceivingPaused()) {
                c.pauseReceiving();
                pauses++;
            }
        } else if (c.isReceivingPaused()) {
            c.resumeReceiving();
        }
    }

    boolean congested() {
        return congested;
    }

    /**
     * The session's program sent control information to its instances on other units. Not carried across nodes
     * yet: counted and released.
     */
    @Override
    public void control(UnitId from, ByteBuf data) {
        data.release();
        server.controlNotForwarded(this);
    }

    /** Loop: this link's counters. */
    Map<String, Long> linkCounters() {
        Map<String, Long> m = new LinkedHashMap<>();
        m.put("link_datagrams_in", datagramsIn);
        m.put("link_bytes_in", bytesIn);
        m.put("link_control_in", controlIn);
        m.put("link_pauses", pauses);
        m.put("link_congested", congested ? 1L : 0L);
        m.put("link_connected", connection != null ? 1L : 0L);
        return m;
    }
}
