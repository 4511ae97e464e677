package io.pando.remote.impl;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.pando.api.session.SessionId;
import io.pando.api.unit.UnitId;
import io.pando.artp.ArtpConnection;
import io.pando.artp.ArtpCounter;
import io.pando.artp.ArtpEndpoint;
import io.pando.artp.ArtpHandler;
import io.pando.artp.ErrorCode;
import io.pando.link.AggregationChannel;
import io.pando.link.Credit;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.net.InetSocketAddress;
import java.util.Queue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/**
 * One unit's way into one session at an aggregation unit on another node: an ARTP connection to that node's
 * {@code AggregationServer}, bound to the session by the handshake and to the unit by a HELLO datagram. Each
 * result leaves with the {@link DataPrefix} in front, numbered in the order the unit handed it over (so that the
 * aggregation server can restore that order, which ARTP does not keep).
 *
 * <p><b>Acknowledgements.</b> The unit's {@link #processed} (batched by the unit: one per burst) leaves as a
 * {@code PROCESSED} datagram carrying the sequence and the number of results handed over before it; the aggregation
 * server applies it once all of those have arrived (io.pando.link, "Failure").
 *
 * <p><b>Credit.</b> A result's bytes are returned to the unit as soon as the result is queued on a writable
 * connection; while the connection is over its send high-water mark they are held back and returned when it is
 * writable again. So the unit's link window is bounded by what the network and the aggregation server take,
 * and the aggregation server's own credit (it pauses the connection) reaches the unit.
 *
 * <p><b>Threads.</b> {@link #deliver} runs on the unit's thread, connection events on the ARTP event loop; the
 * two meet only in atomics and a lock-free queue.
 */
final class ResultChannel implements AggregationChannel {

    private static final Logger LOG = System.getLogger(ResultChannel.class.getName());

    private final SessionId session;
    private final UnitId unit;
    private final Credit credit;
    private final ByteBufAllocator alloc;
    private final InetSocketAddress aggregation;
    private final Queue<Pending> waiting = new ConcurrentLinkedQueue<>();
    private final AtomicLong deferred = new AtomicLong();
    private final CompletableFuture<ArtpConnection> connected = new CompletableFuture<>();
    private final LongAdder sent = new LongAdder();
    private final LongAdder lost = new LongAdder();
    private final LongAdder acksSent = new LongAdder();
    /** How many results the unit handed over: the next result's number (the unit's thread only). */
    private long handedOver;
    private volatile ArtpConnection connection;
    private volatile boolean failed;
    private volatile boolean closing;
    private volatile String failure = "";

    ResultChannel(ArtpEndpoint endpoint, InetSocketAddress aggregation, SessionId session, UnitId unit, Credit credit,
            ByteBufAllocator alloc) {
        this.session = session;
        this.unit = unit;
        this.credit = credit;
        this.alloc = alloc;
        this.aggregation = aggregation;
        endpoint.connect(aggregation, session.value(), null).whenComplete(this::connected);
    }

    private void connected(ArtpConnection c, Throwable err) {
        if (err != null) {
            fail("cannot reach the aggregation server " + aggregation + ": " + err.getMessage());
            connected.completeExceptionally(err);
            return;
        }
        c.attach(this);
        try {
            c.send(DataPrefix.hello(alloc, unit));
        } catch (RuntimeException e) { // the connection ended at once; send released the HELLO
            fail("the connection to the aggregation server " + aggregation + " ended: " + e.getMessage());
            connected.complete(c);
            return;
        }
        connection = c;
        drainWaiting();
        connected.complete(c);
    }

    /** A result or an acknowledgement handed over before the connection was up. */
    private record Pending(long sequence, long flow, long number, ByteBuf data) {
    }

    @Override
    public void deliver(long sequence, long flow, ByteBuf data) {
        if (failed) {
            lose(data);
            return;
        }
        long number = handedOver++;
        ArtpConnection c = connection;
        if (c == null) {
            hold(new Pending(sequence, flow, number, data));
            return;
        }
        send(c, sequence, flow, number, data);
    }

    /**
     * Sends the acknowledgement as a {@code PROCESSED} datagram with the number of results handed over before it.
     * A connection that failed has nothing to acknowledge: the distribution unit gives the unacknowledged datagrams
     * to another unit.
     */
    @Override
    public void processed(long sequence) {
        if (failed || sequence < 0) {
            return;
        }
        ArtpConnection c = connection;
        if (c == null) {
            hold(new Pending(sequence, 0, handedOver, null));
            return;
        }
        sendProcessed(c, sequence, handedOver);
    }

    private void hold(Pending p) {
        waiting.add(p);
        if (connection != null || failed) { // connected (or failed) meanwhile: do not leave it behind
            drainWaiting();
        }
    }

