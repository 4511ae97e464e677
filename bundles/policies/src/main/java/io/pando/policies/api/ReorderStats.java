package io.pando.policies.api;

import org.osgi.annotation.versioning.ProviderType;

/**
 * Reordering measured by a reorder window, for one session or summed over all sessions of one strategy
 * instance.
 *
 * @param arrived datagrams given to the strategy
 * @param released datagrams handed to the sink (sent, or dropped at close); {@code arrived - released} is
 *        what is held now
 * @param releasedInOrder datagrams released in order: no datagram with a higher sequence number was
 *        released before them
 * @param releasedOutOfOrder datagrams released after a datagram with a higher sequence number: what the
 *        window could not put back in order (they arrived after the deadline or an overflow gave up on them)
 * @param heldNow datagrams held at this moment
 * @param heldTotal datagrams that had to wait in the window at all
 * @param deadlineReleases times the deadline gave up on a gap (a missing predecessor)
 * @param overflowReleases datagrams released early because the window was full
 * @param maxHoldNanos the longest time one datagram waited, in nanoseconds
 */
@ProviderType
public record ReorderStats(long arrived, long released, long releasedInOrder, long releasedOutOfOrder,
    long heldNow, long heldTotal, long deadlineReleases, long overflowReleases, long maxHoldNanos) {

    /** Nothing measured. */
    public static final ReorderStats EMPTY = new ReorderStats(0, 0, 0, 0, 0, 0, 0, 0, 0);

    /**
     * @param other another measurement
     * @return the sum of both (the maximum of {@link #maxHoldNanos})
     */
    public ReorderStats plus(ReorderStats other) {
        return new ReorderStats(arrived + other.arrived, released + other.released,
            releasedInOrder + other.releasedInOrder, releasedOutOfOrder + other.releasedOutOfOrder,
            heldNow + other.heldNow, heldTotal + other.heldTotal, deadlineReleases + other.deadlineReleases,
            overflowReleases + other.overflowReleases, Math.max(maxHoldNanos, other.maxHoldNanos));
    }
}
