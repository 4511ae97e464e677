package io.pando.api.policy;

import io.pando.api.session.SessionId;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.util.Optional;
import org.osgi.annotation.versioning.ConsumerType;

/**
 * Classifies an incoming packet to the active session it belongs to. Used by the distribution unit for
 * packets that the ARTP connection alone does not bind to a session, and by units for packets from the
 * data network. Called concurrently from several I/O threads: implementations are thread safe.
 */
@ConsumerType
public interface Classifier {

    /**
     * @param source where the packet came from
     * @param destination the local address it was sent to
     * @param packet the packet from position to limit, read-only and valid only during the call; the
     *        classifier may move its position
     * @return the packet's session, or empty if this classifier does not recognize it (the packet is then
     *         counted and dropped, or handed to the next classifier)
     */
    Optional<SessionId> classify(InetSocketAddress source, InetSocketAddress destination, ByteBuffer packet);
}
