package io.pando.ee.sandbox;

import java.io.IOException;
import java.nio.ByteBuffer;
import io.pando.ee.sandbox.launch.RingException;
import io.pando.ee.sandbox.launch.RingFile;
import java.util.Arrays;
import java.util.concurrent.locks.LockSupport;
import java.util.function.LongSupplier;

/**
 * Builds RESULTS frames in one reused direct buffer (written to the socket as it is, without the JDK's copy into a
 * temporary direct buffer; the program's ops are written straight into it by the {@link SessionContext}): one
 * result per datagram, sent at the end of each batch and as soon as the frame passes
 * {@link Protocol#RESULTS_FLUSH_BYTES} (with the rings, {@link #EAGER_BYTES} when the unit waits for it).
 *
 * <p>CPU time: the worker's CPU clock is read once per frame (when its first result is due and when it is sent), not
 * per datagram: a read of a thread's CPU clock is a system call, about a microsecond on a VM. The frame's CPU time
 * is shared among its results in proportion to each datagram's wall time (one {@code System.nanoTime} per datagram),
 * so the CPU times a sandbox reports add up to what its worker spent, each datagram's an estimate that is exact
 * when the worker was not descheduled.
 *
 * <p>With the shared-memory rings (protocol version 3), a frame is a record of the ring to the unit (the same
 * bytes), and the unit is sent a WAKE frame only when it said it sleeps. Where the ring has room when a frame
 * begins, the frame is built in place, in the room the ring gives it: the program's results are written into the
 * ring once, and publishing the frame is a release store. A frame that outgrows that room (a result larger than
 * {@link #RING_SLACK}) continues in a buffer of the writer's, like a frame begun while the ring was full, and is
 * copied into the ring when it is sent. A frame larger than half the ring goes on the socket after a SPILL record
 * that keeps its place in order. While the ring is full the worker waits (polling, then parking for up to a
 * millisecond at a time) for the unit to read it.
 */
final class ResultsWriter {

    private static final int HEADER = 4 + 1 + 4;
    /** Offset of the u64 cpu field in a result: after u64 seq · u8 status. */
    private static final int CPU_FIELD = 8 + 1;
    /** Bytes of a result before its ops without an error: u64 seq · u8 status · u64 cpu · u16 nOps. */
    private static final int FIXED = 8 + 1 + 8 + 2;

    private final FrameChannel channel;
    private final LongSupplier cpuClock;
    private final RingFile.Ring ring;
    /**
     * In the ring: a frame in place is sent before a result begins with less room than this left, so that a result
     * of up to about this size never makes it move out of the ring.
     */
    static final int RING_SLACK = 16 << 10;
    /**
     * In the ring: a frame is sent once it holds this much if the unit has read every frame before it (it would
     * wait for this one otherwise); else at {@link Protocol#RESULTS_FLUSH_BYTES} or at the end of its batch.
     */
    static final int EAGER_BYTES = 32 << 10;
    /** In the ring: the room a frame in place asks for (it may get less, down to a result's {@link #RING_SLACK}). */
    private static final int RING_FRAME = Protocol.RESULTS_FLUSH_BYTES + (64 << 10);

    private final ByteBuffer wake = ByteBuffer.allocateDirect(5).putInt(0, 1).put(4, (byte) Protocol.WAKE_UNIT);
    /** The writer's own frame buffer: frames on the socket, and frames that could not be built in the ring. */
    private ByteBuffer own = ByteBuffer.allocateDirect(RING_FRAME);
    /** The frame being built: {@link #own}, a larger copy of it, or {@link #inRing}. */
    private ByteBuffer out = own;
    /** The room in the ring of the frame being built in place (a view from its first byte), or null. */
    private ByteBuffer inRing;
    /** Frames sent: built in place in the ring, copied into it, sent on the socket after a SPILL record. */
    long framesInRing;
    long framesCopied;
    long framesSpilled;
    private int count;
    /** Per result of the frame being built: where its cpu field is, and its datagram's wall time. */
    private int[] cpuAt = new int[1024];
    private long[] wall = new long[1024];
    private long frameWall;
    /** Where the result in process begins. */
    private int resultAt;
    /** The worker's CPU clock when the frame being built began. */
    private long frameCpu;

    /**
     * @param channel where frames go
     * @param cpuClock the worker's CPU clock (ns); read on the worker's thread
     * @param rings the shared-memory rings, or null: frames on the socket
     */
    ResultsWriter(FrameChannel channel, LongSupplier cpuClock, RingFile rings) {
        this.channel = channel;
        this.cpuClock = cpuClock;
        this.ring = rings == null ? null : rings.toUnit();
    }

    /** A batch begins: its datagrams' CPU time counts from now. */
    void batchStarted() {
        frameCpu = cpuClock.getAsLong();
    }

    /**
     * A datagram is about to be processed: its result begins here, and {@code session} is started with its ops
     * written straight into the frame, after room for the result's fixed fields.
     */
    void begin(SessionContext session, Thread worker) throws IOException {
        if (count > 0 && out == inRing && out.capacity() - out.position() < FIXED + RING_SLACK) {
            flush(); // the frame's room in the ring is used up: it goes now, the next one gets new room
            frameCpu = cpuClock.getAsLong();
        }
        if (count == 0) {
            out = frameBuffer();
            out.clear();
            out.position(HEADER);
            frameWall = 0;
        }
        resultAt = out.position();
        if (out.capacity() - resultAt < FIXED + 1024) {
            grow(resultAt + FIXED + (64 << 10));
        }
        session.begin(worker, out, resultAt + FIXED);
    }

