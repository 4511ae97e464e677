package io.pando.client.cli;

import io.netty.buffer.ByteBuf;
import java.nio.ByteBuffer;
import java.util.zip.CRC32C;

/**
 * The test payload that {@code pando artp send} puts in each datagram and {@code pando artp recv} checks.
 *
 * <pre>
 *  off size
 *  0   8    sequence number (u64, 0, 1, 2, ...)
 *  8   8    send time, System.nanoTime() of the sender (meaningful on the same host only)
 *  16  4    CRC32C over every other byte of the datagram: bytes [0, 16) then [20, size)
 *  20  ...  filler: 64-bit words derived from the sequence number (see {@link #fillerWord}), big-endian,
 *           the last word truncated to what fits
 * </pre>
 *
 * The receiver recomputes both the filler and the CRC, so a datagram assembled from fragments of other
 * datagrams, shifted, truncated or bit-flipped fails the check.
 */
public final class Payload {

    /** Bytes before the filler. */
    public static final int HEADER = 20;
    /** Smallest datagram the tools send (header plus one filler word's worth of half). */
    public static final int MIN_SIZE = 24;
    /** Largest datagram the tools send (ARTP's default maximum datagram size). */
    public static final int MAX_SIZE = 1 << 20;

    private Payload() {
    }

    /**
     * Appends one payload of exactly {@code size} bytes to {@code out}.
     *
     * @throws IllegalArgumentException if size is outside [{@link #MIN_SIZE}, {@link #MAX_SIZE}]
     */
    public static void encode(ByteBuf out, long seq, long sendNanos, int size) {
        if (size < MIN_SIZE || size > MAX_SIZE) {
            throw new IllegalArgumentException("payload size must be in [" + MIN_SIZE + ", " + MAX_SIZE + "], got " + size);
        }
        int start = out.writerIndex();
        out.ensureWritable(size);
        out.writeLong(seq);
        out.writeLong(sendNanos);
        out.writeInt(0);
        int filler = size - HEADER;
        for (int i = 0; i < filler / 8; i++) {
            out.writeLong(fillerWord(seq, i));
        }
        int tail = filler % 8;
        if (tail > 0) {
            long word = fillerWord(seq, filler / 8);
            for (int b = 0; b < tail; b++) {
                out.writeByte((int) (word >>> (56 - 8 * b)));
            }
        }
        out.setInt(start + 16, (int) crc(out, start, size));
    }

    /**
     * The filler word {@code index} of datagram {@code seq}: a SplitMix64 output, so that neighbouring datagrams
     * and neighbouring words differ in about half their bits.
     */
    static long fillerWord(long seq, int index) {
        long z = seq * 0x9E3779B97F4A7C15L + (index + 1) * 0xD1B54A32D192ED03L;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    private static long crc(ByteBuf buf, int start, int size) {
        CRC32C crc = new CRC32C();
        update(crc, buf, start, 16);
        update(crc, buf, start + HEADER, size - HEADER);
        return crc.getValue();
    }

    private static void update(CRC32C crc, ByteBuf buf, int index, int length) {
        if (length == 0) {
            return;
        }
        if (buf.nioBufferCount() == 1) {
            crc.update(buf.nioBuffer(index, length));
        } else {
            for (ByteBuffer b : buf.nioBuffers(index, length)) {
                crc.update(b);
            }
        }
    }

    /**
     * Checks the readable bytes of {@code datagram} (does not move its indexes or release it).
     *
     * @return the decoded header, or {@code null} when the datagram is corrupt
     */
    public static Header verify(ByteBuf datagram) {
        int start = datagram.readerIndex();
        int size = datagram.readableBytes();
        if (size < MIN_SIZE || size > MAX_SIZE) {
            return null;
        }
        long seq = datagram.getLong(start);
        long sendNanos = datagram.getLong(start + 8);
        long expectedCrc = datagram.getUnsignedInt(start + 16);
        if (seq < 0 || crc(datagram, start, size) != expectedCrc) {
            return null;
        }
        int filler = size - HEADER;
        int index = start + HEADER;
        int words = filler / 8;
        for (int i = 0; i < words; i++, index += 8) {
            if (datagram.getLong(index) != fillerWord(seq, i)) {
                return null;
            }
        }
        int tail = filler % 8;
        if (tail > 0) {
            long word = fillerWord(seq, words);
            for (int b = 0; b < tail; b++) {
                if (datagram.getByte(index + b) != (byte) (word >>> (56 - 8 * b))) {
                    return null;
                }
            }
        }
        return new Header(seq, sendNanos, size);
    }

    /** What a verified payload carried. */
    public record Header(long seq, long sendNanos, int size) {
    }
}
