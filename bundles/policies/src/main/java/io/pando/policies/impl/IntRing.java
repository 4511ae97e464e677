package io.pando.policies.impl;

/**
 * A FIFO of ints in a ring that doubles when full and is reused after that: no allocation in steady state.
 * Not thread safe.
 */
final class IntRing {

    private int[] items;
    private int head;
    private int size;

    IntRing(int initialCapacity) {
        items = new int[Integer.highestOneBit(Math.max(2, initialCapacity - 1)) << 1];
    }

    void add(int value) {
        if (size == items.length) {
            grow();
        }
        items[(head + size) & (items.length - 1)] = value;
        size++;
    }

    /** @return the head; undefined when empty */
    int peek() {
        return items[head];
    }

    int poll() {
        int value = items[head];
        head = (head + 1) & (items.length - 1);
        size--;
        return value;
    }

    boolean isEmpty() {
        return size == 0;
    }

    int size() {
        return size;
    }

    private void grow() {
        int[] bigger = new int[items.length << 1];
        for (int i = 0; i < size; i++) {
            bigger[i] = items[(head + i) & (items.length - 1)];
        }
        items = bigger;
        head = 0;
    }
}
