package io.pando.artp;

import io.netty.buffer.ByteBuf;
import io.netty.handler.codec.CorruptedFrameException;
import java.util.function.BiConsumer;

/**
 * The control block at the start of a CONTROL datagram: TLV fields {@code u16 type, u16 length, value}, ended
 * by type {@link #END} with length 0; application data follows. See docs/artp.md, "Control information".
 */
public final class ControlBlock {

    public static final int END = 0x0000;
    /** Opaque session state shared among the units of a session. */
    public static final int SESSION_STATE = 0x0001;
    /** A synchronization marker (u64). */
    public static final int SYNC = 0x0002;
    /** The flow a datagram belongs to (u32). */
    public static final int FLOW = 0x0003;
    /** First type reserved for Pando itself. */
    public static final int PANDO_MIN = 0x4000;
    /** First application-defined type. */
    public static final int APPLICATION_MIN = 0x8000;

    /** Bytes a flow datagram's control block takes before its application data: FLOW (4 + 4) and END (4). */
    public static final int FLOW_PREFIX = 12;

    /** {@link #flowOf} of a CONTROL datagram that is not a flow datagram. */
    public static final long NOT_A_FLOW_DATAGRAM = -1;

    private ControlBlock() {
    }

    /**
     * Starts a <em>flow datagram</em>: a CONTROL datagram whose control block is exactly one {@link #FLOW} field
     * and END, and whose application data is a data datagram of that flow (Pando's way of sending data of a
     * flow other than 0; see docs/artp.md, section 9.3). Write the data after it.
     *
     * @param out where to write the {@link #FLOW_PREFIX} bytes
     * @param flow the flow, in [0, 2^32 - 1]
     */
    public static void writeFlowPrefix(ByteBuf out, long flow) {
        if (flow < 0 || flow > 0xFFFF_FFFFL) {
            throw new IllegalArgumentException("a flow is in [0, 4294967295], got " + flow);
        }
        out.writeShort(FLOW).writeShort(4).writeInt((int) flow).writeShort(END).writeShort(0);
    }

    /**
     * Tells a flow datagram from control information, without moving the reader index.
     *
     * @param datagram a CONTROL datagram's payload (control block, then application data)
     * @return the flow, if the block is exactly one FLOW field of length 4 and END (the data then starts
     *     {@link #FLOW_PREFIX} bytes after the reader index); otherwise {@link #NOT_A_FLOW_DATAGRAM}
     */
    public static long flowOf(ByteBuf datagram) {
        int i = datagram.readerIndex();
        if (datagram.writerIndex() - i < FLOW_PREFIX
            || datagram.getUnsignedShort(i) != FLOW || datagram.getUnsignedShort(i + 2) != 4
            || datagram.getInt(i + 8) != 0) {
            return NOT_A_FLOW_DATAGRAM;
        }
        return datagram.getUnsignedInt(i + 4);
    }

    /** Appends one field; {@code value} is not consumed (its readable bytes are copied). */
    public static void writeField(ByteBuf out, int type, ByteBuf value) {
        if (type <= END || type > 0xFFFF) {
            throw new IllegalArgumentException("control field type must be in [1, 65535], got " + type);
        }
        int length = value.readableBytes();
        if (length > 0xFFFF) {
            throw new IllegalArgumentException("control field value exceeds 65535 bytes: " + length);
        }
        out.writeShort(type).writeShort(length).writeBytes(value, value.readerIndex(), length);
    }

    /** Appends one field holding a u64. */
    public static void writeLong(ByteBuf out, int type, long value) {
        if (type <= END || type > 0xFFFF) {
            throw new IllegalArgumentException("control field type must be in [1, 65535], got " + type);
        }
        out.writeShort(type).writeShort(8).writeLong(value);
    }

    /** Ends the block; application data may follow. */
    public static void writeEnd(ByteBuf out) {
        out.writeShort(END).writeShort(0);
    }

    /**
     * Reads the control block at the reader index, calling {@code field} with each type and a slice of its
     * value (valid only during the call), and leaves the reader index at the application data.
     *
     * @throws CorruptedFrameException if a field runs past the end or the END field is missing; the reader
     *         index is then unchanged
     */
    public static void read(ByteBuf datagram, BiConsumer<Integer, ByteBuf> field) {
        int end = validate(datagram);
        while (true) {
            int type = datagram.readUnsignedShort();
            int length = datagram.readUnsignedShort();
            if (type == END) {
                break;
            }
            field.accept(type, datagram.readSlice(length));
        }
        assert datagram.readerIndex() == end;
    }

    /**
     * Checks the block's structure without moving the reader index.
     *
     * @return the index where application data starts
     * @throws CorruptedFrameException if a field runs past the end or the END field is missing
     */
    public static int validate(ByteBuf datagram) {
        int i = datagram.readerIndex();
        int limit = datagram.writerIndex();
        while (true) {
            if (limit - i < 4) {
                throw new CorruptedFrameException("control block without END field");
            }
            int type = datagram.getUnsignedShort(i);
            int length = datagram.getUnsignedShort(i + 2);
            i += 4;
            if (type == END) {
                if (length != 0) {
                    throw new CorruptedFrameException("END field with length " + length);
                }
                return i;
            }
            if (limit - i < length) {
                throw new CorruptedFrameException("control field type " + type + " length " + length
                    + " runs past the end of the datagram");
            }
            i += length;
        }
    }
}
