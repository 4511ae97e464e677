package io.pando.ee.sandbox.launch;

import java.io.Closeable;
import java.io.IOException;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * The shared-memory rings of one sandbox (docs/ee.md, protocol version 3, "Rings"): a file the unit creates next
 * to the sandbox's socket and both JVMs map, holding one single-producer / single-consumer ring each way. The unit
 * writes BATCH records into {@link #toSandbox()} and reads RESULTS records from {@link #toUnit()}; the socket stays
 * for the other frames and as the doorbell (a consumer that finds its ring empty announces that it sleeps, and the
 * producer sends a WAKE frame only then).
 *
 * <pre>
 * header (4096 B): u32 magic "PRNG" · u32 version (3) · u32 capacity to the sandbox · u32 capacity to the unit,
 *                  then per ring three u64 counters (native little-endian, one per 64-byte line):
 *                  tail (producer's), head (consumer's), sleeping (consumer's: 1 = wake me)
 * ring  = capacity bytes of records, each at an 8-byte aligned offset, never across the ring's end:
 * record = u32 length · u8 type · payload   ; length counts type + payload, like a frame (big-endian)
 * </pre>
 *
 * Counters are byte positions that only grow (the offset in the ring is the position modulo the capacity, a power
 * of two); the producer publishes its tail with a release store after writing a record, the consumer its head with
 * a release store once it no longer reads the record. A record of type {@link #PAD} fills the rest of the ring
 * before a record that would not fit there. A record is at most half the ring ({@link Ring#maxRecord()}), so it
 * always fits once the ring is empty.
 *
 * <p>Neither side trusts the other's counters or records: a counter that moves backwards or beyond what the ring
 * holds, a record whose length leaves the ring or what was published, fails with a {@link RingException}. What a
 * record holds is checked by whoever reads it, field by field, like a frame.
 */
public final class RingFile implements Closeable {

    /** "PRNG". */
    public static final int MAGIC = 0x50524E47;
    /** The layout's version: that of the protocol that introduced it. */
    public static final int VERSION = 3;
    /** Bytes before the rings. */
    public static final int HEADER = 4096;
    /** Capacity of each ring, by default. */
    public static final int DEFAULT_CAPACITY = 1 << 20;
    public static final int MIN_CAPACITY = 64 << 10;
    public static final int MAX_CAPACITY = 16 << 20;
    /** Bytes of a record before its payload: u32 length · u8 type. */
    public static final int RECORD_HEADER = 5;
    /** Record type: nothing, up to the ring's end. */
    public static final int PAD = 0x00;
    /**
     * Record type: the next frame of this direction comes on the socket (a batch or results too large for the ring),
     * and the reader reads it there before any further record.
     */
    public static final int SPILL = 0x7F;

    private static final int TO_SANDBOX_TAIL = 64;
    private static final int TO_SANDBOX_HEAD = 128;
    private static final int TO_SANDBOX_SLEEPING = 192;
    private static final int TO_UNIT_TAIL = 256;
    private static final int TO_UNIT_HEAD = 320;
    private static final int TO_UNIT_SLEEPING = 384;

    private static final VarHandle LONGS = MethodHandles.byteBufferViewVarHandle(long[].class,
        ByteOrder.LITTLE_ENDIAN);

    private final FileChannel channel;
    private final MappedByteBuffer map;
    private final Ring toSandbox;
    private final Ring toUnit;

    private RingFile(FileChannel channel, MappedByteBuffer map, int toSandboxCapacity, int toUnitCapacity) {
        this.channel = channel;
        this.map = map;
        this.toSandbox = new Ring(map, HEADER, toSandboxCapacity, TO_SANDBOX_TAIL, TO_SANDBOX_HEAD,
            TO_SANDBOX_SLEEPING);
        this.toUnit = new Ring(map, HEADER + toSandboxCapacity, toUnitCapacity, TO_UNIT_TAIL, TO_UNIT_HEAD,
            TO_UNIT_SLEEPING);
    }

    /** @return the file's size for these capacities */
    public static long size(int toSandboxCapacity, int toUnitCapacity) {
        return (long) HEADER + toSandboxCapacity + toUnitCapacity;
    }

    /**
     * The unit's side: creates {@code file} (which must not exist), sized for two rings of {@code capacity} bytes,
     * and writes its header. Only the header's page is touched: the sandbox touches the rest, so that the rings'
     * memory is charged to the sandbox's cgroup.
     *
     * @throws IllegalArgumentException if the capacity is not a power of two in [{@value #MIN_CAPACITY},
     *         {@value #MAX_CAPACITY}]
     */
    public static RingFile create(Path file, int capacity) throws IOException {
        checkCapacity(capacity);
        FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.READ,
            StandardOpenOption.WRITE);
        try {
            long size = size(capacity, capacity);
            ch.truncate(size);
            ch.write(ByteBuffer.allocate(1), size - 1); // the file's length; the bytes stay holes until touched
            MappedByteBuffer m = ch.map(FileChannel.MapMode.READ_WRITE, 0, size);
            m.putInt(0, MAGIC).putInt(4, VERSION).putInt(8, capacity).putInt(12, capacity);
            RingFile r = new RingFile(ch, m, capacity, capacity);
            LONGS.setVolatile(m, TO_UNIT_SLEEPING, 1L); // the unit reads results when woken
            return r;
        } catch (IOException | RuntimeException | InternalError e) { // InternalError: a fault on the mapping
            ch.close();
            throw e;
        }
    }

    /**
     * The sandbox's side: maps {@code file}, checks its header against its size, and touches every page of the
     * rings (so that their memory is counted in the sandbox's cgroup, and no page fault waits in the datagram
     * path).
     *
     * @throws RingException if the header is not one this code writes
     */
    public static RingFile open(Path file) throws IOException {
        FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE);
        try {
            long size = ch.size();
            if (size < HEADER) {
                throw new RingException("ring file of " + size + " bytes, less than its header");
            }
            MappedByteBuffer m = ch.map(FileChannel.MapMode.READ_WRITE, 0, HEADER);
            int magic = m.getInt(0);
            int version = m.getInt(4);
            int a = m.getInt(8);
            int b = m.getInt(12);
            if (magic != MAGIC || version != VERSION) {
                throw new RingException("ring file: magic 0x" + Integer.toHexString(magic) + " version " + version
                    + ", expected 0x" + Integer.toHexString(MAGIC) + " version " + VERSION);
            }
            try {
                checkCapacity(a);
                checkCapacity(b);
            } catch (IllegalArgumentException e) {
                throw new RingException("ring file: " + e.getMessage());
            }
            if (size != size(a, b)) {
                throw new RingException("ring file of " + size + " bytes, its header says " + size(a, b));
            }
            m = ch.map(FileChannel.MapMode.READ_WRITE, 0, size);
            for (int p = HEADER; p < size; p += 4096) {
                m.put(p, (byte) 0);
            }
            return new RingFile(ch, m, a, b);
        } catch (IOException | RuntimeException | InternalError e) { // InternalError: a fault on the mapping
            ch.close();
            throw e;
        }
    }

    private static void checkCapacity(int c) {
        if (c < MIN_CAPACITY || c > MAX_CAPACITY || Integer.bitCount(c) != 1) {
            throw new IllegalArgumentException("ring capacity " + c + " is not a power of two in [" + MIN_CAPACITY
                + ", " + MAX_CAPACITY + "]");
        }
    }

    /** @return the ring from the unit to the sandbox (BATCH, SHUTDOWN, SPILL records) */
    public Ring toSandbox() {
        return toSandbox;
    }

    /** @return the ring from the sandbox to the unit (RESULTS, SPILL records) */
    public Ring toUnit() {
        return toUnit;
    }

    /** Unmaps nothing (the mapping goes with the buffer); closes the file. */
    @Override
    public void close() throws IOException {
        channel.close();
    }

    /** Rounds up to a multiple of 8: where the next record begins. */
    static long align(long n) {
        return (n + 7) & ~7L;
    }

    /**
     * One direction. Its producer calls {@link #begin}, writes a record into {@link #data()} and {@link #commit}s it;
     * its consumer calls {@link #next}, reads the record and {@link #release}s it. Each side is used by one thread.
     */
    public static final class Ring {
        private final MappedByteBuffer header;
        private final ByteBuffer data;
        private final int capacity;
        private final int mask;
        private final int tailAt;
        private final int headAt;
        private final int sleepingAt;
        /** The producer's tail, or the tail the consumer last read. */
        private long tail;
        /** The consumer's head, or the head the producer last read. */
        private long head;
        private int limit;
        private int recordLength;
        private int recordType;

        Ring(MappedByteBuffer map, int offset, int capacity, int tailAt, int headAt, int sleepingAt) {
            this.header = map;
            this.data = map.slice(offset, capacity).order(ByteOrder.BIG_ENDIAN);
            this.capacity = capacity;
            this.mask = capacity - 1;
            this.tailAt = tailAt;
            this.headAt = headAt;
            this.sleepingAt = sleepingAt;
            this.tail = (long) LONGS.getVolatile(map, tailAt);
            this.head = (long) LONGS.getVolatile(map, headAt);
            if (tail != 0 || head != 0) {
                throw new IllegalStateException("ring already in use");
            }
        }

        /** @return the ring's bytes (absolute indexes 0 .. capacity); records are written and read in place */
        public ByteBuffer data() {
            return data;
        }

        public int capacity() {
            return capacity;
        }

        /** @return the largest record (header included) this ring carries; a larger one goes on the socket */
        public int maxRecord() {
            return capacity / 2;
        }

        // ---- producer

        /**
         * Finds room for a record of at least {@code min} bytes (header included), contiguous, padding the end of
         * the ring if it is too short. @return the index where the record goes (the room ends at {@link #limit()},
         * at most {@code want} bytes on), or -1 if the ring has no room now
         *
         * @throws RingException if the consumer's head is not one it could have published
         */
        public int begin(int min, int want) throws RingException {
            if (min < RECORD_HEADER || min > maxRecord()) {
                throw new IllegalArgumentException("record of " + min + " bytes, ring of " + capacity);
            }
            long h = (long) LONGS.getAcquire(header, headAt);
            if (h < head || h > tail || (h & 7) != 0) {
                throw new RingException("ring head " + h + " outside [" + head + ", " + tail + "]");
            }
            head = h;
            long free = capacity - (tail - h);
            int at = (int) (tail & mask);
            int toEnd = capacity - at;
            long need = align(min);
            if (toEnd < need) {
                if (free < toEnd + need) {
                    return -1;
                }
                data.putInt(at, toEnd - 4).put(at + 4, (byte) PAD);
                tail += toEnd;
                LONGS.setRelease(header, tailAt, tail);
                free -= toEnd;
                at = 0;
                toEnd = capacity;
            } else if (free < need) {
                return -1;
            }
            limit = at + (int) Math.min(Math.min(free, toEnd), Math.max(min, want));
            return at;
        }

        /** @return the end of the room {@link #begin} found */
        public int limit() {
            return limit;
        }

        /**
         * Publishes the record written at the index {@link #begin} returned. @return whether the consumer sleeps and
         * must be woken (it is then counted as awake: the next commit does not ask again)
         */
        public boolean commit(int size) {
            if (size < RECORD_HEADER || (tail & mask) + size > capacity) {
                throw new IllegalArgumentException("record of " + size + " bytes at " + (tail & mask));
            }
            tail += align(size);
            LONGS.setRelease(header, tailAt, tail);
            VarHandle.fullFence();
            return (long) LONGS.getVolatile(header, sleepingAt) != 0L
                && LONGS.compareAndSet(header, sleepingAt, 1L, 0L);
        }

        /** @return whether the consumer has released everything published (as last seen by {@link #begin}) */
        public boolean drained() {
            return (long) LONGS.getAcquire(header, headAt) == tail;
        }

        // ---- consumer

        /**
         * @return the index of the next record (its length and type in {@link #recordLength()} and
         *         {@link #recordType()}), or -1 if the ring is empty; padding is skipped
         * @throws RingException if the producer's tail or the record's length is not one it could have written
         */
        public int next() throws RingException {
            while (true) {
                long t = (long) LONGS.getAcquire(header, tailAt);
                if (t < tail || t - head > capacity || t < head) {
                    throw new RingException("ring tail " + t + " outside [" + head + ", " + (head + capacity) + "]");
                }
                tail = t;
                if (t == head) {
                    return -1;
                }
                long avail = t - head;
                int at = (int) (head & mask);
                if (avail < RECORD_HEADER) {
                    throw new RingException("ring record header truncated: " + avail + " bytes published");
                }
                int len = data.getInt(at);
                int type = data.get(at + 4) & 0xFF;
                if (type == PAD) {
                    int skip = capacity - at;
                    if (len != skip - 4 || avail < skip) {
                        throw new RingException("ring padding of " + Integer.toUnsignedString(len) + " bytes at "
                            + at + ", the ring ends " + skip + " bytes on");
                    }
                    head += skip;
                    LONGS.setRelease(header, headAt, head);
                    continue;
                }
                if (len < 1 || align(4L + len) > avail || at + 4L + len > capacity) {
                    throw new RingException("ring record of length " + Integer.toUnsignedString(len) + " at " + at
                        + ": beyond what was published (" + avail + " bytes) or the ring's end");
                }
                recordLength = len;
                recordType = type;
                return at;
            }
        }

        /** @return the length field (type + payload) of the record {@link #next} found, as checked */
        public int recordLength() {
            return recordLength;
        }

        /** @return the type of the record {@link #next} found */
        public int recordType() {
            return recordType;
        }

        /** The record {@link #next} found is no longer read: the producer may reuse its room. */
        public void release() {
            head += align(4L + recordLength);
            LONGS.setRelease(header, headAt, head);
        }

        /**
         * Announces that the consumer sleeps until woken, unless a record arrived meanwhile. @return whether it
         * sleeps (false: the announcement is withdrawn, read the ring)
         */
        public boolean sleep() {
            LONGS.setVolatile(header, sleepingAt, 1L);
            VarHandle.fullFence();
            if ((long) LONGS.getAcquire(header, tailAt) != head) {
                LONGS.setVolatile(header, sleepingAt, 0L);
                return false;
            }
            return true;
        }

        /** @return whether the producer has published a record not yet released */
        public boolean pending() {
            return (long) LONGS.getAcquire(header, tailAt) != head;
        }
    }
}
