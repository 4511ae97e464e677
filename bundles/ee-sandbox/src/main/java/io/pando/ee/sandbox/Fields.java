package io.pando.ee.sandbox;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/** Reads and writes the protocol's fields on byte buffers; a read past the frame is a {@link ProtocolException}. */
final class Fields {

    private Fields() {
    }

    static void need(ByteBuffer in, int n, String what) throws ProtocolException {
        if (in.remaining() < n) {
            throw new ProtocolException(what + " truncated: " + n + " bytes needed, " + in.remaining() + " left");
        }
    }

    static int u8(ByteBuffer in, String what) throws ProtocolException {
        need(in, 1, what);
        return in.get() & 0xFF;
    }

    static int u16(ByteBuffer in, String what) throws ProtocolException {
        need(in, 2, what);
        return in.getShort() & 0xFFFF;
    }

    static long u32(ByteBuffer in, String what) throws ProtocolException {
        need(in, 4, what);
        return in.getInt() & 0xFFFF_FFFFL;
    }

    static long u64(ByteBuffer in, String what) throws ProtocolException {
        need(in, 8, what);
        return in.getLong();
    }

    static String str(ByteBuffer in, String what) throws ProtocolException {
        int n = u16(in, what);
        need(in, n, what);
        if (in.hasArray()) {
            String s = new String(in.array(), in.arrayOffset() + in.position(), n, StandardCharsets.UTF_8);
            in.position(in.position() + n);
            return s;
        }
        byte[] b = new byte[n];
        in.get(b);
        return new String(b, StandardCharsets.UTF_8);
    }

    static byte[] bytes(ByteBuffer in, int max, String what) throws ProtocolException {
        long n = u32(in, what);
        if (n > max) {
            throw new ProtocolException(what + ": " + n + " bytes, at most " + max);
        }
        need(in, (int) n, what);
        byte[] b = new byte[(int) n];
        in.get(b);
        return b;
    }

    /** Writes a {@code str}; the string must encode to at most 65,535 bytes. */
    static void str(ByteBuffer out, byte[] utf8) {
        out.putShort((short) utf8.length);
        out.put(utf8);
    }

    /**
     * @return {@code s} in UTF-8, cut to at most {@code maxChars} characters (and never a lone surrogate half) so
     *         that it fits a {@code str} field
     */
    static byte[] utf8(String s, int maxChars) {
        if (s.length() > maxChars) {
            int end = maxChars;
            if (Character.isHighSurrogate(s.charAt(end - 1))) {
                end--;
            }
            s = s.substring(0, end) + "…";
        }
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
