package io.pando.remote.impl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.DecoderException;
import io.netty.handler.codec.EncoderException;
import io.netty.handler.codec.TooLongFrameException;
import io.pando.api.session.Flow;
import io.pando.api.session.FlowId;
import io.pando.api.session.SessionId;
import io.pando.api.unit.UnitId;
import io.pando.api.unit.UnitLoad;
import io.pando.link.SessionPlan;
import io.pando.remote.impl.ControlMessage.ErrorCode;
import io.pando.remote.impl.ControlMessage.UnitState;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The control codec on {@link EmbeddedChannel}s: every message round-trips, bad input is answered, not thrown. */
class ControlCodecTest {

    private final EmbeddedChannel out = new EmbeddedChannel(ControlEncoder.INSTANCE);
    private final EmbeddedChannel in = new EmbeddedChannel(ControlInitializer.frameDecoder(), new ControlDecoder());

    @AfterEach
    void finish() {
        assertFalse(out.finishAndReleaseAll(), "nothing left in the encoder");
        assertFalse(in.finishAndReleaseAll(), "nothing left in the decoder");
    }

    static SessionPlan plan() throws Exception {
        Map<String, String> params = new LinkedHashMap<>();
        params.put("key", "00ff");
        params.put("ünïcode", "välue");
        InetSocketAddress destination = new InetSocketAddress(InetAddress.getByName("2001:db8::9"), 9000);
        return new SessionPlan(new SessionId(-42L), "s-1", "passthrough", params, destination,
            List.of(UnitId.of("b1"), UnitId.of("c1")),
            4 << 20, Optional.of(20L), io.pando.api.router.Execution.DEFAULT, List.of(
                new Flow(FlowId.of(0), "default", destination),
                new Flow(FlowId.of(2), "audio", new InetSocketAddress("10.1.2.3", 5004)),
                new Flow(FlowId.of(0xFFFF_FFFFL), "video", new InetSocketAddress(InetAddress.getByName("::1"), 65535))));
    }

    private ControlMessage roundTrip(ControlMessage m) {
        assertTrue(out.writeOutbound(m));
        ByteBuf frame = out.readOutbound();
        // feed it in two pieces: the frame decoder must wait for the whole frame
        int half = frame.readableBytes() / 2;
        in.writeInbound(frame.readRetainedSlice(half));
        assertNull(in.readInbound());
        in.writeInbound(frame);
        ControlMessage back = in.readInbound();
        assertNull(in.readInbound());
        return back;
    }

    @Test
    void everyMessageRoundTrips() throws Exception {
        UnitLoad load = new UnitLoad(UnitId.of("b1"), Instant.ofEpochMilli(1_700_000_000_123L), 0.25, 1024, 4096, 3, 7);
        List<ControlMessage> all = List.of(
            new ControlMessage.Hello(1, ControlMessage.VERSION, "node-a"),
            new ControlMessage.ListUnits(2),
            new ControlMessage.Open(3, UnitId.of("b1"), plan(), new InetSocketAddress("127.0.0.1", 17502)),
            new ControlMessage.Close(4, UnitId.of("b1"), new SessionId(99)),
            new ControlMessage.SessionCounters(5, UnitId.of("c1"), new SessionId(Long.MAX_VALUE)),
            new ControlMessage.UnitCounters(6, UnitId.of("c1")),
            new ControlMessage.SelectScheduler(7, UnitId.of("c1"), "drr"),
            new ControlMessage.Validate(14, UnitId.of("c1"), plan()),
            new ControlMessage.Ok(-8),
            new ControlMessage.Error(9, ErrorCode.UNKNOWN_UNIT, "no unit x"),
            new ControlMessage.Error(15, ErrorCode.INVALID, "key: 64 hex digits"),
            new ControlMessage.Units(10, List.of(new UnitState(UnitId.of("b1"),
                Set.of("passthrough", "aes-gcm-encrypt"), "drr", load))),
            new ControlMessage.Units(11, List.of()),
            new ControlMessage.Counters(12, Map.of("datagrams_in", 5L, "bytes_in", -1L)));
        for (ControlMessage m : all) {
            assertEquals(m, roundTrip(m), m.toString());
        }
        ControlMessage.Open open = (ControlMessage.Open) roundTrip(new ControlMessage.Open(13, UnitId.of("b1"),
            new SessionPlan(new SessionId(1), "n", "p", Map.of(), new InetSocketAddress("10.0.0.1", 1), List.of(), 1,
                Optional.empty()), new InetSocketAddress("127.0.0.1", 2)));
        assertEquals(Optional.empty(), open.plan().reorderWindowMillis());
        assertEquals(List.of(new Flow(FlowId.of(0), "default", new InetSocketAddress("10.0.0.1", 1))),
            open.plan().flows(), "a single-flow plan carries flow 0");
        ControlMessage.Validate v = (ControlMessage.Validate) roundTrip(new ControlMessage.Validate(16, UnitId.of("c1"),
            plan()));
        assertEquals(3, v.plan().flows().size());
        assertEquals(plan().flows(), v.plan().flows(), "ids, names and destinations survive");
        assertEquals(plan(), v.plan());
    }

