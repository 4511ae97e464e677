package io.pando.ep.rtpsync;

import java.nio.ByteBuffer;

/**
 * The fixed RTP header of one packet (RFC 3550 section 5.1), parsed into a reusable holder: one instance per
 * program instance, overwritten by every {@link #parse}, so parsing allocates nothing.
 *
 * <pre>
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |V=2|P|X|  CC   |M|     PT      |       sequence number         |
 * |                           timestamp                           |
 * |           synchronization source (SSRC) identifier            |
 * |            contributing source (CSRC) identifiers (CC)        |
 * |  [extension: profile-defined (16) | length in words (16) | ...] |
 * |  payload ...                     [padding ... | pad count (8)] |
 * </pre>
 */
final class RtpHeader {

    /** Bytes of the fixed header. */
    static final int FIXED_BYTES = 12;
    /** The largest packet accepted: the largest UDP payload. */
    static final int MAX_PACKET_BYTES = 65_535;

    boolean marker;
    int payloadType;
    /** Sequence number, 0 to 65535. */
    int sequence;
    /** Timestamp, an unsigned 32-bit value in a long. */
    long timestamp;
    /** SSRC, an unsigned 32-bit value in a long. */
    long ssrc;
    int csrcCount;
    boolean extension;
    /** Offset of the payload: after the fixed header, the CSRC list and the extension. */
    int payloadOffset;
    /** Bytes of padding at the end, including the count byte; 0 without the P bit. */
    int padding;

    /**
     * Whether the second byte says RTCP rather than RTP, as RFC 5761 section 4 tells them apart on one port:
     * RTCP packet types 192 to 223 fall where RTP would have the marker bit and payload types 64 to 95.
     *
     * @param packet the packet, read from index 0 to the limit
     * @return true if the packet should be read as RTCP
     */
    static boolean looksLikeRtcp(ByteBuffer packet) {
        if (packet.limit() < 2) {
            return false;
        }
        int type = packet.get(1) & 0xFF;
        return type >= 192 && type <= 223;
    }

    /**
     * Parses and checks the header.
     *
     * @param packet the packet, from index 0 to the limit (positions are absolute; the buffer is not moved)
     * @return null if the packet is a well-formed RTP packet (this holder then describes it), otherwise why not
     */
    String parse(ByteBuffer packet) {
        int length = packet.limit();
        if (length < FIXED_BYTES) {
            return "shorter than the 12-byte RTP header (" + length + " bytes)";
        }
        if (length > MAX_PACKET_BYTES) {
            return "longer than " + MAX_PACKET_BYTES + " bytes (" + length + ")";
        }
        int b0 = packet.get(0) & 0xFF;
        if (b0 >>> 6 != 2) {
            return "RTP version " + (b0 >>> 6) + ", not 2";
        }
        boolean padded = (b0 & 0x20) != 0;
        extension = (b0 & 0x10) != 0;
        csrcCount = b0 & 0x0F;
        int b1 = packet.get(1) & 0xFF;
        marker = (b1 & 0x80) != 0;
        payloadType = b1 & 0x7F;
        sequence = packet.getShort(2) & 0xFFFF;
        timestamp = packet.getInt(4) & 0xFFFF_FFFFL;
        ssrc = packet.getInt(8) & 0xFFFF_FFFFL;
        int offset = FIXED_BYTES + 4 * csrcCount;
        if (offset > length) {
            return csrcCount + " CSRCs do not fit in " + length + " bytes";
        }
        if (extension) {
            if (offset + 4 > length) {
                return "the header extension does not fit in " + length + " bytes";
            }
            offset += 4 + 4 * (packet.getShort(offset + 2) & 0xFFFF);
            if (offset > length) {
                return "the header extension of " + (offset - FIXED_BYTES - 4 * csrcCount) + " bytes does not fit in "
                    + length + " bytes";
            }
        }
        payloadOffset = offset;
        padding = 0;
        if (padded) {
            padding = packet.get(length - 1) & 0xFF;
            if (padding == 0 || offset + padding > length) {
                return "a padding count of " + padding + " with " + (length - offset) + " bytes after the header";
            }
        }
        return null;
    }
}
