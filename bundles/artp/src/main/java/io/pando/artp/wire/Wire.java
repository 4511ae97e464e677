package io.pando.artp.wire;

import io.netty.buffer.ByteBuf;

/**
 * Constants of the ARTP/1 wire format and accessors on a packet's bytes. Accessors do not validate: call
 * {@link #looksValid(ByteBuf)} first when the packet comes from the network.
 */
public final class Wire {

    public static final int VERSION = 1;

    public static final int TYPE_INIT = 1;
    public static final int TYPE_INIT_ACK = 2;
    public static final int TYPE_COOKIE_ECHO = 3;
    public static final int TYPE_COOKIE_ACK = 4;
    public static final int TYPE_DATA = 5;
    public static final int TYPE_CONTROL = 6;
    public static final int TYPE_ACK = 7;
    public static final int TYPE_PING = 8;
    public static final int TYPE_CLOSE = 9;
    public static final int TYPE_CLOSE_ACK = 10;
    public static final int TYPE_RESET = 11;
    public static final int TYPE_MAX = TYPE_RESET;

    /** Trailer is a 16-byte HMAC-SHA-256-128 tag instead of a 4-byte CRC32C. */
    public static final int FLAG_KEYED = 0x0001;
    /** The receiver should acknowledge at once. */
    public static final int FLAG_ACK_NOW = 0x0002;
    public static final int FLAGS_KNOWN = FLAG_KEYED | FLAG_ACK_NOW;

    public static final int OFF_VERSION = 0;
    public static final int OFF_TYPE = 1;
    public static final int OFF_FLAGS = 2;
    public static final int OFF_DCID = 4;
    public static final int OFF_PN = 8;
    public static final int HEADER = 16;

    /** DATA/CONTROL body: u64 datagram id, u32 length, u16 index, u16 count. */
    public static final int OFF_DATAGRAM_ID = HEADER;
    public static final int OFF_DATAGRAM_LENGTH = HEADER + 8;
    public static final int OFF_FRAGMENT_INDEX = HEADER + 12;
    public static final int OFF_FRAGMENT_COUNT = HEADER + 14;
    public static final int DATA_HEADER = HEADER + 16;

    public static final int CRC_TAG = 4;
    public static final int HMAC_TAG = 16;
    public static final int MIN_PACKET = HEADER + CRC_TAG;
    /** INIT packets are padded to at least this many bytes so that INIT_ACK never amplifies. */
    public static final int INIT_MIN = 256;
    public static final int NONCE = 16;
    public static final int MAX_COOKIE = 256;
    public static final int MAX_REASON = 256;
    public static final int MAX_ACK_RANGES = 32;

    private Wire() {
    }

    /** @return the fixed per-packet overhead of a DATA packet: header, data header and tag */
    public static int dataOverhead(boolean keyed) {
        return DATA_HEADER + (keyed ? HMAC_TAG : CRC_TAG);
    }

    /** Cheap plausibility check (length, version, type); integrity is not checked. */
    public static boolean looksValid(ByteBuf packet) {
        int r = packet.readerIndex();
        return packet.readableBytes() >= MIN_PACKET
            && packet.getUnsignedByte(r + OFF_VERSION) == VERSION
            && type(packet) >= TYPE_INIT && type(packet) <= TYPE_MAX;
    }

    public static int type(ByteBuf packet) {
        return packet.getUnsignedByte(packet.readerIndex() + OFF_TYPE);
    }

    public static int flags(ByteBuf packet) {
        return packet.getUnsignedShort(packet.readerIndex() + OFF_FLAGS);
    }

    /** @return the destination connection id (u32 as int) */
    public static int destinationId(ByteBuf packet) {
        return packet.getInt(packet.readerIndex() + OFF_DCID);
    }

    public static long packetNumber(ByteBuf packet) {
        return packet.getLong(packet.readerIndex() + OFF_PN);
    }

    /** @return whether the packet carries (a fragment of) a datagram: DATA or CONTROL */
    public static boolean isDatagram(int type) {
        return type == TYPE_DATA || type == TYPE_CONTROL;
    }

    /** @return the datagram id of a DATA or CONTROL packet */
    public static long datagramId(ByteBuf packet) {
        return packet.getLong(packet.readerIndex() + OFF_DATAGRAM_ID);
    }

    public static String typeName(int type) {
        switch (type) {
            case TYPE_INIT: return "INIT";
            case TYPE_INIT_ACK: return "INIT_ACK";
            case TYPE_COOKIE_ECHO: return "COOKIE_ECHO";
            case TYPE_COOKIE_ACK: return "COOKIE_ACK";
            case TYPE_DATA: return "DATA";
            case TYPE_CONTROL: return "CONTROL";
            case TYPE_ACK: return "ACK";
            case TYPE_PING: return "PING";
            case TYPE_CLOSE: return "CLOSE";
            case TYPE_CLOSE_ACK: return "CLOSE_ACK";
            case TYPE_RESET: return "RESET";
            default: return "UNKNOWN(" + type + ")";
        }
    }
}