    private ControlMessage decodeRaw(ByteBuf body) {
        ByteBuf frame = Unpooled.buffer();
        frame.writeInt(body.readableBytes()).writeBytes(body);
        body.release();
        in.writeInbound(frame);
        return in.readInbound();
    }

    private static ByteBuf body(int type, int id) {
        return Unpooled.buffer().writeByte(type).writeInt(id);
    }

    @Test
    void aPlanWithoutFlowsOrWithUnsortedFlowsIsMalformed() {
        SessionPlan one = new SessionPlan(new SessionId(1), "n", "p", Map.of(), new InetSocketAddress("10.0.0.1", 1),
            List.of(), 1, Optional.empty());
        // the plan ends with its flows: n:u16, then id:u32 "default" 10.0.0.1:1 (4 + 9 + 12 bytes)
        ByteBuf noFlows = Unpooled.buffer();
        ControlEncoder.encode(new ControlMessage.Validate(21, UnitId.of("b1"), one), noFlows);
        int end = noFlows.writerIndex();
        noFlows.setShort(end - 27, 0).writerIndex(end - 25).setInt(0, noFlows.readableBytes() - 4);
        in.writeInbound(noFlows);
        ControlMessage.Malformed bad = assertInstanceOf(ControlMessage.Malformed.class, in.readInbound());
        assertEquals(21, bad.requestId());
        assertTrue(bad.reason().contains("at least flow 0"), bad.reason());
        ByteBuf noDefault = Unpooled.buffer();
        ControlEncoder.encode(new ControlMessage.Validate(22, UnitId.of("b1"), one), noDefault);
        noDefault.setInt(noDefault.writerIndex() - 25, 5); // flow 5 alone: no flow 0
        in.writeInbound(noDefault);
        bad = assertInstanceOf(ControlMessage.Malformed.class, in.readInbound());
        assertEquals(22, bad.requestId());
        assertTrue(bad.reason().contains("flow 0"), bad.reason());
    }

    @Test
    void anUnknownTypeIsMalformedWithItsRequestId() {
        ControlMessage m = decodeRaw(body(0x7f, 55).writeLong(1));
        ControlMessage.Malformed bad = assertInstanceOf(ControlMessage.Malformed.class, m);
        assertEquals(55, bad.requestId());
        assertTrue(bad.reason().contains("unknown message type 0x7f"), bad.reason());
    }

    @Test
    void aTruncatedFieldIsMalformed() {
        ByteBuf b = body(ControlDecoder.CLOSE, 3);
        ControlEncoder.string(b, "b1");
        b.writeInt(1); // half a session id
        ControlMessage.Malformed bad = assertInstanceOf(ControlMessage.Malformed.class, decodeRaw(b));
        assertEquals(3, bad.requestId());
        assertTrue(bad.reason().contains("CLOSE") && bad.reason().contains("session id truncated"), bad.reason());
    }

    @Test
    void aStringLongerThanTheFrameIsMalformed() {
        ByteBuf b = body(ControlDecoder.UNIT_COUNTERS, 4).writeShort(200)
            .writeBytes("b1".getBytes(StandardCharsets.UTF_8));
        ControlMessage.Malformed bad = assertInstanceOf(ControlMessage.Malformed.class, decodeRaw(b));
        assertTrue(bad.reason().contains("string truncated"), bad.reason());
    }

