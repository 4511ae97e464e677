package io.pando.artp;

import io.netty.buffer.ByteBuf;
import io.netty.channel.EventLoop;
import java.net.InetSocketAddress;
import java.util.concurrent.CompletionStage;
import org.osgi.annotation.versioning.ProviderType;

/**
 * One ARTP/1 connection, bound to an active session. Thread-safe: methods may be called from any thread; the
 * connection's work runs on its {@link #eventLoop()}. Sending from that event loop is cheapest.
 */
@ProviderType
public interface ArtpConnection {

    /** @return the active session this connection is bound to */
    long sessionId();

    /** @return the connection id this endpoint chose (peers put it in the packets they send here) */
    int localId();

    /** @return the connection id the peer chose */
    int remoteId();

    InetSocketAddress remoteAddress();

    /** @return whether packets are authenticated with a session key */
    boolean isKeyed();

    ConnectionState state();

    /** @return the event loop that runs this connection */
    EventLoop eventLoop();

    /**
     * Queues a datagram for reliable delivery. The datagram is fragmented to the path's packet size and
     * reassembled by the peer, which may deliver it before datagrams sent earlier.
     *
     * @param datagram the bytes; <b>ownership passes to the connection</b> (it is released once acknowledged,
     *        or at once when the connection cannot take it)
     * @throws IllegalStateException if the connection no longer accepts datagrams (closing or closed); the
     *         datagram has been released
     * @throws IllegalArgumentException if the datagram exceeds the peer's maximum datagram size (released)
     */
    void send(ByteBuf datagram);

    /**
     * Like {@link #send(ByteBuf)} for a datagram that carries control information: it must start with a
     * {@link ControlBlock}. Routers forward control datagrams to every unit of the session.
     */
    void sendControl(ByteBuf datagram);

    /**
     * @return false while more than the high-water mark of bytes waits to be sent; senders should then wait
     *         for {@link ArtpHandler#writabilityChanged}
     */
    boolean isWritable();

    /** @return bytes queued or in flight, not yet acknowledged */
    long pendingBytes();

    /**
     * Orderly close: stops accepting datagrams, sends everything still queued, waits for its acknowledgement,
     * then exchanges CLOSE / CLOSE_ACK with the peer.
     *
     * @return completes when the connection is closed (normally or not)
     */
    CompletionStage<Void> close();

    /** Abortive close: sends RESET, drops everything not yet acknowledged (counted), closes at once. */
    void reset(ErrorCode code, String reason);

    /** @return a snapshot of this connection's counters and gauges */
    ArtpStats stats();

    /** @return whatever {@link #attach(Object)} stored, or null */
    Object attachment();

    /** Stores an application object with the connection. */
    void attach(Object attachment);

    /**
     * Stops granting the peer credit for new datagrams (receiver back-pressure): the credit already advertised
     * stays valid, so the peer may still send up to it; nothing is dropped. Thread-safe; idempotent.
     * Counted as {@code receive_pauses}.
     */
    void pauseReceiving();

    /** Grants credit again and tells the peer at once (an ACK carries the new credit). Thread-safe; idempotent. */
    void resumeReceiving();

    /** @return whether receiving is paused by {@link #pauseReceiving()} */
    boolean isReceivingPaused();
}
