package io.pando.artp.impl;

/**
 * Reads the fuzzer's bytes front to back as the choices of a fuzz target (so that seed inputs can be written
 * in the same order, see {@link ArtpFuzzSeeds}). Past the end every read returns zero.
 */
final class FuzzInput {

    private final byte[] data;
    private int pos;

    FuzzInput(byte[] data) {
        this.data = data;
    }

    boolean more() {
        return pos < data.length;
    }

    int remaining() {
        return data.length - pos;
    }

    int u8() {
        return pos < data.length ? data[pos++] & 0xff : 0;
    }

    int u16() {
        return u8() << 8 | u8();
    }

    int u32() {
        return u16() << 16 | u16();
    }

    long u64() {
        return (long) u32() << 32 | (u32() & 0xffffffffL);
    }

    boolean bool() {
        return (u8() & 1) != 0;
    }

    /** @return a value in [lo, hi] */
    int range(int lo, int hi) {
        long span = (long) hi - lo + 1;
        long v = span <= 256 ? u8() : span <= 65536 ? u16() : u32() & 0xffffffffL;
        return (int) (lo + v % span);
    }

    /** @return up to {@code n} bytes (fewer when the input runs out) */
    byte[] bytes(int n) {
        int k = Math.max(0, Math.min(n, remaining()));
        byte[] b = new byte[k];
        System.arraycopy(data, pos, b, 0, k);
        pos += k;
        return b;
    }
}
