package io.pando.unit.impl;

import io.netty.buffer.ByteBuf;
import io.netty.handler.codec.CorruptedFrameException;
import java.nio.charset.StandardCharsets;
import java.util.Map;

/** Frame types and field codecs of the sandbox protocol (docs/ee.md), unit side. */
final class SandboxFrames {

    static final int VERSION = 3;
    static final int MAX_FRAME = 16 << 20;
    static final int MAX_BATCH = 65_535;

    static final byte INIT = 0x01;
    static final byte BATCH = 0x02;
    static final byte SHUTDOWN = 0x03;
    /** Unit → sandbox: a record waits in the ring (sent only when the sandbox said it sleeps). */
    static final byte WAKE_SANDBOX = 0x04;

    static final byte READY = (byte) 0x81;
    static final byte RESULTS = (byte) 0x82;
    static final byte OVER_BUDGET = (byte) 0x83;
    static final byte FAILED = (byte) 0x84;
    static final byte BLOCKED = (byte) 0x85;
    /** Sandbox → unit: a record waits in the ring (sent only when the unit said it sleeps). */
    static final byte WAKE_UNIT = (byte) 0x86;

    static final int OP_EMIT = 1;
    static final int OP_STATE_PUT = 2;
    static final int OP_STATE_REMOVE = 3;
    static final int OP_CONTROL = 4;
    static final int OP_TIMER_SET = 5;
    static final int OP_TIMER_CANCEL = 6;

    /** BATCH entry flags: a control datagram; a timer's expiry (data: u64 timer id). */
    static final int FLAG_CONTROL = 1;
    static final int FLAG_TIMER = 2;
    /** Bytes of a BATCH entry before its data: u64 seq · u8 flags · u32 flow · u32 length. */
    static final int ENTRY_HEADER = 17;

    /**
     * Free bytes left in front of each result or control datagram copied out of a RESULTS frame: room for the
     * 12-byte flow prefix of an ARTP flow datagram (docs/artp.md, 9.3), which the aggregation then writes in place
     * instead of copying the datagram.
     */
    static final int RESULT_HEADROOM = 12;

    private SandboxFrames() {
    }

    /** Writes a frame header with a length to be filled in by {@link #endFrame}; returns its index. */
    static int beginFrame(ByteBuf out, byte type) {
        int at = out.writerIndex();
        out.writeInt(0);
        out.writeByte(type);
        return at;
    }

    static void endFrame(ByteBuf out, int at) {
        out.setInt(at, out.writerIndex() - at - 4);
    }

    static void string(ByteBuf out, String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        if (b.length > 0xFFFF) {
            throw new IllegalArgumentException("string of " + b.length + " bytes does not fit a frame field");
        }
        out.writeShort(b.length);
        out.writeBytes(b);
    }

    /** @param rings whether the unit offers the shared-memory rings ({@code PATH.ring}) */
    static void init(ByteBuf out, String session, String program, long budgetMicros, long[] flows,
        Map<String, String> parameters, Map<String, byte[]> state, long[] timers, boolean rings) {
        int at = beginFrame(out, INIT);
        out.writeShort(VERSION);
        string(out, session);
        string(out, program);
        out.writeInt((int) Math.min(budgetMicros, Integer.MAX_VALUE));
        out.writeShort(flows.length);
        for (long f : flows) {
            out.writeInt((int) f);
        }
        out.writeShort(parameters.size());
        parameters.forEach((k, v) -> {
            string(out, k);
            string(out, v);
        });
        out.writeInt(state.size());
        state.forEach((k, v) -> {
            string(out, k);
            out.writeInt(v.length);
            out.writeBytes(v);
        });
        out.writeShort(timers.length);
        for (long t : timers) {
            out.writeLong(t);
        }
        out.writeByte(rings ? 1 : 0);
        endFrame(out, at);
    }

    // ---- reading what a sandbox sent: nothing is trusted

    static void need(ByteBuf in, int n, String what) {
        if (in.readableBytes() < n) {
            throw new CorruptedFrameException(what + " truncated: " + n + " bytes needed, " + in.readableBytes()
                + " left");
        }
    }

    static String readString(ByteBuf in, String what) {
        need(in, 2, what);
        int n = in.readUnsignedShort();
        need(in, n, what);
        String s = in.toString(in.readerIndex(), n, StandardCharsets.UTF_8);
        in.skipBytes(n);
        return s;
    }

    /** @return the length of a {@code bytes} field, checked against what is left and {@code max} */
    static int readLength(ByteBuf in, int max, String what) {
        need(in, 4, what);
        int n = in.readInt();
        if (n < 0 || n > max) {
            throw new CorruptedFrameException(what + ": length " + n + " outside [0, " + max + "]");
        }
        need(in, n, what);
        return n;
    }
}
