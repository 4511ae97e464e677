package io.pando.remote.impl;

import io.netty.buffer.ByteBuf;
import java.util.ArrayDeque;

/**
 * The attachment of an accepted data connection until its HELLO names the unit: what arrives before (ARTP
 * delivers in completion order, so the HELLO need not be first) is held here, prefix already read, and replayed
 * once the HELLO is in. Used on the connection's event loop only.
 */
final class Unnamed {

    /** Past this many held bytes the connection stops granting credit until its HELLO arrives. */
    static final long PAUSE_BYTES = 4L << 20;

    private final ArrayDeque<Held> held = new ArrayDeque<>();
    private long bytes;
    final long since = System.nanoTime();

    /**
     * A datagram that arrived before the HELLO.
     *
     * @param number its number ({@link DataPrefix}; 0 where the link does not number)
     * @param control the flag that sets it apart: CONTROL towards a unit, PROCESSED on a result connection
     */
    record Held(long sequence, long flow, int number, ByteBuf data, boolean control) {
    }

    /**
     * Holds a datagram.
     *
     * @param data the payload (prefix read); ownership passes
     * @return whether the connection should now stop granting credit
     */
    boolean hold(long sequence, long flow, ByteBuf data, boolean control) {
        return hold(sequence, flow, 0, data, control);
    }

    /** As {@link #hold(long, long, ByteBuf, boolean)}, with the datagram's number. */
    boolean hold(long sequence, long flow, int number, ByteBuf data, boolean control) {
        held.add(new Held(sequence, flow, number, data, control));
        bytes += data.readableBytes();
        return bytes > PAUSE_BYTES;
    }

    /** @return the next held datagram (ownership passes), or null */
    Held poll() {
        Held h = held.poll();
        if (h != null) {
            bytes -= h.data().readableBytes();
        }
        return h;
    }

    int size() {
        return held.size();
    }

    /** Releases everything held; @return how many datagrams that was */
    int releaseAll() {
        int n = 0;
        Held h;
        while ((h = held.poll()) != null) {
            h.data().release();
            n++;
        }
        bytes = 0;
        return n;
    }
}