    @Test
    void trailingBytesAreMalformed() {
        ControlMessage.Malformed bad = assertInstanceOf(ControlMessage.Malformed.class,
            decodeRaw(body(ControlDecoder.LIST_UNITS, 5).writeByte(0)));
        assertTrue(bad.reason().contains("1 unexpected bytes after LIST_UNITS"), bad.reason());
    }

    @Test
    void fieldRulesAreChecked() {
        ByteBuf badUnit = body(ControlDecoder.UNIT_COUNTERS, 6);
        ControlEncoder.string(badUnit, "-no good-");
        assertTrue(((ControlMessage.Malformed) decodeRaw(badUnit)).reason().contains("a unit id has"));

        ByteBuf zeroSession = body(ControlDecoder.CLOSE, 7);
        ControlEncoder.string(zeroSession, "b1");
        zeroSession.writeLong(0);
        assertTrue(((ControlMessage.Malformed) decodeRaw(zeroSession)).reason().contains("reserved"));

        ByteBuf badCode = body(ControlDecoder.ERROR, 8).writeByte(200);
        ControlEncoder.string(badCode, "x");
        assertTrue(((ControlMessage.Malformed) decodeRaw(badCode)).reason().contains("unknown error code 200"));
    }

    @Test
    void anAddressMustBeAnIpLiteral() throws Exception {
        ByteBuf frame = Unpooled.buffer();
        ControlEncoder.encode(new ControlMessage.Open(9, UnitId.of("b1"), plan(),
            new InetSocketAddress("127.0.0.1", 17502)), frame);
        // rewrite the aggregation address (the last field) to a host name of the same length
        int end = frame.writerIndex();
        int hostAt = end - 2 - "127.0.0.1".length();
        frame.setCharSequence(hostAt, "localhost", StandardCharsets.US_ASCII);
        in.writeInbound(frame);
        ControlMessage.Malformed bad = assertInstanceOf(ControlMessage.Malformed.class, in.readInbound());
        assertTrue(bad.reason().contains("an address is an IP literal, got 'localhost'"), bad.reason());
    }

    @Test
    void aFrameShorterThanItsHeaderIsMalformed() {
        ControlMessage.Malformed bad = assertInstanceOf(ControlMessage.Malformed.class,
            decodeRaw(Unpooled.buffer().writeByte(1)));
        assertEquals(0, bad.requestId());
    }

    @Test
    void theNextFrameIsReadAfterAMalformedOne() {
        ByteBuf two = Unpooled.buffer();
        two.writeInt(6).writeByte(0x7f).writeInt(1).writeByte(9);
        ControlEncoder.encode(new ControlMessage.ListUnits(2), two);
        in.writeInbound(two);
        assertInstanceOf(ControlMessage.Malformed.class, in.readInbound());
        assertEquals(new ControlMessage.ListUnits(2), in.readInbound());
    }

    @Test
    void aFrameOverTheLimitFailsTheConnection() {
        ByteBuf frame = Unpooled.buffer().writeInt(ControlDecoder.MAX_FRAME + 1).writeZero(16);
        DecoderException e = assertThrows(DecoderException.class, () -> in.writeInbound(frame));
        assertInstanceOf(TooLongFrameException.class, e);
    }

    @Test
    void whatCannotBeEncodedFailsTheWriteAndWritesNothing() {
        String huge = "x".repeat(70_000);
        ByteBuf buf = Unpooled.buffer();
        assertThrows(EncoderException.class, () -> ControlEncoder.encode(new ControlMessage.SelectScheduler(1,
            UnitId.of("b1"), huge), buf));
        assertEquals(0, buf.readableBytes());
        assertThrows(EncoderException.class, () -> ControlEncoder.encode(new ControlMessage.Open(1, UnitId.of("b1"),
            plan(), InetSocketAddress.createUnresolved("nowhere", 1)), buf));
        assertEquals(0, buf.readableBytes());
        buf.release();
        ControlMessage.Error longError = new ControlMessage.Error(2, ErrorCode.INTERNAL, huge);
        ControlMessage.Error back = (ControlMessage.Error) roundTrip(longError);
        assertEquals(ControlEncoder.MAX_ERROR_MESSAGE + 3, back.message().length());
    }
}
