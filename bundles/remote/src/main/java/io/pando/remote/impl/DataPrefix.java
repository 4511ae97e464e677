package io.pando.remote.impl;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.CompositeByteBuf;
import io.netty.handler.codec.CorruptedFrameException;
import io.pando.api.unit.UnitId;
import java.nio.charset.StandardCharsets;

/**
 * The 13 bytes in front of every datagram that crosses nodes on an ARTP data connection of this bundle
 * (distribution node to unit node, unit node to aggregation node):
 *
 * <pre>
 * sequence:i64   the ingress sequence, -1 for control information that did not enter through the ingress
 * flags:u8       bit 0 CONTROL (control information), bit 1 HELLO; the other bits are 0
 * flow:u32       the flow of the session the datagram belongs to (control information: the flow it is about);
 *                0 for HELLO
 * payload        the datagram; for HELLO the UTF-8 id of the unit the connection belongs to, sequence 0
 * </pre>
 *
 * One ARTP connection carries one (session, unit): the session is bound by the ARTP handshake, the unit is
 * named by the HELLO datagram the connecting side sends first. ARTP does not keep order, so a receiver holds
 * what arrives before the HELLO ({@link Unnamed}).
 */
final class DataPrefix {

    static final int LENGTH = 13;
    static final int CONTROL = 0x01;
    static final int HELLO = 0x02;
    private static final int KNOWN = CONTROL | HELLO;
    /** Payloads at least this long are not copied: the prefix goes in front as a composite. */
    static final int COMPOSITE_THRESHOLD = 2048;
    /** Room for the prefix on top of the largest datagram a role hands over (1 MiB). */
    static final int MAX_DATAGRAM = (1 << 20) + 64;

    private DataPrefix() {
    }

    /**
     * Puts the prefix in front of a payload: one pooled buffer with a copy for small payloads, a composite of a
     * pooled prefix and the payload itself for large ones.
     *
     * @param data the payload; <b>ownership passes</b> (it is released or becomes part of the result)
     * @return the datagram to send; the caller owns it
     */
    static ByteBuf prefix(ByteBufAllocator alloc, long sequence, int flags, long flow, ByteBuf data) {
        int len = data.readableBytes();
        try {
            if (len < COMPOSITE_THRESHOLD) {
                ByteBuf out = alloc.directBuffer(LENGTH + len);
                out.writeLong(sequence).writeByte(flags).writeInt((int) flow).writeBytes(data, data.readerIndex(), len);
                return out;
            }
            ByteBuf head = alloc.directBuffer(LENGTH);
            head.writeLong(sequence).writeByte(flags).writeInt((int) flow);
            CompositeByteBuf c = alloc.compositeDirectBuffer(2);
            c.addComponent(true, head);
            c.addComponent(true, data.retain());
            return c;
        } finally {
            data.release();
        }
    }

    /** @return a HELLO datagram naming {@code unit}; the caller owns it */
    static ByteBuf hello(ByteBufAllocator alloc, UnitId unit) {
        byte[] id = unit.value().getBytes(StandardCharsets.UTF_8);
        ByteBuf out = alloc.directBuffer(LENGTH + id.length);
        out.writeLong(0).writeByte(HELLO).writeInt(0).writeBytes(id);
        return out;
    }

    /**
     * Reads the prefix: advances the reader index past it.
     *
     * @return the flags
     * @throws CorruptedFrameException if the datagram is shorter than the prefix or sets an unknown flag (the
     *     buffer is left to the caller to release)
     */
    static int readFlags(ByteBuf datagram) {
        if (datagram.readableBytes() < LENGTH) {
            throw new CorruptedFrameException("a datagram of this link has a " + LENGTH + "-byte prefix, got "
                + datagram.readableBytes() + " bytes");
        }
        int flags = datagram.getUnsignedByte(datagram.readerIndex() + 8);
        if ((flags & ~KNOWN) != 0 || flags == KNOWN) {
            throw new CorruptedFrameException(String.format("bad flags 0x%02x", flags));
        }
        long seq = datagram.getLong(datagram.readerIndex());
        if (seq < -1) {
            throw new CorruptedFrameException("bad sequence " + seq + " (>= 0, or -1 for none)");
        }
        return flags;
    }

    /** @return the sequence of a datagram whose flags {@link #readFlags} accepted; advances to its flow */
    static long readSequence(ByteBuf datagram) {
        long seq = datagram.readLong();
        datagram.skipBytes(1);
        return seq;
    }

    /** @return the flow, read after {@link #readSequence}; advances past the prefix to the payload */
    static long readFlow(ByteBuf datagram) {
        return datagram.readUnsignedInt();
    }

    /**
     * @param payload a HELLO's payload (after the prefix)
     * @return the unit it names
     * @throws CorruptedFrameException if it is not a unit id
     */
    static UnitId helloUnit(ByteBuf payload) {
        try {
            return UnitId.of(payload.toString(StandardCharsets.UTF_8));
        } catch (IllegalArgumentException e) {
            throw new CorruptedFrameException("bad HELLO: " + e.getMessage(), e);
        }
    }
}
