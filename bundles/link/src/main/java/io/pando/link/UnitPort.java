package io.pando.link;

import io.pando.api.unit.UnitId;
import io.pando.api.unit.UnitLoad;
import java.util.Map;
import java.util.Set;
import org.osgi.annotation.versioning.ProviderType;

/**
 * A parallel AR unit as the distribution unit sees it: local, or a proxy of a unit on another node.
 * Registered as a service with the property {@code unit.id}.
 */
@ProviderType
public interface UnitPort {

    /** Service property naming the unit. */
    String UNIT_ID = "unit.id";

    /** @return the unit's id, unique in the router */
    UnitId id();

    /** @return {@code local}, or the address of the unit's node */
    String location();

    /** @return the unit's live load */
    UnitLoad load();

    /** @return the name of the packet scheduler it uses */
    String scheduler();

    /** @return the names of the active programs it can run now */
    Set<String> programs();

    /** @return the unit's totals, snake_case keys */
    Map<String, Long> counters();

    /**
     * Opens a session on this unit. The unit attaches itself to the aggregation unit for the session's
     * results and reports congestion and program control information through {@code events}. If the
     * session's program is not registered (yet, or during an update) the unit holds its datagrams, charged to
     * the quota, until it is.
     *
     * @throws IllegalStateException if the unit is stopping or already serves the session
     */
    UnitChannel open(SessionPlan plan, AggregationPort aggregation, SessionEvents events);

    /**
     * @return whether this unit can hand sessions over to another unit and take them over from one
     *     ({@link #openForHandover}, {@link UnitChannel#handOver()}, {@link UnitChannel#takeOver})
     * @since 1.3
     */
    default boolean migrates() {
        return false;
    }

    /**
     * Opens a session that migrates to this unit from another one. Like {@link #open}, except that the program is
     * not started: every datagram delivered meanwhile is held, in order and charged to the session's quota (so that
     * the sender is paused by ARTP flow control if the hand-over takes long), until {@link UnitChannel#takeOver}
     * brings the program's state.
     *
     * @throws IllegalStateException if the unit is stopping or already serves the session
     * @throws UnsupportedOperationException if the unit cannot take sessions over ({@link #migrates()} is false)
     * @since 1.3
     */
    default UnitChannel openForHandover(SessionPlan plan, AggregationPort aggregation, SessionEvents events) {
        throw new UnsupportedOperationException("unit " + id() + " (" + location() + ") cannot take a session over");
    }

    /**
     * Checks, before anything is opened, that this unit can run the session: its program is registered and
     * accepts the session's parameters.
     *
     * @throws IllegalArgumentException saying what is wrong
     */
    default void validate(SessionPlan plan) {
        if (!programs().contains(plan.program())) {
            throw new IllegalArgumentException("no active program '" + plan.program() + "' on unit " + id()
                + "; registered: " + programs());
        }
    }

    /**
     * Switches the unit's packet scheduler while it runs; queued results keep their per-session order.
     *
     * @throws IllegalArgumentException if no scheduler of that name is registered
     */
    void selectScheduler(String name);
}
