package io.pando.policies.api;

import io.pando.api.session.SessionId;
import java.util.Optional;
import org.osgi.annotation.versioning.ProviderType;

/**
 * Per-session settings and measurements of a reorder-window aggregation strategy. Implemented by the
 * {@code reorder-window} strategy instances themselves: the aggregation unit tests its
 * {@link io.pando.api.policy.AggregationStrategy} with {@code instanceof}.
 *
 * <p><b>Threading:</b> {@link #configure} is called on the thread that drives the strategy (the same thread
 * that calls {@code arrived}); {@link #stats} and {@link #totals} may be called from any thread and return a
 * snapshot that may lag the driving thread by a few datagrams.
 */
@ProviderType
public interface ReorderWindowControl {

    /**
     * Sets the window of one session, before its first datagram or at any time later (a smaller window
     * releases what no longer fits at the next arrival or {@code advance}).
     *
     * @param session the session
     * @param maxHoldNanos the longest a datagram waits for its predecessors, in {@code [0, 10 s]}; 0 disables
     *        holding (pass-through for this session)
     * @param depth the most datagrams held for the session at once, in {@code [1, 65536]}
     * @throws IllegalArgumentException if a value is outside its range
     */
    void configure(SessionId session, long maxHoldNanos, int depth);

    /**
     * @param session a session
     * @return what the window measured for that session, or empty if it has seen no datagram of it or the
     *         session closed
     */
    Optional<ReorderStats> stats(SessionId session);

    /** @return the sum over every session this instance served, including closed ones */
    ReorderStats totals();
}
