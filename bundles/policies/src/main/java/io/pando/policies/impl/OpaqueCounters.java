package io.pando.policies.impl;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * Counters written by one thread and read by any: opaque stores and loads (atomic, eventually visible,
 * no fence on the writer's path).
 */
final class OpaqueCounters {

    private static final VarHandle LONGS = MethodHandles.arrayElementVarHandle(long[].class);

    private final long[] values;

    OpaqueCounters(int size) {
        values = new long[size];
    }

    /** Writer thread only. */
    void increment(int index) {
        LONGS.setOpaque(values, index, values[index] + 1);
    }

    /** Writer thread only. */
    void set(int index, long value) {
        LONGS.setOpaque(values, index, value);
    }

    /** Any thread. */
    long get(int index) {
        return (long) LONGS.getOpaque(values, index);
    }
}
