package io.pando.ep.rtpsync;

import java.nio.ByteBuffer;

/** Builds RTP and RTCP packets for the tests. */
final class Rtp {

    private Rtp() {
    }

    /** A plain RTP packet: no CSRC, no extension, no padding; the payload is filled from the sequence number. */
    static byte[] packet(int sequence, long timestamp, long ssrc, int payloadType, int payloadBytes) {
        return packet(sequence, timestamp, ssrc, payloadType, payloadBytes, false, 0, -1, 0);
    }

    /**
     * @param csrcs how many CSRC entries
     * @param extensionWords words of header extension, -1 for none
     * @param padding bytes of padding (including the count byte), 0 for none
     */
    static byte[] packet(int sequence, long timestamp, long ssrc, int payloadType, int payloadBytes, boolean marker,
        int csrcs, int extensionWords, int padding) {
        int header = 12 + 4 * csrcs + (extensionWords >= 0 ? 4 + 4 * extensionWords : 0);
        ByteBuffer b = ByteBuffer.allocate(header + payloadBytes + padding);
        b.put((byte) (0x80 | (padding > 0 ? 0x20 : 0) | (extensionWords >= 0 ? 0x10 : 0) | csrcs));
        b.put((byte) ((marker ? 0x80 : 0) | payloadType));
        b.putShort((short) sequence);
        b.putInt((int) timestamp);
        b.putInt((int) ssrc);
        for (int i = 0; i < csrcs; i++) {
            b.putInt(0x1000 + i);
        }
        if (extensionWords >= 0) {
            b.putShort((short) 0xBEDE);
            b.putShort((short) extensionWords);
            for (int i = 0; i < extensionWords; i++) {
                b.putInt(0x0BADCAFE);
            }
        }
        for (int i = 0; i < payloadBytes; i++) {
            b.put((byte) (sequence + i));
        }
        for (int i = 0; i < padding; i++) {
            b.put((byte) (i == padding - 1 ? padding : 0));
        }
        return b.array();
    }

    /**
     * An RTCP compound packet: a sender report (no report blocks) then an SDES with the CNAME {@code sender@av}.
     *
     * @param ntpMicros the sender's wall clock, µs since 1900
     */
    static byte[] senderReport(long ssrc, long ntpMicros, long rtpTimestamp) {
        return senderReport(ssrc, ntpMicros, rtpTimestamp, "sender@av");
    }

    /** @param cname the CNAME of the SDES chunk, or null for an SDES chunk without items */
    static byte[] senderReport(long ssrc, long ntpMicros, long rtpTimestamp, String cname) {
        byte[] name = cname == null ? new byte[0] : cname.getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        int items = cname == null ? 0 : 2 + name.length;
        int chunk = 4 + ((items + 4) & ~3); // SSRC, items, the end item and padding to 32 bits
        ByteBuffer b = ByteBuffer.allocate(28 + 4 + chunk);
        b.put((byte) 0x80).put((byte) 200).putShort((short) 6);
        b.putInt((int) ssrc);
        long seconds = ntpMicros / 1_000_000;
        long fraction = ((ntpMicros % 1_000_000) << 32) / 1_000_000;
        b.putInt((int) seconds).putInt((int) fraction);
        b.putInt((int) rtpTimestamp);
        b.putInt(100).putInt(16000);
        b.put((byte) 0x81).put((byte) 202).putShort((short) (chunk / 4));
        b.putInt((int) ssrc);
        if (cname != null) {
            b.put((byte) 1).put((byte) name.length).put(name);
        }
        return b.array(); // the rest is zero: the end item and padding
    }
}
