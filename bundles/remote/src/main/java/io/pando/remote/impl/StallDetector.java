package io.pando.remote.impl;

/**
 * The data-path rule that declares a unit node hung (README, "Failure", detection): the node holds datagrams this
 * node gave it and has not acknowledged, and nothing at all has come from it — no ARTP packet on any of its data
 * connections, no acknowledgement of processed datagrams, no reply on its control connection — for
 * {@code max(floor, 4 × the largest RTO of its data connections)}.
 *
 * <p>A node that is merely slow (CPU-capped, a loaded machine, a GC pause) keeps acknowledging packets on its ARTP
 * loop and answering polls on its admin thread, only later; a stopped process sends nothing. An idle node (nothing
 * outstanding) is never declared by this rule: its silence restarts whenever nothing is outstanding (the poll
 * timeout covers an idle node). And silence accrues only while this node itself runs: each check adds the time
 * since the previous check, but at most {@code maxStep}, so a distribution node that was itself stalled (its own
 * GC or a starved loop, with the peer's packets still unread in its socket buffers) does not blame the peer.
 *
 * <p>Pure logic on a clock the caller passes in (deterministic in tests); used on one thread (the control loop).
 */
final class StallDetector {

    /** How many RTOs of silence, at least, make a node hung. */
    static final int RTO_FACTOR = 4;

    private final long floorNanos;
    private final long maxStepNanos;
    private boolean started;
    private long lastCheck;
    private long lastSignature;
    private long silentNanos;

    /**
     * @param floorNanos the shortest silence that declares a node hung ({@code stall.ms})
     * @param maxStepNanos the most one check adds to the silence (about two check periods)
     */
    StallDetector(long floorNanos, long maxStepNanos) {
        if (floorNanos <= 0 || maxStepNanos <= 0) {
            throw new IllegalArgumentException("floor and step must be > 0, got " + floorNanos + ", " + maxStepNanos);
        }
        this.floorNanos = floorNanos;
        this.maxStepNanos = maxStepNanos;
    }

    /**
     * One check.
     *
     * @param now the caller's clock, in nanoseconds
     * @param signature anything that changes whenever something comes from the node (a sum of counters); a
     *     change means the node is alive
     * @param outstanding whether the node holds datagrams not yet acknowledged
     * @param rtoNanos the largest retransmission timeout of the node's data connections (0 if unknown)
     * @return whether the node is hung: the caller declares it failed (and {@link #reset}s)
     */
    boolean check(long now, long signature, boolean outstanding, long rtoNanos) {
        long step = started ? Math.min(Math.max(now - lastCheck, 0), maxStepNanos) : 0;
        started = true;
        lastCheck = now;
        if (signature != lastSignature || !outstanding) {
            lastSignature = signature;
            silentNanos = 0;
            return false;
        }
        silentNanos += step;
        return silentNanos >= bound(rtoNanos);
    }

    /** @return how long the node must stay silent with datagrams outstanding, given its connections' RTO */
    long bound(long rtoNanos) {
        return Math.max(floorNanos, rtoNanos > Long.MAX_VALUE / RTO_FACTOR ? Long.MAX_VALUE : RTO_FACTOR * rtoNanos);
    }

    /** @return the silence so far, in nanoseconds */
    long silentNanos() {
        return silentNanos;
    }

    /** Forgets the past: after a declaration, or a new connection to the node. */
    void reset() {
        started = false;
        silentNanos = 0;
    }
}
