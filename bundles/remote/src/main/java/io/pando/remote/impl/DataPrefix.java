package io.pando.remote.impl;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.CompositeByteBuf;
import io.netty.handler.codec.CorruptedFrameException;
import io.pando.api.unit.UnitId;
import java.nio.charset.StandardCharsets;

/**
 * The 17 bytes in front of every datagram that crosses nodes on an ARTP data connection of this bundle
 * (distribution node to unit node, unit node to aggregation node), since protocol version 3:
 *
 * <pre>
 * sequence:i64   the ingress sequence, -1 for control information that did not enter through the ingress
 * flags:u8       bit 0 CONTROL (control information), bit 1 HELLO, bit 2 PROCESSED; the other bits are 0
 * flow:u32       the flow of the session the datagram belongs to (control information: the flow it is about);
 *                0 for HELLO and PROCESSED
 * number:u32     on a result connection: a result's number in the order the unit handed its results over (from
 *                0, modulo 2^32); for PROCESSED, how many results were handed over before it; 0 elsewhere
 * payload        the datagram; for HELLO the UTF-8 id of the unit the connection belongs to, sequence 0; none
 *                for PROCESSED
 * </pre>
 *
 * One ARTP connection carries one (session, unit): the session is bound by the ARTP handshake, the unit is
 * named by the HELLO datagram the connecting side sends first. ARTP does not keep order, so a receiver holds
 * what arrives before the HELLO ({@link Unnamed}), and the aggregation server puts results back in the unit's
 * order by their number. {@code PROCESSED} carries the unit's acknowledgement
 * ({@link io.pando.link.AggregationChannel#processed}) with its sequence; it counts once every result numbered
 * before it has arrived.
 */
final class DataPrefix {

    static final int LENGTH = 17;
    static final int CONTROL = 0x01;
    static final int HELLO = 0x02;
    static final int PROCESSED = 0x04;
    private static final int KNOWN = CONTROL | HELLO | PROCESSED;
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
        return prefix(alloc, sequence, flags, flow, 0, data);
    }

    /**
     * As {@link #prefix(ByteBufAllocator, long, int, long, ByteBuf)}, with a result's number.
     *
     * @param number the result's number on its connection (modulo 2^32)
     */
    static ByteBuf prefix(ByteBufAllocator alloc, long sequence, int flags, long flow, long number, ByteBuf data) {
        int len = data.readableBytes();
        try {
            if (len < COMPOSITE_THRESHOLD) {
                ByteBuf out = alloc.directBuffer(LENGTH + len);
                out.writeLong(sequence).writeByte(flags).writeInt((int) flow).writeInt((int) number)
                    .writeBytes(data, data.readerIndex(), len);
                return out;
            }
            ByteBuf head = alloc.directBuffer(LENGTH);
            head.writeLong(sequence).writeByte(flags).writeInt((int) flow).writeInt((int) number);
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
        out.writeLong(0).writeByte(HELLO).writeInt(0).writeInt(0).writeBytes(id);
        return out;
    }

    /**
     * @param sequence the last datagram the unit acknowledges
     * @param results how many results the unit handed over before (modulo 2^32)
     * @return a PROCESSED datagram; the caller owns it
     */
    static ByteBuf processed(ByteBufAllocator alloc, long sequence, long results) {
        ByteBuf out = alloc.directBuffer(LENGTH);
        out.writeLong(sequence).writeByte(PROCESSED).writeInt(0).writeInt((int) results);
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
        if ((flags & ~KNOWN) != 0 || Integer.bitCount(flags) > 1) {
            throw new CorruptedFrameException(String.format("bad flags 0x%02x", flags));
        }
        long seq = datagram.getLong(datagram.readerIndex());
        if (seq < -1 || (seq == -1 && (flags & PROCESSED) != 0)) {
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

    /**
     * @return the flow, read after {@link #readSequence}; advances past the prefix to the payload (the number is
     *     read with {@link #number} before)
     */
    static long readFlow(ByteBuf datagram) {
        long flow = datagram.readUnsignedInt();
        datagram.skipBytes(4);
        return flow;
    }

    /** @return the number of a datagram whose flags {@link #readFlags} accepted, before its prefix is read */
    static int number(ByteBuf datagram) {
        return datagram.getInt(datagram.readerIndex() + 13);
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
