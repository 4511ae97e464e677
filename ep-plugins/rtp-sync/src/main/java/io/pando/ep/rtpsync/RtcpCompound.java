package io.pando.ep.rtpsync;

import java.nio.ByteBuffer;

/**
 * Reads an RTCP compound packet (RFC 3550 section 6): keeps the wall-clock to RTP-timestamp mapping of its first
 * sender report (SR, packet type 200) and the first CNAME of its source descriptions (SDES, 202), which tells
 * whether two streams come from one host and so share one wall clock (RFC 3550 6.5.1). A reusable holder:
 * overwritten by every {@link #parse}; parsing allocates nothing.
 *
 * <p>The compound packet is checked as RFC 3550 appendix A.2 suggests: every packet has version 2, the lengths
 * add up to the datagram exactly, and the first packet is an SR or a receiver report (RR, 201).
 *
 * <pre>
 * SR: |V=2|P|  RC  | PT=200 | length (words - 1) |
 *     | SSRC of sender                           |
 *     | NTP timestamp, seconds since 1900 (32)   |
 *     | NTP timestamp, fraction (32)             |
 *     | RTP timestamp (32)                       |
 *     | sender's packet count | octet count | report blocks ...
 * </pre>
 */
final class RtcpCompound {

    static final int SR = 200;
    static final int RR = 201;
    static final int SDES = 202;
    private static final int CNAME = 1;
    private static final int SR_MIN_BYTES = 28;

    /** Whether the last parsed packet had a usable sender report. */
    boolean present;
    /** SSRC of the sender, unsigned 32-bit. */
    long ssrc;
    /** The NTP timestamp in microseconds since 1900. */
    long ntpMicros;
    /** The RTP timestamp of the same instant, unsigned 32-bit. */
    long rtpTimestamp;
    /** The first CNAME item's SSRC and text (up to 255 bytes), or {@code cnameLength} -1 if none. */
    long cnameSsrc;
    final byte[] cname = new byte[255];
    int cnameLength = -1;

    /**
     * Parses a compound packet.
     *
     * @param packet the packet, from index 0 to the limit (absolute reads; the buffer is not moved)
     * @return null if well formed ({@link #present} tells whether it had a usable SR), otherwise why not
     */
    String parse(ByteBuffer packet) {
        present = false;
        cnameLength = -1;
        int length = packet.limit();
        if (length < 8 || length % 4 != 0) {
            return "RTCP of " + length + " bytes, not a multiple of 4 of at least 8";
        }
        for (int at = 0; at < length; ) {
            if (length - at < 4) {
                return "RTCP: " + (length - at) + " bytes left over";
            }
            int b0 = packet.get(at) & 0xFF;
            int type = packet.get(at + 1) & 0xFF;
            int size = 4 * ((packet.getShort(at + 2) & 0xFFFF) + 1);
            if (b0 >>> 6 != 2) {
                return "RTCP version " + (b0 >>> 6) + ", not 2";
            }
            if (at == 0 && type != SR && type != RR) {
                return "RTCP starting with packet type " + type + ", not SR or RR";
            }
            if (at + size > length) {
                return "RTCP packet of " + size + " bytes at " + at + " runs past the " + length + "-byte datagram";
            }
            if (type == SR) {
                if (size < SR_MIN_BYTES) {
                    return "RTCP SR of " + size + " bytes, fewer than " + SR_MIN_BYTES;
                }
                long msw = packet.getInt(at + 8) & 0xFFFF_FFFFL;
                long lsw = packet.getInt(at + 12) & 0xFFFF_FFFFL;
                if (!present && (msw | lsw) != 0) { // an SR without a wall clock (NTP 0) says nothing
                    present = true;
                    ssrc = packet.getInt(at + 4) & 0xFFFF_FFFFL;
                    ntpMicros = msw * 1_000_000L + ((lsw * 1_000_000L + (1L << 31)) >>> 32); // fraction rounded
                    rtpTimestamp = packet.getInt(at + 16) & 0xFFFF_FFFFL;
                }
            }
            if (type == SDES) {
                String bad = sdes(packet, at, at + size, b0 & 0x1F);
                if (bad != null) {
                    return bad;
                }
            }
            at += size;
        }
        return null;
    }

    /** Reads the chunks of an SDES packet (RFC 3550 6.5), noting the first CNAME; null if well formed. */
    private String sdes(ByteBuffer packet, int start, int end, int chunks) {
        int at = start + 4;
        for (int c = 0; c < chunks; c++) {
            if (at + 4 > end) {
                return "RTCP SDES: chunk " + c + " of " + chunks + " runs past the packet";
            }
            long ssrc = packet.getInt(at) & 0xFFFF_FFFFL;
            at += 4;
            while (true) {
                if (at >= end) {
                    return "RTCP SDES: chunk " + c + " has no end item";
                }
                int item = packet.get(at) & 0xFF;
                if (item == 0) {
                    at = (at + 4) & ~3; // the end item, then null octets to the next 32-bit boundary
                    break;
                }
                if (at + 2 > end || at + 2 + (packet.get(at + 1) & 0xFF) > end) {
                    return "RTCP SDES: item " + item + " runs past the packet";
                }
                int n = packet.get(at + 1) & 0xFF;
                if (item == CNAME && cnameLength < 0) {
                    cnameSsrc = ssrc;
                    packet.get(at + 2, cname, 0, n);
                    cnameLength = n;
                }
                at += 2 + n;
            }
        }
        return at > end ? "RTCP SDES: chunk padding runs past the packet" : null;
    }
}
