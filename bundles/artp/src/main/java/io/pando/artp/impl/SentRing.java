package io.pando.artp.impl;

/**
 * Packets sent and not yet acknowledged or declared lost, indexed by packet number (contiguous from
 * {@link #base()}). Parallel primitive arrays: nothing is allocated per packet once the ring has grown.
 */
final class SentRing {

    static final byte IN_FLIGHT = 1;
    static final byte ACKED = 2;
    static final byte LOST = 3;

    private long base = 1;
    private long next = 1;
    private int mask;
    private long[] sentAt;
    private int[] bytes;
    private OutDatagram[] datagram;
    private long[] datagramId;
    private int[] fragment;
    private byte[] status;
    private boolean[] ackEliciting;

    SentRing(int capacity) {
        allocate(Integer.highestOneBit(Math.max(16, capacity - 1)) << 1);
    }

    private void allocate(int capacity) {
        mask = capacity - 1;
        sentAt = new long[capacity];
        bytes = new int[capacity];
        datagram = new OutDatagram[capacity];
        datagramId = new long[capacity];
        fragment = new int[capacity];
        status = new byte[capacity];
        ackEliciting = new boolean[capacity];
    }

    long base() {
        return base;
    }

    long next() {
        return next;
    }

    boolean isEmpty() {
        return base == next;
    }

    /** Records packet number {@link #next()} and returns it. */
    long add(long now, int size, boolean eliciting, OutDatagram d, int frag) {
        if (next - base > mask) {
            grow();
        }
        long pn = next++;
        int i = (int) (pn & mask);
        sentAt[i] = now;
        bytes[i] = size;
        datagram[i] = d;
        datagramId[i] = d == null ? -1 : d.id;
        fragment[i] = frag;
        status[i] = IN_FLIGHT;
        ackEliciting[i] = eliciting;
        return pn;
    }

    private void grow() {
        int oldCap = mask + 1;
        long[] s = sentAt;
        int[] b = bytes;
        OutDatagram[] d = datagram;
        long[] di = datagramId;
        int[] f = fragment;
        byte[] st = status;
        boolean[] ae = ackEliciting;
        int oldMask = mask;
        allocate(oldCap << 1);
        for (long pn = base; pn < next; pn++) {
            int o = (int) (pn & oldMask);
            int n = (int) (pn & mask);
            sentAt[n] = s[o];
            bytes[n] = b[o];
            datagram[n] = d[o];
            datagramId[n] = di[o];
            fragment[n] = f[o];
            status[n] = st[o];
            ackEliciting[n] = ae[o];
        }
    }

    boolean contains(long pn) {
        return pn >= base && pn < next;
    }

    byte status(long pn) {
        return status[(int) (pn & mask)];
    }

    void setStatus(long pn, byte s) {
        status[(int) (pn & mask)] = s;
    }

    long sentAt(long pn) {
        return sentAt[(int) (pn & mask)];
    }

    int bytes(long pn) {
        return bytes[(int) (pn & mask)];
    }

    boolean ackEliciting(long pn) {
        return ackEliciting[(int) (pn & mask)];
    }

    /** @return the datagram this packet carried a fragment of, or null when it has been recycled since */
    OutDatagram datagram(long pn) {
        int i = (int) (pn & mask);
        OutDatagram d = datagram[i];
        return d != null && d.id == datagramId[i] ? d : null;
    }

    int fragment(long pn) {
        return fragment[(int) (pn & mask)];
    }

    /**
     * Drops acknowledged packets from the front, and lost ones once they are {@code keepLost} packets behind
     * the largest acknowledged: until then a late acknowledgement can still reveal a spurious loss.
     */
    void compact(long largestAcked, int keepLost) {
        while (base < next) {
            int i = (int) (base & mask);
            if (status[i] == IN_FLIGHT || (status[i] == LOST && largestAcked - base < keepLost)) {
                return;
            }
            datagram[i] = null;
            base++;
        }
    }

    /** Forgets everything (connection closing). */
    void clear() {
        for (long pn = base; pn < next; pn++) {
            datagram[(int) (pn & mask)] = null;
        }
        base = next;
    }
}
