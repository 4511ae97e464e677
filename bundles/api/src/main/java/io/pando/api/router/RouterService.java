package io.pando.api.router;

import io.pando.api.session.SessionId;
import io.pando.api.unit.UnitId;
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
     * <p>The report returned is the session as it opens: its {@link SessionInfo#counters() counters} are the
     * ingress counters (all zero: no sender can have connected yet); {@link SessionInfo#unitCounters()} and
     * {@link SessionInfo#reorder()} are empty, because the units and the aggregation unit account for a session
     * from its first datagram on and creating a session does not wait for their event loops to say so.
     * {@link #session(SessionId)} reports every counter.
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

    /**
     * Moves a live session from one of its units to another while its datagrams flow: nothing accepted is lost,
     * and the program's session state (and timers) move with it, so that the program on {@code to} goes on
     * exactly where the one on {@code from} stopped. New datagrams go to {@code to}, which holds them until
     * {@code from} has processed everything it had been given and handed the state over; meanwhile the
     * datagrams held count against the session's quota and may pause the sender through ARTP flow control.
     *
     * @return what moved and how long datagrams were held
     * @throws java.util.NoSuchElementException if no such session is open, or no unit {@code to} runs
     * @throws IllegalArgumentException if {@code from} does not serve the session, {@code to} already serves
     *     it, {@code to} is drained or lacks the session's program, or either unit cannot migrate sessions
     * @throws IllegalStateException if a migration of the session is already running or it is closing
     * @throws RouterException if the hand-over failed after the datagrams had gone to {@code to} (the message
     *     says what was lost)
     * @since 1.3
     */
    default MigrationInfo migrateSession(SessionId id, UnitId from, UnitId to) {
        throw new UnsupportedOperationException("this router does not migrate sessions");
    }

    /**
     * Drains a unit: marks it so that no new session is placed on it, then migrates every session it serves to
     * the least loaded other unit that can take it ({@link #migrateSession}). Draining a drained unit moves
     * whatever still runs there.
     *
     * @return what moved and what could not
     * @throws java.util.NoSuchElementException if no such unit runs
     * @since 1.3
     */
    default DrainInfo drainUnit(UnitId unit) {
        throw new UnsupportedOperationException("this router does not drain units");
    }

    /**
     * Lets a drained unit take new sessions again.
     *
     * @return whether the unit was drained
     * @since 1.3
     */
    default boolean undrainUnit(UnitId unit) {
        throw new UnsupportedOperationException("this router does not drain units");
    }

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
