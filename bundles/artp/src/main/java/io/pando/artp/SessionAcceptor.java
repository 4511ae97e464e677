package io.pando.artp;

import java.net.InetSocketAddress;
import org.osgi.annotation.versioning.ConsumerType;

/**
 * Decides whether an endpoint accepts a connection for an active session, and with which key. Called on the
 * event loop for every handshake step that needs it; must be fast and must not block.
 */
@ConsumerType
public interface SessionAcceptor {

    /** Accepts every session, without a key. */
    SessionAcceptor ANY = (sessionId, peer) -> SessionGrant.UNKEYED;

    /** Accepts nothing: the endpoint only opens connections. */
    SessionAcceptor NONE = (sessionId, peer) -> null;

    /**
     * @param sessionId the session the peer asks to bind its connection to
     * @param peer the peer's address
     * @return the grant, or {@code null} to refuse (the peer gets a RESET with {@link ErrorCode#UNKNOWN_SESSION})
     */
    SessionGrant accept(long sessionId, InetSocketAddress peer);
}
