package io.pando.ee.sandbox.launch;

import java.nio.charset.StandardCharsets;

/** The last bytes a process wrote (bounded): what an error report shows of a sandbox's output. */
final class OutputRing {

    private final byte[] ring;
    private long written;

    OutputRing(int capacity) {
        ring = new byte[capacity];
    }

    synchronized void write(byte[] b, int off, int len) {
        for (int i = 0; i < len; i++) {
            ring[(int) ((written + i) % ring.length)] = b[off + i];
        }
        written += len;
    }

    /** @return the bytes kept, oldest first, as UTF-8 (a cut character is replaced) */
    @Override
    public synchronized String toString() {
        int n = (int) Math.min(written, ring.length);
        byte[] out = new byte[n];
        long start = written - n;
        for (int i = 0; i < n; i++) {
            out[i] = ring[(int) ((start + i) % ring.length)];
        }
        String s = new String(out, StandardCharsets.UTF_8);
        return written > ring.length ? "[…" + (written - ring.length) + " bytes before]\n" + s : s;
    }
}
