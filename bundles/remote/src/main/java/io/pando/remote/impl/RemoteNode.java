package io.pando.remote.impl;

import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOption;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.util.concurrent.ScheduledFuture;
import io.pando.api.unit.UnitId;
import io.pando.artp.ArtpCounter;
import io.pando.artp.ArtpStats;
import io.pando.remote.impl.ControlMessage.UnitState;
import java.io.IOException;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.IntFunction;

/**
 * One unit node as a distribution node sees it: the control connection to its {@code UnitServer}, the requests
 * in flight on it, and a {@link RemoteUnitPort} per unit the node reported.
 *
 * <p><b>Lifecycle.</b> Connects, says HELLO, lists the units and registers their proxies, then polls the list
 * every {@code pollMillis} (loads, programs, schedulers; units that appear or go). When the connection is lost,
 * polls stay unanswered for {@link #DEAD_AFTER_MS}, or the node hangs with datagrams outstanding
 * ({@link #checkStall}, {@code stall.ms}), the node's proxies are unregistered and it reconnects with
 * exponential back-off (100 ms doubling up to {@code maxBackoffMillis}).
 *
 * <p><b>Threads.</b> Connection events and replies on the control event loop; requests from any thread; proxy
 * (un)registration on the owner's registrar thread.
 */
final class RemoteNode {

    private static final Logger LOG = System.getLogger(RemoteNode.class.getName());
    static final long REQUEST_TIMEOUT_S = 10;
    static final long DEAD_AFTER_MS = 3_000;
    private static final long MIN_BACKOFF_MS = 100;

    private final RemoteUnitsCore core;
    private final NodeAddress address;
    private final Map<Integer, CompletableFuture<ControlMessage>> pending = new ConcurrentHashMap<>();
    private final AtomicInteger ids = new AtomicInteger();
    private final Map<UnitId, RemoteUnitPort> units = new ConcurrentHashMap<>();
    private final LongAdder malformedReplies = new LongAdder();
    private final LongAdder unmatchedReplies = new LongAdder();
    private final LongAdder reconnects = new LongAdder();
    private final LongAdder stallDetections = new LongAdder();
    /** The open data connections to this node's units (RemoteUnitChannel adds and removes itself). */
    private final Set<RemoteUnitChannel> channels = ConcurrentHashMap.newKeySet();
    /** The data-path rule for a node that hangs; null when {@code stall.ms} is 0 (control loop only). */
    private final StallDetector stall;
    private volatile Channel channel;
    private volatile boolean stopped;
    private volatile boolean pollInFlight;
    private volatile long lastReplyNanos;
    private volatile String lastFailure = "";
    private long backoffMs = MIN_BACKOFF_MS;
    private ScheduledFuture<?> poll;
    private ScheduledFuture<?> watch;

    RemoteNode(RemoteUnitsCore core, NodeAddress address) {
        this.core = core;
        this.address = address;
        long floor = core.stallMillis();
        this.stall = floor > 0 ? new StallDetector(TimeUnit.MILLISECONDS.toNanos(floor),
            TimeUnit.MILLISECONDS.toNanos(2 * stallCheckMillis(floor))) : null;
    }

    /** @return how often the stall rule is checked: a tenth of its floor, 10 to 100 ms */
    static long stallCheckMillis(long stallMillis) {
        return Math.max(10, Math.min(100, stallMillis / 10));
    }

    NodeAddress address() {
        return address;
    }

    RemoteUnitsCore core() {
        return core;
    }

    boolean connected() {
        return channel != null;
    }

    void start() {
        core.group().execute(this::connect);
    }

    void stop() {
        stopped = true;
        Channel ch = channel;
        if (ch != null) {
            ch.close().syncUninterruptibly();
        }
        core.group().submit(this::disconnected).syncUninterruptibly();
    }

    // ---- connection (control loop)