    private void sendProcessed(ArtpConnection c, long sequence, long results) {
        try {
            c.send(DataPrefix.processed(alloc, sequence, results));
            acksSent.increment();
        } catch (RuntimeException e) { // closed under us; send released it
            if (!failed) {
                fail("the connection to the aggregation server " + aggregation + " ended: " + e.getMessage());
            }
        }
    }

    private void send(ArtpConnection c, long sequence, long flow, long number, ByteBuf data) {
        int len = data.readableBytes();
        ByteBuf out = DataPrefix.prefix(alloc, sequence, 0, flow, number, data);
        try {
            c.send(out);
        } catch (RuntimeException e) { // closed under us; send released the datagram
            lost.increment();
            if (!failed) {
                fail("the connection to the aggregation server " + aggregation + " ended: " + e.getMessage());
            }
            credit.release(len);
            return;
        }
        sent.increment();
        if (c.isWritable()) {
            credit.release(len);
        } else {
            deferred.addAndGet(len);
            if (c.isWritable()) { // it became writable before we deferred: its event may have gone by
                releaseDeferred();
            }
        }
    }

    private void drainWaiting() {
        Pending p;
        while ((p = waiting.poll()) != null) {
            ArtpConnection c = connection;
            if (p.data() == null) {
                if (!failed && c != null) {
                    sendProcessed(c, p.sequence(), p.number());
                }
            } else if (failed || c == null) {
                lose(p.data());
            } else {
                send(c, p.sequence(), p.flow(), p.number(), p.data());
            }
        }
    }

    private void lose(ByteBuf data) {
        int len = data.readableBytes();
        data.release();
        lost.increment();
        credit.release(len);
    }

    private void releaseDeferred() {
        long b = deferred.getAndSet(0);
        while (b > 0) {
            int n = (int) Math.min(b, Integer.MAX_VALUE);
            credit.release(n);
            b -= n;
        }
    }

    private void fail(String why) {
        failure = why;
        failed = true;
        LOG.log(Level.WARNING, "unit {0}, session {1}: results can no longer be sent ({2}); the unit''s results "
            + "of this session are counted as lost", unit, session, why);
        releaseDeferred();
        drainWaiting();
    }

    /** ARTP loop: the connection's send queue crossed a water mark. */
    void writabilityChanged(ArtpConnection c) {
        if (c.isWritable()) {
            releaseDeferred();
        }
    }

    /** ARTP loop: the connection ended. */
    void closed(ErrorCode code, String reason) {
        if (!closing || code != ErrorCode.NO_ERROR) {
            if (!failed) {
                fail("the connection to the aggregation server " + aggregation + " ended: " + code + " " + reason);
            }
        }
        releaseDeferred();
        drainWaiting();
    }

    /**
     * Closes the connection in order once everything sent is acknowledged by the aggregation server.
     *
     * @return completes when the connection is closed (or never opened, or had already failed); exceptionally if
     *     it ends abnormally now
     */
    CompletionStage<Void> close() {
        closing = true;
        return connected.handle((c, err) -> c).thenCompose(c -> {
            if (c == null || connection == null) {
                return CompletableFuture.completedFuture(null);
            }
            drainWaiting();
            // a connection that failed was counted and logged then; its close says nothing new
            return c.close().handle((v, err) -> {
                if (err != null && !failed) {
                    throw new java.util.concurrent.CompletionException(err);
                }
                return (Void) null;
            });
        });
    }

    long sent() {
        return sent.sum();
    }

    long acksSent() {
        return acksSent.sum();
    }

    /** @return results never handed to the connection, plus those it abandoned when it ended abnormally */
    long lost() {
        ArtpConnection c = connection;
        return lost.sum() + (c == null ? 0 : c.stats().get(ArtpCounter.DATAGRAMS_ABANDONED));
    }

    long deferredBytes() {
        return deferred.get();
    }

    String failure() {
        return failure;
    }

    /** The handler of the endpoint that opens result connections: routes events to the channel. */
    static final class Handler implements ArtpHandler {

        final LongAdder unexpected = new LongAdder();

        @Override
        public void datagram(ArtpConnection connection, ByteBuf datagram, boolean control) {
            unexpected.increment(); // an aggregation server sends nothing back on a result connection
            datagram.release();
        }

        @Override
        public void writabilityChanged(ArtpConnection connection) {
            if (connection.attachment() instanceof ResultChannel r) {
                r.writabilityChanged(connection);
            }
        }

        @Override
        public void closed(ArtpConnection connection, ErrorCode code, String reason) {
            if (connection.attachment() instanceof ResultChannel r) {
                r.closed(code, reason);
            }
        }
    }
}
