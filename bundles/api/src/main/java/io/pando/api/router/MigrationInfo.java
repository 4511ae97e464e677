package io.pando.api.router;

import io.pando.api.session.SessionId;
import io.pando.api.unit.UnitId;
import java.time.Duration;
import java.util.Objects;
import org.osgi.annotation.versioning.ProviderType;

/**
 * One session moved from one unit to another ({@link RouterService#migrateSession}).
 *
 * @param session the session
 * @param from the unit it left
 * @param to the unit that serves it now
 * @param handover from the moment new datagrams went to {@code to} until {@code to} had the program's state and
 *     could process them: how long datagrams were held
 * @param heldDatagrams the datagrams (and control information) {@code to} held during the hand-over
 * @param stateBytes the size of the program's session state that moved (keys and values)
 * @param timers the program's timers that moved
 * @since 1.3
 */
@ProviderType
public record MigrationInfo(SessionId session, UnitId from, UnitId to, Duration handover, long heldDatagrams,
    long stateBytes, int timers) {

    /** Checks the values. */
    public MigrationInfo {
        Objects.requireNonNull(session, "session");
        Objects.requireNonNull(from, "from");
        Objects.requireNonNull(to, "to");
        Objects.requireNonNull(handover, "handover");
    }
}
