package io.pando.ep.rtpsync;

/**
 * Where a media clock sits on the unit's clock: the <em>base</em>, the lowest transit seen, where a packet's
 * transit is its arrival time minus its media time (both in microseconds). A packet's presentation time is its
 * media time plus the base: the least-delayed packet is presented when it arrived, every other packet as if it had
 * been that quick. A playout delay is added on top (by the caller) to absorb the others' extra delay.
 *
 * <p>The first packet sets the base (it anchors the stream); a packet quicker than any before lowers it at once.
 * So that the base can follow a sender clock that runs faster than the unit's (and recover from a timestamp jump
 * backwards), it is also raised once per window of {@value #WINDOW_MICROS} µs of arrival time to the lowest
 * transit of the window just ended, when that is more than {@value #RAISE_THRESHOLD_MICROS} µs above the base.
 */
final class Timeline {

    /** Length of the window whose lowest transit may raise the base. */
    static final long WINDOW_MICROS = 5_000_000;
    /** The least a window's lowest transit must be above the base to raise it. */
    static final long RAISE_THRESHOLD_MICROS = 1_000;

    private boolean anchored;
    private long base;
    private long windowLowest;
    private long windowEnd;
    /** How often the base was raised; for diagnostics. */
    long raises;

    /** Forgets the base: the next packet anchors the timeline again. */
    void reset() {
        anchored = false;
    }

    boolean anchored() {
        return anchored;
    }

    /** @return the base; only when {@link #anchored()} */
    long base() {
        return base;
    }

    /**
     * Takes one packet's transit into account.
     *
     * @param transit arrival time minus media time, µs
     * @param now the arrival time, µs
     */
    void observe(long transit, long now) {
        if (!anchored) {
            anchored = true;
            base = transit;
            windowLowest = Long.MAX_VALUE;
            windowEnd = now + WINDOW_MICROS;
        } else if (now - windowEnd >= 0) {
            if (windowLowest != Long.MAX_VALUE && windowLowest - base > RAISE_THRESHOLD_MICROS) {
                base = windowLowest;
                raises++;
            }
            windowLowest = Long.MAX_VALUE;
            windowEnd = now + WINDOW_MICROS;
        }
        if (transit < base) {
            base = transit;
        }
        if (transit < windowLowest) {
            windowLowest = transit;
        }
    }
}
