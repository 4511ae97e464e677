package io.pando.ep.rtpsync;

import java.nio.ByteBuffer;

/**
 * The packets of one flow waiting for their presentation time, in ascending extended sequence number: the head
 * is the lowest. Bounded by the caller through {@link #overFull()} (count and bytes); holds one slot more than the
 * packet bound, so an insertion always has room and the caller then releases heads until it is within bounds.
 *
 * <p><b>Memory.</b> Slots are reused: each keeps a byte array (at least {@value #MIN_SLOT_BYTES} bytes, grown to
 * the next power of two of the largest packet it has held) and a {@link ByteBuffer} view of it. Once every slot
 * has held a packet as large as the stream's largest, inserting allocates nothing. The order is a ring of slot
 * indices; an insertion shifts the entries after the new one, so a packet that arrives {@code d} places out of
 * order costs {@code d} moves.
 */
final class JitterBuffer {

    static final int MIN_SLOT_BYTES = 256;

    private final int maxPackets;
    private final long maxBytes;
    private final int slots;
    private final byte[][] data;
    private final ByteBuffer[] views;
    private final int[] length;
    private final long[] sequence;
    private final long[] timestamp;
    private final int[] free;
    private int freeCount;
    /** Slot indices in ascending sequence, from {@code head}, {@code size} of them, modulo {@code slots}. */
    private final int[] order;
    private int head;
    private int size;
    private long bytes;

    JitterBuffer(int maxPackets, long maxBytes) {
        this.maxPackets = maxPackets;
        this.maxBytes = maxBytes;
        this.slots = maxPackets + 1;
        data = new byte[slots][];
        views = new ByteBuffer[slots];
        length = new int[slots];
        sequence = new long[slots];
        timestamp = new long[slots];
        free = new int[slots];
        order = new int[slots];
        for (int i = 0; i < slots; i++) {
            free[i] = slots - 1 - i;
        }
        freeCount = slots;
    }

    /**
     * Copies a packet in at its place in sequence order. The caller has checked that no packet with this sequence
     * is held, and keeps the buffer within bounds (one insertion beyond them at most).
     *
     * @param extendedSequence the packet's extended sequence number
     * @param extendedTimestamp the packet's extended timestamp
     * @param packet the packet's bytes, from index 0 to the limit (absolute reads; the buffer is not moved)
     */
    void insert(long extendedSequence, long extendedTimestamp, ByteBuffer packet) {
        if (freeCount == 0) {
            throw new IllegalStateException("jitter buffer: insert into a full buffer");
        }
        int slot = free[--freeCount];
        int n = packet.limit();
        byte[] d = data[slot];
        if (d == null || d.length < n) {
            d = new byte[Math.max(MIN_SLOT_BYTES, Integer.highestOneBit(Math.max(1, n - 1)) << 1)];
            data[slot] = d;
            views[slot] = ByteBuffer.wrap(d);
        }
        packet.get(0, d, 0, n);
        length[slot] = n;
        sequence[slot] = extendedSequence;
        timestamp[slot] = extendedTimestamp;
        int i = size;
        while (i > 0) {
            int before = order[(head + i - 1) % slots];
            if (sequence[before] < extendedSequence) {
                break;
            }
            order[(head + i) % slots] = before;
            i--;
        }
        order[(head + i) % slots] = slot;
        size++;
        bytes += n;
    }

    /** @return true if more packets or bytes are held than the bounds allow */
    boolean overFull() {
        return size > maxPackets || bytes > maxBytes;
    }

    boolean isEmpty() {
        return size == 0;
    }

    int size() {
        return size;
    }

    long bytes() {
        return bytes;
    }

    /** @return the extended sequence number of the head; only when not empty */
    long headSequence() {
        return sequence[order[head]];
    }

    /** @return the extended timestamp of the head; only when not empty */
    long headTimestamp() {
        return timestamp[order[head]];
    }

    /** @return a view of the head's bytes, position 0 and limit its length, valid until the next insertion */
    ByteBuffer headPacket() {
        int slot = order[head];
        ByteBuffer v = views[slot];
        v.clear().limit(length[slot]);
        return v;
    }

    /** Forgets the head; its slot is reused. Only when not empty. */
    void removeHead() {
        int slot = order[head];
        bytes -= length[slot];
        free[freeCount++] = slot;
        head = (head + 1) % slots;
        size--;
    }

    /** @return bytes of the slot arrays allocated so far; for tests */
    long allocatedBytes() {
        long total = 0;
        for (byte[] d : data) {
            total += d == null ? 0 : d.length;
        }
        return total;
    }
}
