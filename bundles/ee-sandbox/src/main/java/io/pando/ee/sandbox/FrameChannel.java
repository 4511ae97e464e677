package io.pando.ee.sandbox;

import java.io.Closeable;
import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;

/**
 * The sandbox's end of the connection: reads whole frames into one reused direct buffer (the socket fills it
 * without the JDK's temporary direct buffer and copy; the program's datagrams are views of it) and writes frames under a lock
 * shared by the worker and the watchdog (the watchdog writes OVER_BUDGET or BLOCKED while the worker is inside
 * the program, never while it writes a frame).
 */
final class FrameChannel implements Closeable {

    private static final int INITIAL = 64 << 10;

    private final SocketChannel channel;
    private final ByteBuffer header = ByteBuffer.allocateDirect(5);
    private final Object writeLock = new Object();
    private ByteBuffer in = ByteBuffer.allocateDirect(INITIAL);

    FrameChannel(SocketChannel channel) {
        this.channel = channel;
    }

    /**
     * Reads the next frame.
     *
     * @return its type, or -1 if the unit closed the connection between frames
     * @throws ProtocolException if the frame's length is outside 1 .. {@link Protocol#MAX_FRAME}
     * @throws EOFException if the connection ended inside a frame
     */
    int read() throws IOException {
        header.clear();
        if (!fill(header, true)) {
            return -1;
        }
        int length = header.getInt(0);
        int type = header.get(4) & 0xFF;
        if (length < 1 || length > Protocol.MAX_FRAME) {
            throw new ProtocolException("frame length " + Integer.toUnsignedString(length) + " outside 1.."
                + Protocol.MAX_FRAME + " (type byte " + String.format("0x%02x", type) + ")");
        }
        int payload = length - 1;
        if (in.capacity() < payload) {
            in = ByteBuffer.allocateDirect(Math.min(Protocol.MAX_FRAME, Integer.highestOneBit(payload - 1) << 1));
        }
        in.clear().limit(payload);
        fill(in, false);
        in.flip();
        return type;
    }

    /**
     * @return the payload of the frame last read, position 0, limit its length; valid until the next read. The
     *         same buffer object is returned until a larger frame arrives.
     */
    ByteBuffer payload() {
        return in;
    }

    private boolean fill(ByteBuffer b, boolean eofOk) throws IOException {
        while (b.hasRemaining()) {
            if (channel.read(b) < 0) {
                if (eofOk && b.position() == 0) {
                    return false;
                }
                throw new EOFException("the unit closed the connection inside a frame");
            }
        }
        return true;
    }

    /** Writes a whole frame: {@code frame} from position to limit, length and type included. */
    void write(ByteBuffer frame) throws IOException {
        synchronized (writeLock) {
            while (frame.hasRemaining()) {
                channel.write(frame);
            }
        }
    }

    /** @return the lock frame writes hold */
    Object writeLock() {
        return writeLock;
    }

    @Override
    public void close() throws IOException {
        channel.close();
    }
}