    /**
     * @return where the next frame is built: in place in the ring when it has room for one now, else in the
     *         writer's own buffer
     */
    private ByteBuffer frameBuffer() throws ProtocolException {
        inRing = null;
        if (ring == null) {
            return own;
        }
        int at;
        try {
            at = ring.begin(Math.min(HEADER + FIXED + RING_SLACK, ring.maxRecord()), Math.min(RING_FRAME,
                ring.maxRecord()));
        } catch (RingException e) {
            throw new ProtocolException(e.getMessage());
        }
        if (at < 0) {
            return own;
        }
        inRing = ring.data().slice(at, ring.limit() - at);
        return inRing;
    }

    /**
     * Completes the result begun by {@link #begin}, with the ops {@code session} recorded; sends the frame if it
     * passed the flush size (the next frame's CPU time then counts from after the write).
     *
     * @param wallNanos the datagram's wall time, by which it gets its share of the frame's CPU time
     * @param error the error (status 1), UTF-8, or null (status 0)
     * @return whether a frame was sent
     */
    boolean end(long seq, long wallNanos, byte[] error, SessionContext session) throws IOException {
        out = session.buffer(); // a larger copy if the ops filled it
        int opsLen = session.opsLength();
        int opsAt = resultAt + FIXED;
        int nOpsAt = resultAt + 8 + 1 + 8;
        if (error != null) { // rare: the error goes before the ops, which move up
            int shift = 2 + error.length;
            out.limit(out.capacity()).position(opsAt + opsLen); // what grow keeps: an op cut short is not
            if (out.capacity() < opsAt + shift + opsLen) {
                grow(opsAt + shift + opsLen);
            }
            if (opsLen > 0) {
                byte[] moved = new byte[opsLen];
                out.get(opsAt, moved);
                out.put(opsAt + shift, moved);
            }
            out.putShort(nOpsAt, (short) error.length);
            out.put(nOpsAt + 2, error);
            nOpsAt += shift;
        }
        if (count == cpuAt.length) {
            cpuAt = Arrays.copyOf(cpuAt, count * 2);
            wall = Arrays.copyOf(wall, count * 2);
        }
        long w = Math.max(0, wallNanos);
        cpuAt[count] = resultAt + CPU_FIELD;
        wall[count] = w;
        frameWall += w;
        out.putLong(resultAt, seq);
        out.put(resultAt + 8, (byte) (error == null ? Protocol.STATUS_OK : Protocol.STATUS_THREW));
        out.putShort(nOpsAt, (short) session.opCount());
        out.limit(out.capacity()).position(nOpsAt + 2 + opsLen);
        count++;
        if (out.position() > Protocol.RESULTS_FLUSH_BYTES
            || ring != null && out.position() >= EAGER_BYTES && ring.drained()) {
            flush();
            frameCpu = cpuClock.getAsLong();
            return true;
        }
        return false;
    }

    /** Replaces the frame buffer by a larger copy (what is in it up to its position kept). */
    private void grow(int capacity) {
        ByteBuffer bigger = ByteBuffer.allocateDirect(Math.max(capacity, out.capacity()));
        bigger.put(0, out, 0, out.position()).position(out.position());
        out = bigger;
    }

    /** Sends the results added since the last frame, if any. */
    void flush() throws IOException {
        if (count == 0) {
            return;
        }
        long cpu = Math.max(0, cpuClock.getAsLong() - frameCpu);
        double perWallNano = frameWall > 0 ? (double) cpu / frameWall : 0;
        long even = frameWall > 0 ? 0 : cpu / count;
        for (int i = 0; i < count; i++) {
            out.putLong(cpuAt[i], frameWall > 0 ? (long) (wall[i] * perWallNano) : even);
        }
        int end = out.position();
        out.putInt(0, end - 4);
        out.put(4, (byte) Protocol.RESULTS);
        out.putInt(5, count);
        if (out == inRing) { // built in place: the room is the ring's from where the record begins
            inRing = null;
            out = own;
            count = 0;
            framesInRing++;
            publish(end);
            return;
        }
        inRing = null;
        own = out; // a larger copy stays for the next frames
        count = 0;
        if (ring != null) {
            if (end <= ring.maxRecord()) {
                int at = reserve(end);
                ring.data().put(at, out, 0, end);
                framesCopied++;
                publish(end);
                out.clear();
                return;
            }
            int at = reserve(RingFile.RECORD_HEADER);
            ring.data().putInt(at, 1).put(at + 4, (byte) RingFile.SPILL);
            framesSpilled++;
            publish(RingFile.RECORD_HEADER);
        }
        out.flip();
        channel.write(out);
        out.clear();
    }

    /** @return where a record of {@code size} bytes goes in the ring, once the unit has made room */
    private int reserve(int size) throws IOException {
        long spinUntil = System.nanoTime() + 20_000;
        long park = 10_000;
        while (true) {
            int at;
            try {
                at = ring.begin(size, size);
            } catch (RingException e) {
                throw new ProtocolException(e.getMessage());
            }
            if (at >= 0) {
                return at;
            }
            if (System.nanoTime() - spinUntil < 0) {
                Thread.onSpinWait();
            } else {
                LockSupport.parkNanos(park);
                park = Math.min(1_000_000, park * 2);
            }
        }
    }

    private void publish(int size) throws IOException {
        if (ring.commit(size)) {
            channel.write(wake.clear());
        }
    }
}
