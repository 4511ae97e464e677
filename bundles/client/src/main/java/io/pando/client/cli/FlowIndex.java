package io.pando.client.cli;

import java.util.Arrays;

/**
 * Dense indexes 0, 1, 2, ... for the flow ids a receiver meets, in the order it meets them: a small open-addressing
 * table of primitive {@code long} keys, so that looking a flow up per datagram neither boxes nor allocates. Not
 * thread-safe; the receiver uses it under its lock.
 */
final class FlowIndex {

    private static final long EMPTY = -1; // flow ids are in [0, 2^32 - 1]

    private final int limit;
    private long[] keys = new long[16];
    private int[] slots = new int[16];
    private long[] flows = new long[8];
    private int size;

    /** @param limit most flows the index takes */
    FlowIndex(int limit) {
        this.limit = limit;
        Arrays.fill(keys, EMPTY);
    }

    /** @return the index of {@code flow}, or -1 if it has none */
    int indexOf(long flow) {
        int mask = keys.length - 1;
        for (int i = hash(flow) & mask; ; i = (i + 1) & mask) {
            long k = keys[i];
            if (k == flow) {
                return slots[i];
            }
            if (k == EMPTY) {
                return -1;
            }
        }
    }

    /** @return the index of {@code flow}, given the next free one if it had none; -1 if the index is full */
    int add(long flow) {
        int found = indexOf(flow);
        if (found >= 0) {
            return found;
        }
        if (size == limit) {
            return -1;
        }
        if ((size + 1) * 2 > keys.length) {
            grow();
        }
        put(flow, size);
        if (size == flows.length) {
            flows = Arrays.copyOf(flows, size * 2);
        }
        flows[size] = flow;
        return size++;
    }

    /** @return how many flows have an index */
    int size() {
        return size;
    }

    /** @return the flow with index {@code index} */
    long flowAt(int index) {
        if (index < 0 || index >= size) {
            throw new IndexOutOfBoundsException(index);
        }
        return flows[index];
    }

    private void put(long flow, int index) {
        int mask = keys.length - 1;
        int i = hash(flow) & mask;
        while (keys[i] != EMPTY) {
            i = (i + 1) & mask;
        }
        keys[i] = flow;
        slots[i] = index;
    }

    private void grow() {
        keys = new long[keys.length * 2];
        slots = new int[slots.length * 2];
        Arrays.fill(keys, EMPTY);
        for (int i = 0; i < size; i++) {
            put(flows[i], i);
        }
    }

    private static int hash(long flow) {
        long z = flow * 0x9E3779B97F4A7C15L;
        return (int) (z ^ (z >>> 32));
    }
}
