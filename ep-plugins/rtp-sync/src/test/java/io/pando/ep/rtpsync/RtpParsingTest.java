package io.pando.ep.rtpsync;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pando.api.session.FlowId;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** RTP and RTCP parsing and the stream's extended numbers, alone. */
class RtpParsingTest {

    @Test
    void theFixedHeaderIsReadAsUnsignedNumbers() {
        RtpHeader h = new RtpHeader();
        assertNull(h.parse(ByteBuffer.wrap(Rtp.packet(0xFFFF, 0xFFFF_FFFFL, 0xFFFF_FFFFL, 127, 0))));
        assertEquals(0xFFFF, h.sequence);
        assertEquals(0xFFFF_FFFFL, h.timestamp);
        assertEquals(0xFFFF_FFFFL, h.ssrc);
        assertEquals(127, h.payloadType);
        assertFalse(h.marker);
        assertEquals(12, h.payloadOffset);
    }

    @Test
    void rtcpIsToldApartBySecondByte() {
        assertTrue(RtpHeader.looksLikeRtcp(ByteBuffer.wrap(Rtp.senderReport(1, 1, 1))));
        assertFalse(RtpHeader.looksLikeRtcp(ByteBuffer.wrap(Rtp.packet(1, 1, 1, 96, 4, true, 0, -1, 0))),
            "marker + PT 96 = 224");
        assertTrue(RtpHeader.looksLikeRtcp(ByteBuffer.wrap(Rtp.packet(1, 1, 1, 72, 4, true, 0, -1, 0))),
            "marker + PT 72 = 200: RFC 5761 says RTP must not use 64-95");
        assertFalse(RtpHeader.looksLikeRtcp(ByteBuffer.wrap(new byte[1])));
    }

    @Test
    void aSenderReportGivesNtpInMicrosecondsAndItsRtpTimestamp() {
        RtcpCompound r = new RtcpCompound();
        long ntp = 3_900_000_123L * 1_000_000L + 500_001;
        assertNull(r.parse(ByteBuffer.wrap(Rtp.senderReport(0xCAFE_BABEL, ntp, 0xFFFF_FFF0L))));
        assertTrue(r.present);
        assertEquals(0xCAFE_BABEL, r.ssrc);
        assertEquals(ntp, r.ntpMicros);
        assertEquals(0xFFFF_FFF0L, r.rtpTimestamp);
    }

    @Test
    void theFirstCnameOfTheSourceDescriptionsIsKept() {
        RtcpCompound r = new RtcpCompound();
        assertNull(r.parse(ByteBuffer.wrap(Rtp.senderReport(0x42, 1_000_000, 0, "alice@10.0.0.1"))));
        assertEquals(0x42, r.cnameSsrc);
        assertEquals("alice@10.0.0.1", new String(r.cname, 0, r.cnameLength, StandardCharsets.US_ASCII));
        assertNull(r.parse(ByteBuffer.wrap(Rtp.senderReport(0x42, 1_000_000, 0, "abc")))); // 3 + 2: padded to 8
        assertEquals(3, r.cnameLength);
        assertNull(r.parse(ByteBuffer.wrap(Rtp.senderReport(0x42, 1_000_000, 0, null))));
        assertEquals(-1, r.cnameLength, "a chunk without items");
        byte[] itemTooLong = Rtp.senderReport(0x42, 1_000_000, 0, "abc");
        itemTooLong[28 + 8 + 1] = 20; // the CNAME item says 20 bytes; its chunk has 6 left
        assertEquals("RTCP SDES: item 1 runs past the packet", r.parse(ByteBuffer.wrap(itemTooLong)));
        byte[] noEnd = Rtp.senderReport(0x42, 1_000_000, 0, "abcdef"); // 2 + 6 items, end item and padding: 4
        noEnd[28 + 8 + 8] = 1; // the end item and padding become a CNAME item of 2 bytes that fills the chunk
        noEnd[28 + 8 + 9] = 2;
        assertEquals("RTCP SDES: chunk 0 has no end item", r.parse(ByteBuffer.wrap(noEnd)));
        noEnd[28 + 8 + 9] = 0; // an empty item, then the end item: well formed
        assertNull(r.parse(ByteBuffer.wrap(noEnd)));
    }

    @Test
    void aReceiverReportAloneIsWellFormedWithoutAMapping() {
        RtcpCompound r = new RtcpCompound();
        byte[] rr = {(byte) 0x80, (byte) 201, 0, 1, 0, 0, 0, 7};
        assertNull(r.parse(ByteBuffer.wrap(rr)));
        assertFalse(r.present);
        byte[] noClock = Rtp.senderReport(1, 0, 5); // NTP 0: no wall clock
        assertNull(r.parse(ByteBuffer.wrap(noClock)));
        assertFalse(r.present);
    }

    @Test
    void sequenceAndTimestampExtendAcrossWraps() {
        Stream s = new Stream("audio", FlowId.of(0), 48_000, 4, 65_535);
        s.start(1, 65_534, 0xFFFF_FF00L);
        long first = s.highestSequence;
        assertEquals(first + 1, s.extendSequence(65_535));
        assertEquals(first + 2, s.extendSequence(0));
        assertEquals(first - 10, s.extendSequence(65_524));
        assertEquals(-1, s.extendSequence(65_534 + Stream.MAX_JUMP - 65_536), "3000 ahead is a jump");
        assertEquals(first + Stream.MAX_JUMP - 1, s.extendSequence((65_534 + Stream.MAX_JUMP - 1) & 0xFFFF));
        assertEquals(-1, s.extendSequence(65_534 - Stream.MAX_JUMP));
        long ts = s.highestTimestamp;
        assertEquals(ts + 0x100, s.extendTimestamp(0));
        assertEquals(ts - 0x100, s.extendTimestamp(0xFFFF_FE00L));
        s.markSeen(first + 2, ts + 0x100);
        assertEquals(ts + 0x200, s.extendTimestamp(0x100), "from the new highest packet");
        assertEquals(0, s.ownMediaMicros(ts));
        assertEquals(Math.floorDiv(0x200 * 1_000_000L, 48_000), s.ownMediaMicros(ts + 0x200));
    }

    @Test
    void theSeenWindowForgetsWhatFallsOutOfIt() {
        Stream s = new Stream("video", FlowId.of(1), 90_000, 4, 65_535);
        s.start(1, 0, 0);
        long first = s.highestSequence;
        s.markSeen(first, 0);
        assertTrue(s.seen(first));
        s.markSeen(first + Stream.SEEN_WINDOW - 1, 0);
        assertTrue(s.seen(first), "still in the window");
        assertFalse(s.seen(first + 5));
        s.markSeen(first + Stream.SEEN_WINDOW, 0);
        assertFalse(s.seen(first), "out of the window");
        assertTrue(s.seen(first + Stream.SEEN_WINDOW - 1));
        s.markSeen(first + 10 * Stream.SEEN_WINDOW, 0);
        assertFalse(s.seen(first + Stream.SEEN_WINDOW - 1));
        assertTrue(s.seen(first + 10 * Stream.SEEN_WINDOW));
    }
}
