package io.pando.artp.impl;

/**
 * The packet numbers a receiver has seen, as at most {@code capacity} disjoint ranges, newest first. When a new
 * range does not fit, the oldest is forgotten and everything at or below it counts as seen ({@link #floor()}):
 * a packet that old is a duplicate or a replay, and its data, if still needed, comes again in a newer packet.
 */
final class RangeSet {

    private final long[] lo;
    private final long[] hi;
    private int count;
    private long floor;

    RangeSet(int capacity) {
        lo = new long[capacity];
        hi = new long[capacity];
    }

    int count() {
        return count;
    }

    long low(int i) {
        return lo[i];
    }

    long high(int i) {
        return hi[i];
    }

    long floor() {
        return floor;
    }

    long largest() {
        return count == 0 ? floor : hi[0];
    }

    boolean contains(long pn) {
        if (pn <= floor) {
            return true;
        }
        for (int i = 0; i < count; i++) {
            if (pn > hi[i]) {
                return false;
            }
            if (pn >= lo[i]) {
                return true;
            }
        }
        return false;
    }

    /**
     * Records a packet number.
     *
     * @return false if it was already recorded (a duplicate)
     */
    boolean add(long pn) {
        if (pn <= floor) {
            return false;
        }
        for (int i = 0; i < count; i++) {
            if (pn > hi[i] + 1) {
                insert(i, pn);
                return true;
            }
            if (pn == hi[i] + 1) {
                hi[i] = pn;
                return true;
            }
            if (pn >= lo[i]) {
                return false;
            }
            if (pn == lo[i] - 1) {
                lo[i] = pn;
                if (i + 1 < count && hi[i + 1] + 1 == pn) {
                    lo[i] = lo[i + 1];
                    remove(i + 1);
                }
                return true;
            }
        }
        insert(count, pn);
        return true;
    }

    private void insert(int at, long pn) {
        if (count == lo.length) {
            // forget the oldest range
            floor = Math.max(floor, hi[count - 1]);
            count--;
            if (at > count) {
                floor = Math.max(floor, pn);
                return;
            }
        }
        System.arraycopy(lo, at, lo, at + 1, count - at);
        System.arraycopy(hi, at, hi, at + 1, count - at);
        lo[at] = pn;
        hi[at] = pn;
        count++;
    }

    private void remove(int at) {
        System.arraycopy(lo, at + 1, lo, at, count - at - 1);
        System.arraycopy(hi, at + 1, hi, at, count - at - 1);
        count--;
    }
}
