package io.pando.control.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.pando.artp.ArtpConnection;
import io.pando.artp.ArtpEndpoint;
import io.pando.artp.ArtpHandler;
import io.pando.artp.ErrorCode;
import java.net.Inet6Address;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import org.osgi.annotation.versioning.ProviderType;

/**
 * A blocking client of the control unit: one ARTP connection to the control endpoint (session 0) over which requests
 * go and replies come back, matched by request id. Thread-safe; several requests may be in progress at once.
 */
@ProviderType
public final class ControlClient implements AutoCloseable {

    private final ArtpEndpoint endpoint;
    private final ArtpConnection connection;
    private final Map<Long, CompletableFuture<ControlMessage.Reply>> pending = new ConcurrentHashMap<>();
    private final AtomicLong ids = new AtomicLong();
    private volatile String closedReason;

    private ControlClient(ArtpEndpoint endpoint, InetSocketAddress control, Duration timeout) throws ControlException {
        this.endpoint = endpoint;
        try {
            this.connection = endpoint.connect(control, 0, null).toCompletableFuture()
                .get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            endpoint.close();
            throw new ControlException("cannot reach the control unit at " + control + ": "
                + e.getCause().getMessage(), e.getCause());
        } catch (TimeoutException e) {
            endpoint.close();
            throw new ControlException("the control unit at " + control + " did not answer within "
                + timeout.toMillis() + " ms", e);
        } catch (InterruptedException e) {
            endpoint.close();
            Thread.currentThread().interrupt();
            throw new ControlException("interrupted while connecting to " + control, e);
        }
    }

    /** Why a request could not be made: the control unit is unreachable, silent, or the connection broke. */
    public static final class ControlException extends Exception {
        private static final long serialVersionUID = 1L;

        /**
         * @param message what happened
         * @param cause the cause, may be null
         */
        public ControlException(String message, Throwable cause) {
            super(message, cause);
        }
    }

    /**
     * Connects to a control endpoint.
     *
     * @param control the control endpoint's address
     * @param timeout how long the handshake may take
     * @return the connected client
     * @throws ControlException if the control unit cannot be reached
     */
    public static ControlClient connect(InetSocketAddress control, Duration timeout) throws ControlException {
        InetSocketAddress local = new InetSocketAddress(control.getAddress() instanceof Inet6Address ? "::" : "0.0.0.0",
            0);
        if (control.getAddress() != null && control.getAddress().isLoopbackAddress()) {
            local = new InetSocketAddress(control.getAddress(), 0);
        }
        Handler handler = new Handler();
        ArtpEndpoint endpoint = ArtpEndpoint.builder().bind(local).handler(handler).start();
        ControlClient client = new ControlClient(endpoint, control, timeout);
        handler.client = client;
        return client;
    }

    /** @return a new request id, unique on this client */
    public long nextRequestId() {
        return ids.incrementAndGet();
    }

    /**
     * Sends a request and waits for its reply.
     *
     * @param request the request (its id must not be in use on this client)
     * @param timeout how long to wait
     * @return the reply: the matching success message or {@link ControlMessage.Refused}
     * @throws ControlException if no reply came in time or the connection broke
     * @throws IllegalArgumentException if the request breaks a rule of the protocol (nothing was sent)
     */
    public ControlMessage.Reply call(ControlMessage.Request request, Duration timeout) throws ControlException {
        CompletableFuture<ControlMessage.Reply> reply = new CompletableFuture<>();
        if (pending.putIfAbsent(request.requestId(), reply) != null) {
            throw new IllegalArgumentException("request id " + Long.toUnsignedString(request.requestId())
                + " is in use");
        }
        try {
            ByteBuf datagram = ControlCodec.encode(PooledByteBufAllocator.DEFAULT, request);
            if (datagram.readableBytes() > ControlCodec.MAX_REQUEST) {
                int n = datagram.readableBytes();
                datagram.release();
                throw new IllegalArgumentException("the request has " + n + " bytes; at most "
                    + ControlCodec.MAX_REQUEST);
            }
            String broken = closedReason;
            if (broken != null) {
                datagram.release();
                throw new ControlException("the control connection is closed: " + broken, null);
            }
            try {
                connection.sendControl(datagram);
            } catch (IllegalStateException e) {
                throw new ControlException("the control connection is closed: " + e.getMessage(), e);
            }
            return reply.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            throw new ControlException(e.getCause().getMessage(), e.getCause());
        } catch (TimeoutException e) {
            throw new ControlException("no reply from the control unit within " + timeout.toMillis() + " ms", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ControlException("interrupted", e);
        } finally {
            pending.remove(request.requestId());
        }
    }

    /** @return the local address of this client's ARTP endpoint */
    public InetSocketAddress localAddress() {
        return endpoint.localAddress();
    }

    /** Closes the connection (in order, briefly) and the endpoint. */
    @Override
    public void close() {
        try {
            connection.close().toCompletableFuture().get(2, TimeUnit.SECONDS);
        } catch (Exception e) {
            // the endpoint's close resets whatever is left
        }
        endpoint.close();
    }

    private void replied(ControlMessage m) {
        if (m instanceof ControlMessage.Reply reply) {
            CompletableFuture<ControlMessage.Reply> f = pending.get(m.requestId());
            if (f != null) {
                f.complete(reply);
            }
        }
    }

    private void broken(String reason) {
        closedReason = reason;
        for (CompletableFuture<ControlMessage.Reply> f : pending.values()) {
            f.completeExceptionally(new ControlException("the control connection closed: " + reason, null));
        }
    }

    private static final class Handler implements ArtpHandler {
        volatile ControlClient client;

        @Override
        public void datagram(ArtpConnection connection, ByteBuf datagram, boolean control) {
            try {
                ControlClient c = client;
                if (control && c != null) {
                    c.replied(ControlCodec.decode(datagram));
                }
            } catch (ControlProtocolException e) {
                // an undecodable reply is dropped; the request times out (docs/control.md, section 2)
            } finally {
                datagram.release();
            }
        }

        @Override
        public void closed(ArtpConnection connection, ErrorCode code, String reason) {
            ControlClient c = client;
            if (c != null) {
                c.broken(code + (reason.isEmpty() ? "" : ": " + reason));
            }
        }
    }
}