    private void connect() {
        if (stopped) {
            return;
        }
        ChannelFuture f = new Bootstrap().group(core.group()).channel(Transport.socket())
            .option(ChannelOption.TCP_NODELAY, true).option(ChannelOption.SO_KEEPALIVE, true)
            .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, 3_000)
            .handler(new ControlInitializer(ReplyHandler::new)).connect(address.control());
        f.addListener(done -> {
            if (!done.isSuccess()) {
                retry("cannot connect: " + done.cause().getMessage());
                return;
            }
            Channel ch = f.channel();
            channel = ch;
            lastReplyNanos = System.nanoTime();
            ch.closeFuture().addListener(c -> {
                disconnected();
                retry("control connection lost");
            });
            request(id -> new ControlMessage.Hello(id, ControlMessage.VERSION, core.name()))
                .thenCompose(r -> {
                    if (r instanceof ControlMessage.Error e) {
                        throw new IllegalStateException(e.message());
                    }
                    return request(ControlMessage.ListUnits::new);
                }).whenComplete((r, err) -> {
                    if (err != null) {
                        lastFailure = String.valueOf(err.getMessage());
                        LOG.log(Level.WARNING, "remote units: unit node {0} did not take the HELLO: {1}", address,
                            err.getMessage());
                        ch.close();
                        return;
                    }
                    core.group().execute(() -> {
                        backoffMs = MIN_BACKOFF_MS;
                        LOG.log(Level.INFO, "remote units: connected to unit node {0}", address);
                        update(r);
                        poll = core.group().scheduleAtFixedRate(this::poll, core.pollMillis(), core.pollMillis(),
                            TimeUnit.MILLISECONDS);
                        if (stall != null) {
                            stall.reset();
                            long every = stallCheckMillis(core.stallMillis());
                            watch = core.group().scheduleAtFixedRate(this::checkStall, every, every,
                                TimeUnit.MILLISECONDS);
                        }
                    });
                });
        });
    }

    private void retry(String why) {
        if (stopped) {
            return;
        }
        if (!why.equals(lastFailure)) {
            LOG.log(Level.WARNING, "remote units: unit node {0}: {1}; retrying (back-off up to {2} ms)", address, why,
                core.maxBackoffMillis());
        }
        lastFailure = why;
        reconnects.increment();
        long delay = backoffMs;
        backoffMs = Math.min(backoffMs * 2, core.maxBackoffMillis());
        core.group().schedule(this::connect, delay, TimeUnit.MILLISECONDS);
    }

    /** Control loop: the connection is gone: fail what waits on it, withdraw the node's units. */
    private void disconnected() {
        channel = null;
        if (poll != null) {
            poll.cancel(false);
            poll = null;
        }
        if (watch != null) {
            watch.cancel(false);
            watch = null;
        }
        pollInFlight = false;
        IllegalStateException gone = new IllegalStateException("unit node " + address + ": the control connection "
            + "is lost");
        for (Integer id : pending.keySet()) {
            CompletableFuture<ControlMessage> f = pending.remove(id);
            if (f != null) {
                f.completeExceptionally(gone);
            }
        }
        for (RemoteUnitPort u : units.values()) {
            units.remove(u.id());
            core.withdraw(u);
        }
    }

    private void poll() {
        Channel ch = channel;
        if (ch == null) {
            return;
        }
        if (pollInFlight) {
            if (System.nanoTime() - lastReplyNanos > TimeUnit.MILLISECONDS.toNanos(DEAD_AFTER_MS)) {
                LOG.log(Level.WARNING, "remote units: unit node {0} answered nothing for {1} ms; reconnecting",
                    address, DEAD_AFTER_MS);
                ch.close();
            }
            return;
        }
        pollInFlight = true;
        request(ControlMessage.ListUnits::new).whenComplete((r, err) -> {
            pollInFlight = false;
            if (err == null) {
                core.group().execute(() -> update(r));
            }
        });
    }

    /**
     * Control loop, every {@link #stallCheckMillis}: the data-path rule ({@link StallDetector}). Anything that came
     * from the node — a control reply, an ARTP packet on a data connection, an acknowledgement of processed
     * datagrams — is news; only data connections whose datagrams the distribution unit retains are watched (a false
     * alarm must lose nothing). A node declared hung is failed exactly as one whose connections ended: its data
     * connections are reset (the next datagram for one of its units throws at the distribution unit, which recovers
     * the session) and its control connection is closed (its proxies are withdrawn; it is reconnected with
     * back-off, and its units come back once it answers again).
     */
    private void checkStall() {
        Channel ch = channel;
        if (ch == null || stall == null) {
            return;
        }
        long signature = lastReplyNanos;
        boolean outstanding = false;
        long rtoMicros = 0;
        long pending = 0;
        for (RemoteUnitChannel c : channels) {
            if (!c.retained()) {
                continue;
            }
            ArtpStats st = c.linkStats();
            signature += st.get(ArtpCounter.PACKETS_RECEIVED) + c.acks();
            rtoMicros = Math.max(rtoMicros, st.get(ArtpCounter.SRTT_US) + 4 * st.get(ArtpCounter.RTTVAR_US));
            if (c.outstanding()) {
                outstanding = true;
                pending += st.get(ArtpCounter.BYTES_IN_FLIGHT);
            }
        }
        long rto = TimeUnit.MICROSECONDS.toNanos(rtoMicros);
        if (!stall.check(System.nanoTime(), signature, outstanding, rto)) {
            return;
        }
        stallDetections.increment();
        String why = "unit node " + address + " sent nothing for " + TimeUnit.NANOSECONDS.toMillis(stall.silentNanos())
            + " ms while holding datagrams it had not acknowledged (" + pending + " bytes in flight; bound "
            + TimeUnit.NANOSECONDS.toMillis(stall.bound(rto)) + " ms)";
        LOG.log(Level.WARNING, "remote units: {0}: declared failed, its sessions are recovered ({1} so far)", why,
            stallDetections.sum());
        stall.reset();
        for (RemoteUnitChannel c : channels) {
            if (c.retained()) {
                c.stalled(why);
            }
        }
        ch.close();
    }

    void opened(RemoteUnitChannel c) {
        channels.add(c);
    }

    void ended(RemoteUnitChannel c) {
        channels.remove(c);
    }

    /** Control loop: registers units that appeared, updates the others, withdraws those that went. */
    private void update(ControlMessage reply) {
        if (!(reply instanceof ControlMessage.Units list) || channel == null) {
            return;
        }
        Set<UnitId> seen = new HashSet<>();
        for (UnitState s : list.units()) {
            seen.add(s.id());
            RemoteUnitPort u = units.get(s.id());
            if (u != null) {
                u.update(s);
            } else {
                RemoteUnitPort fresh = new RemoteUnitPort(this, s);
                if (core.publish(fresh)) {
                    units.put(s.id(), fresh);
                }
            }
        }
        for (RemoteUnitPort u : units.values()) {
            if (!seen.contains(u.id())) {
                units.remove(u.id());
                core.withdraw(u);
            }
        }
    }

    // ---- requests (any thread)

    /**
     * Sends a request.
     *
     * @param message makes the request from its id
     * @return completes with the reply (an {@link ControlMessage.Error} is a reply), exceptionally if the node is
     *     unreachable or the connection is lost first
     */
    CompletableFuture<ControlMessage> request(IntFunction<ControlMessage> message) {
        CompletableFuture<ControlMessage> f = new CompletableFuture<>();
        Channel ch = channel;
        if (ch == null) {
            f.completeExceptionally(new IllegalStateException("unit node " + address + " is unreachable"
                + (lastFailure.isEmpty() ? "" : ": " + lastFailure)));
            return f;
        }
        int id;
        do {
            id = ids.incrementAndGet();
        } while (id == 0);
        int rid = id;
        pending.put(rid, f);
        ch.writeAndFlush(message.apply(rid)).addListener(w -> {
            if (!w.isSuccess()) {
                pending.remove(rid);
                f.completeExceptionally(new IllegalStateException("unit node " + address + ": " + w.cause()));
            }
        });
        if (channel == null) { // lost meanwhile: disconnected() may have run before we put the request
            CompletableFuture<ControlMessage> g = pending.remove(rid);
            if (g != null) {
                g.completeExceptionally(new IllegalStateException("unit node " + address + " is unreachable"));
            }
        }
        return f;
    }

    /**
     * Sends a request and waits for its reply ({@value #REQUEST_TIMEOUT_S} s at most).
     *
     * @return the reply; an {@link ControlMessage.Error} is returned, not thrown
     * @throws IllegalStateException if the node is unreachable or does not answer in time
     */
    ControlMessage call(IntFunction<ControlMessage> message) {
        try {
            return request(message).get(REQUEST_TIMEOUT_S, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted waiting for unit node " + address, e);
        } catch (ExecutionException e) {
            throw e.getCause() instanceof IllegalStateException ise ? ise
                : new IllegalStateException("unit node " + address + ": " + e.getCause(), e.getCause());
        } catch (TimeoutException e) {
            throw new IllegalStateException("unit node " + address + " did not answer within " + REQUEST_TIMEOUT_S
                + " s", e);
        }
    }

    Map<String, Long> counters() {
        return Map.of("units", (long) units.size(), "connected", connected() ? 1L : 0L,
            "reconnects", reconnects.sum(), "stall_detections", stallDetections.sum(), "malformed_replies", malformedReplies.sum(),
            "unmatched_replies", unmatchedReplies.sum(), "requests_pending", (long) pending.size());
    }

    /** Matches replies to requests. */
    private final class ReplyHandler extends SimpleChannelInboundHandler<ControlMessage> {

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, ControlMessage m) {
            lastReplyNanos = System.nanoTime();
            CompletableFuture<ControlMessage> f = pending.remove(m.requestId());
            if (m instanceof ControlMessage.Malformed bad) {
                malformedReplies.increment();
                LOG.log(Level.WARNING, "remote units: malformed reply from unit node {0}: {1}", address, bad.reason());
                if (f != null) {
                    f.completeExceptionally(new IllegalStateException("unit node " + address
                        + " sent a malformed reply: " + bad.reason()));
                }
                return;
            }
            if (f == null) {
                unmatchedReplies.increment();
                if (m instanceof ControlMessage.Error e) {
                    LOG.log(Level.WARNING, "remote units: unit node {0} reports: {1}", address, e.message());
                }
                return;
            }
            f.complete(m);
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            if (!(cause instanceof IOException)) {
                LOG.log(Level.WARNING, "remote units: control connection to unit node " + address + " failed", cause);
            }
            ctx.close();
        }
    }
}
