package io.pando.api.router;

import io.pando.api.session.SessionId;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.osgi.annotation.versioning.ProviderType;

/**
 * The administrator's view of the router: create and close sessions, list units, switch policies live, read
 * counters. Thread-safe.
 */
@ProviderType
public interface RouterService {

    /**
     * Creates a session and opens it on its units and at the aggregation unit; on return a sender may connect
     * to {@link SessionInfo#ingress()} with the session id.
     *
     * @throws IllegalArgumentException if the request names an unknown program or policy or asks for more
     *     units than run
     * @throws RouterException if the router cannot serve the session now
     */
    SessionInfo createSession(SessionRequest request);

    /** @return every session that is not closed, oldest first */
    List<SessionInfo> sessions();

    /** @return the session, if it exists and is not closed */
    Optional<SessionInfo> session(SessionId id);

    /**
     * Closes a session in order: new datagrams are refused, everything already accepted is processed and
     * delivered, then the connections are closed.
     *
     * @return the session's final report
     * @throws java.util.NoSuchElementException if no such session is open
     */
    SessionInfo closeSession(SessionId id);

    /** @return every unit the router can use, local and remote */
    List<UnitInfo> units();

    /**
     * Switches the policy of a role for the whole router while traffic flows; nothing accepted is lost.
     * A session created with its own load-balancing policy keeps it.
     *
     * @throws IllegalArgumentException if no policy of that name is registered for the role
     */
    void selectPolicy(PolicyRole role, String name);

    /** @return the selected policy of each role */
    Map<PolicyRole, String> selectedPolicies();

    /** @return router-wide counters (snake_case keys): datagrams and bytes in and out, drops by reason, swaps */
    Map<String, Long> stats();
}
