package io.pando.ee.sandbox;

import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * Builds RESULTS frames in one reused direct buffer (written to the socket as it is, without the JDK's copy into a
 * temporary direct buffer): one result per datagram, sent at the end of each batch and as soon as the frame passes
 * {@link Protocol#RESULTS_FLUSH_BYTES}.
 */
final class ResultsWriter {

    private static final int HEADER = 4 + 1 + 4;

    private final FrameChannel channel;
    private ByteBuffer out = ByteBuffer.allocateDirect(Protocol.RESULTS_FLUSH_BYTES + (64 << 10));
    private int count;

    ResultsWriter(FrameChannel channel) {
        this.channel = channel;
    }

    /**
     * Appends one datagram's result, with the ops recorded in {@code ops}; sends the frame if it passed the flush
     * size.
     *
     * @param error the error (status 1), UTF-8, or null (status 0)
     * @return whether a frame was sent
     */
    boolean add(long seq, long cpuNanos, byte[] error, SessionContext ops) throws IOException {
        int need = 8 + 1 + 8 + (error == null ? 0 : 2 + error.length) + 2 + ops.opsLength();
        if (count == 0) {
            out.clear();
            out.position(HEADER);
        }
        if (out.remaining() < need) {
            ByteBuffer bigger = ByteBuffer.allocateDirect(out.position() + need + (64 << 10));
            bigger.put(out.flip());
            out = bigger;
        }
        out.putLong(seq);
        out.put((byte) (error == null ? Protocol.STATUS_OK : Protocol.STATUS_THREW));
        out.putLong(Math.max(0, cpuNanos));
        if (error != null) {
            Fields.str(out, error);
        }
        out.putShort((short) ops.opCount());
        ops.copyOps(out);
        count++;
        if (out.position() > Protocol.RESULTS_FLUSH_BYTES) {
            flush();
            return true;
        }
        return false;
    }

    /** Sends the results added since the last frame, if any. */
    void flush() throws IOException {
        if (count == 0) {
            return;
        }
        int end = out.position();
        out.putInt(0, end - 4);
        out.put(4, (byte) Protocol.RESULTS);
        out.putInt(5, count);
        out.flip();
        channel.write(out);
        count = 0;
        out.clear();
    }
}
