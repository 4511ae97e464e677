package io.pando.client.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class LatencyHistogramTest {

    @Test
    void emptyIsZero() {
        LatencyHistogram h = new LatencyHistogram();
        assertEquals(0, h.quantile(0.5));
        assertEquals(0, h.count());
    }

    @Test
    void exactBelow128() {
        LatencyHistogram h = new LatencyHistogram();
        for (int v = 1; v <= 100; v++) {
            h.record(v);
        }
        assertEquals(50, h.quantile(0.5));
        assertEquals(99, h.quantile(0.99));
        assertEquals(100, h.quantile(1.0));
    }

    @Test
    void relativeErrorIsSmallForLargeValues() {
        for (long v : new long[] {128, 129, 1000, 12_345, 999_999, 1L << 40, Long.MAX_VALUE / 2}) {
            LatencyHistogram h = new LatencyHistogram();
            h.record(v);
            h.record(v);
            long q = h.quantile(0.5);
            assertTrue(q >= v && q <= v + v / 60 + 1, v + " -> " + q);
        }
    }

    @Test
    void bucketsAreContiguous() {
        for (long v = 0; v < 1_000_000; v += 7) {
            int i = LatencyHistogram.index(v);
            assertTrue(LatencyHistogram.upperBound(i) >= v);
            assertTrue(i == 0 || LatencyHistogram.upperBound(i - 1) < v, "value " + v);
        }
    }
}
