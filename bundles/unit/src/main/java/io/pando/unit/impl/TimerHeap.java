package io.pando.unit.impl;

import java.util.Arrays;

/**
 * The unit's timers that have not expired, as a binary min-heap by deadline (then by the order they were set); each
 * entry knows its index, so a cancel or a move is O(log n). Loop-confined.
 */
final class TimerHeap {

    private Timer[] heap = new Timer[64];
    private int size;

    int size() {
        return size;
    }

    Timer peek() {
        return size == 0 ? null : heap[0];
    }

    void add(Timer t) {
        if (size == heap.length) {
            heap = Arrays.copyOf(heap, size * 2);
        }
        heap[size] = t;
        t.heapIndex = size;
        size++;
        up(t.heapIndex);
    }

    Timer poll() {
        if (size == 0) {
            return null;
        }
        Timer head = heap[0];
        remove(head);
        return head;
    }

    /** Removes {@code t}, which must be in this heap. */
    void remove(Timer t) {
        int i = t.heapIndex;
        if (i < 0 || i >= size || heap[i] != t) {
            throw new IllegalStateException("timer " + t.id + " is not in the heap");
        }
        size--;
        Timer last = heap[size];
        heap[size] = null;
        t.heapIndex = -1;
        if (last != t) {
            heap[i] = last;
            last.heapIndex = i;
            down(i);
            up(last.heapIndex);
        }
    }

    private static boolean before(Timer a, Timer b) {
        long d = a.deadline - b.deadline;
        return d < 0 || d == 0 && a.order < b.order;
    }

    private void up(int i) {
        Timer t = heap[i];
        while (i > 0) {
            int p = (i - 1) >>> 1;
            Timer parent = heap[p];
            if (!before(t, parent)) {
                break;
            }
            heap[i] = parent;
            parent.heapIndex = i;
            i = p;
        }
        heap[i] = t;
        t.heapIndex = i;
    }

    private void down(int i) {
        Timer t = heap[i];
        while (true) {
            int c = 2 * i + 1;
            if (c >= size) {
                break;
            }
            if (c + 1 < size && before(heap[c + 1], heap[c])) {
                c++;
            }
            if (!before(heap[c], t)) {
                break;
            }
            heap[i] = heap[c];
            heap[i].heapIndex = i;
            i = c;
        }
        heap[i] = t;
        t.heapIndex = i;
    }
}
