package io.pando.artp;

import java.net.InetSocketAddress;
import java.util.Collection;
import java.util.concurrent.CompletionStage;
import org.osgi.annotation.versioning.ProviderType;

/**
 * An ARTP/1 endpoint: one bound UDP socket (or several SO_REUSEPORT sockets, one per I/O thread) that accepts
 * connections for the sessions its {@link SessionAcceptor} admits and opens connections to other endpoints.
 * Close it to release its sockets and threads; closing resets every open connection.
 */
@ProviderType
public interface ArtpEndpoint extends AutoCloseable {

    static Builder builder() {
        return new Builder();
    }

    InetSocketAddress localAddress();

    /** @return the event loop every connection of this endpoint runs on (handlers are called there) */
    io.netty.channel.EventLoop eventLoop();

    /** @return "epoll" or "nio": the transport actually in use */
    String transport();

    /**
     * Opens a connection bound to an active session.
     *
     * @param remote the peer endpoint
     * @param sessionId the session to bind to
     * @param key the session key (32 bytes) when the session authenticates its packets, else null
     * @return completes with the established connection, or exceptionally with {@link ArtpException}
     */
    CompletionStage<ArtpConnection> connect(InetSocketAddress remote, long sessionId, byte[] key);

    /** @return the connections currently open */
    Collection<ArtpConnection> connections();

    /** @return endpoint-wide counters: packets no connection claimed plus the sums over all connections */
    ArtpStats stats();

    /** Resets every connection and releases the socket(s) and threads; waits for that to finish. */
    @Override
    void close();

    /** Builds and starts an endpoint. */
    final class Builder {
        private InetSocketAddress bind = new InetSocketAddress("127.0.0.1", 0);
        private ArtpConfig config = ArtpConfig.defaults();
        private ArtpHandler handler;
        private SessionAcceptor acceptor = SessionAcceptor.NONE;

        Builder() {
        }

        /** Local address to bind; default 127.0.0.1 on an ephemeral port. */
        public Builder bind(InetSocketAddress address) {
            this.bind = java.util.Objects.requireNonNull(address, "address");
            return this;
        }

        public Builder config(ArtpConfig config) {
            this.config = java.util.Objects.requireNonNull(config, "config");
            return this;
        }

        public Builder handler(ArtpHandler handler) {
            this.handler = java.util.Objects.requireNonNull(handler, "handler");
            return this;
        }

        /** Who may connect; default {@link SessionAcceptor#NONE} (client-only endpoint). */
        public Builder acceptor(SessionAcceptor acceptor) {
            this.acceptor = java.util.Objects.requireNonNull(acceptor, "acceptor");
            return this;
        }

        /**
         * Binds the socket(s) and starts the event loop(s).
         *
         * @throws ArtpException when the address cannot be bound
         */
        public ArtpEndpoint start() {
            if (handler == null) {
                throw new IllegalStateException("an ArtpHandler is required");
            }
            return io.pando.artp.impl.NettyEndpoint.start(bind, config, handler, acceptor);
        }
    }
}
