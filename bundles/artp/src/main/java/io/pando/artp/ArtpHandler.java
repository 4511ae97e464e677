package io.pando.artp;

import io.netty.buffer.ByteBuf;
import org.osgi.annotation.versioning.ConsumerType;

/**
 * Receives the events of the connections of one {@link ArtpEndpoint}. Every method is called on the event loop
 * of the connection; implementations must not block.
 */
@ConsumerType
public interface ArtpHandler {

    /** A connection reached the established state (either side). */
    default void connected(ArtpConnection connection) {
    }

    /**
     * A complete datagram arrived. Datagrams of one connection arrive in completion order, not in send order.
     *
     * @param connection the connection it arrived on
     * @param datagram the datagram's bytes; <b>ownership passes to the handler</b>, which must release it
     *        (or pass it on to an owner that will)
     * @param control whether the datagram carries control information ({@link ControlBlock} at its start)
     */
    void datagram(ArtpConnection connection, ByteBuf datagram, boolean control);

    /** The connection's send queue crossed its high or low water mark; see {@link ArtpConnection#isWritable()}. */
    default void writabilityChanged(ArtpConnection connection) {
    }

    /**
     * The connection is closed and its resources are released; called exactly once per connection.
     *
     * @param connection the connection
     * @param code why: {@link ErrorCode#NO_ERROR} for an orderly close
     * @param reason human-readable detail, never null
     */
    default void closed(ArtpConnection connection, ErrorCode code, String reason) {
    }
}
