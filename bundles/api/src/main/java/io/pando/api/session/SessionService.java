package io.pando.api.session;

import java.util.List;
import java.util.Optional;
import org.osgi.annotation.versioning.ProviderType;

/**
 * Looks up the active sessions this node knows. Pando registers one; any bundle may use it. It is a query
 * service: sessions are opened, changed and closed by the control unit, not through this interface.
 *
 * <p>Implementations are thread safe and answer from local memory (no network round trip), so the methods
 * may be called on the packet path.
 */
@ProviderType
public interface SessionService {

    /**
     * @param id a session id
     * @return the current snapshot of that session, or empty if this node does not know it or it is closed
     */
    Optional<ActiveSession> session(SessionId id);

    /** @return snapshots of every session this node knows that is not closed, in no particular order */
    List<ActiveSession> sessions();
}
