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

    private ControlBlock() {
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
