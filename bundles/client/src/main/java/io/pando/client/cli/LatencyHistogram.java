package io.pando.client.cli;

/**
 * A log-linear histogram of non-negative values (microseconds) with bounded memory: exact below 128, then 64
 * sub-buckets per power of two (relative error under 1.6 %). Not thread-safe.
 */
public final class LatencyHistogram {

    private static final int LINEAR = 128;
    private static final int SUB_BITS = 6;
    private static final int SUB = 1 << SUB_BITS;

    private final long[] counts = new long[LINEAR + 64 * SUB];
    private long total;
    private long max;

    public void record(long value) {
        long v = Math.max(0, value);
        counts[index(v)]++;
        total++;
        max = Math.max(max, v);
    }

    public long count() {
        return total;
    }

    public long max() {
        return max;
    }

    /** @return the value at quantile q in [0, 1] (the bucket's upper bound), or 0 when empty */
    public long quantile(double q) {
        if (total == 0) {
            return 0;
        }
        long rank = Math.max(1, (long) Math.ceil(q * total));
        long seen = 0;
        for (int i = 0; i < counts.length; i++) {
            seen += counts[i];
            if (seen >= rank) {
                return Math.min(max, upperBound(i));
            }
        }
        return max;
    }

    static int index(long v) {
        if (v < LINEAR) {
            return (int) v;
        }
        int exp = 63 - Long.numberOfLeadingZeros(v) - SUB_BITS; // >= 1 since v >= 128
        int sub = (int) (v >>> exp) & (SUB - 1);
        return LINEAR + (exp - 1) * SUB + sub;
    }

    static long upperBound(int index) {
        if (index < LINEAR) {
            return index;
        }
        int exp = (index - LINEAR) / SUB + 1;
        int sub = (index - LINEAR) % SUB;
        return ((long) (SUB + sub) << exp) + (1L << exp) - 1;
    }
}
