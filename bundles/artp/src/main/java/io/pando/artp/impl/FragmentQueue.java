package io.pando.artp.impl;

/** A FIFO of (datagram, fragment) pairs awaiting retransmission; a growable ring, no allocation per entry. */
final class FragmentQueue {

    private OutDatagram[] datagram = new OutDatagram[64];
    private long[] datagramId = new long[64];
    private int[] fragment = new int[64];
    private int head;
    private int size;

    int size() {
        return size;
    }

    boolean isEmpty() {
        return size == 0;
    }

    void add(OutDatagram d, int frag) {
        if (size == datagram.length) {
            grow();
        }
        int i = (head + size) & (datagram.length - 1);
        datagram[i] = d;
        datagramId[i] = d.id;
        fragment[i] = frag;
        size++;
    }

    /** @return the head's datagram if it is still the same datagram, else null (then drop the head anyway) */
    OutDatagram peekDatagram() {
        OutDatagram d = datagram[head];
        return d != null && d.id == datagramId[head] ? d : null;
    }

    int peekFragment() {
        return fragment[head];
    }

    void remove() {
        datagram[head] = null;
        head = (head + 1) & (datagram.length - 1);
        size--;
    }

    void clear() {
        while (size > 0) {
            remove();
        }
    }

    private void grow() {
        int cap = datagram.length;
        OutDatagram[] d = new OutDatagram[cap << 1];
        long[] di = new long[cap << 1];
        int[] f = new int[cap << 1];
        for (int k = 0; k < size; k++) {
            int i = (head + k) & (cap - 1);
            d[k] = datagram[i];
            di[k] = datagramId[i];
            f[k] = fragment[i];
        }
        datagram = d;
        datagramId = di;
        fragment = f;
        head = 0;
    }
}
