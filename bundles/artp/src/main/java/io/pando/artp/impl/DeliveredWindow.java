package io.pando.artp.impl;

/**
 * Which datagram ids have been delivered: every id below {@link #cumulative()} and a bitmap of the ids in
 * [cumulative, cumulative + capacity). Suppresses duplicate datagrams and defines the flow-control credit.
 */
final class DeliveredWindow {

    private final long[] bits;
    private final int mask;
    private long cumulative;

    /** @param capacity power of two, >= the credit window */
    DeliveredWindow(int capacity) {
        if (Integer.bitCount(capacity) != 1 || capacity < 64) {
            throw new IllegalArgumentException("capacity must be a power of two >= 64: " + capacity);
        }
        bits = new long[capacity >>> 6];
        mask = capacity - 1;
    }

    long cumulative() {
        return cumulative;
    }

    int capacity() {
        return mask + 1;
    }

    boolean isDelivered(long id) {
        if (id < cumulative) {
            return true;
        }
        if (id - cumulative > mask) {
            return false;
        }
        int b = (int) (id & mask);
        return (bits[b >>> 6] & (1L << b)) != 0;
    }

    /** Marks an id delivered; the caller guarantees cumulative <= id < cumulative + capacity. */
    void markDelivered(long id) {
        int b = (int) (id & mask);
        bits[b >>> 6] |= 1L << b;
        while (true) {
            int c = (int) (cumulative & mask);
            long word = bits[c >>> 6];
            if ((word & (1L << c)) == 0) {
                return;
            }
            bits[c >>> 6] = word & ~(1L << c);
            cumulative++;
        }
    }
}
