package io.pando.remote.impl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.CompositeByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.handler.codec.CorruptedFrameException;
import io.pando.api.unit.UnitId;
import io.pando.link.UnitChannel;
import java.util.concurrent.ThreadLocalRandom;
import org.junit.jupiter.api.Test;

/** The 13-byte prefix of the data links. */
class DataPrefixTest {

    private final ByteBufAllocator alloc = PooledByteBufAllocator.DEFAULT;

    private ByteBuf payload(int n) {
        byte[] b = new byte[n];
        ThreadLocalRandom.current().nextBytes(b);
        return alloc.directBuffer(n).writeBytes(b);
    }

    private void roundTrip(int size, long seq, int flags, long flow) {
        roundTrip(size, seq, flags, flow, 0);
    }

    private void roundTrip(int size, long seq, int flags, long flow, int number) {
        ByteBuf data = payload(size);
        ByteBuf expected = data.copy();
        ByteBuf wire = DataPrefix.prefix(alloc, seq, flags, flow, Integer.toUnsignedLong(number), data);
        try {
            assertEquals(0, data.refCnt() == 0 ? 0 : data.refCnt() - 1, "the payload is owned by the result only");
            assertEquals(DataPrefix.LENGTH + size, wire.readableBytes());
            if (size >= DataPrefix.COMPOSITE_THRESHOLD) {
                assertInstanceOf(CompositeByteBuf.class, wire, "large payloads are not copied");
            }
            assertEquals(flags, DataPrefix.readFlags(wire));
            assertEquals(number, DataPrefix.number(wire));
            assertEquals(seq, DataPrefix.readSequence(wire));
            assertEquals(flow, DataPrefix.readFlow(wire));
            assertEquals(expected, wire, "payload intact");
        } finally {
            wire.release();
            expected.release();
        }
        assertEquals(0, data.refCnt(), "releasing the datagram releases the payload");
    }

    @Test
    void smallAndLargePayloadsRoundTrip() {
        roundTrip(0, 0, 0, 0);
        roundTrip(1000, 123_456_789_012L, 0, 1);
        roundTrip(DataPrefix.COMPOSITE_THRESHOLD - 1, 7, DataPrefix.CONTROL, 0xFFFF_FFFFL);
        roundTrip(DataPrefix.COMPOSITE_THRESHOLD, UnitChannel.NO_SEQUENCE, DataPrefix.CONTROL, 3);
        roundTrip(1 << 20, Long.MAX_VALUE, 0, 0x8000_0000L);
        roundTrip(100, 5, 0, 2, 7);
        roundTrip(DataPrefix.COMPOSITE_THRESHOLD, 9, 0, 0, -1); // numbers wrap at 2^32
    }

    @Test
    void processedCarriesTheSequenceAndTheResultsBeforeIt() {
        ByteBuf p = DataPrefix.processed(alloc, 41, 0x1_0000_0003L);
        try {
            assertEquals(DataPrefix.LENGTH, p.readableBytes(), "no payload");
            assertEquals(DataPrefix.PROCESSED, DataPrefix.readFlags(p));
            assertEquals(3, DataPrefix.number(p), "modulo 2^32");
            assertEquals(41, DataPrefix.readSequence(p));
            assertEquals(0, DataPrefix.readFlow(p));
            assertEquals(0, p.readableBytes());
        } finally {
            p.release();
        }
    }

    @Test
    void helloNamesTheUnit() {
        ByteBuf hello = DataPrefix.hello(alloc, UnitId.of("node-b.unit:1"));
        try {
            assertEquals(DataPrefix.HELLO, DataPrefix.readFlags(hello));
            assertEquals(0, DataPrefix.readSequence(hello));
            assertEquals(0, DataPrefix.readFlow(hello));
            assertEquals(UnitId.of("node-b.unit:1"), DataPrefix.helloUnit(hello));
        } finally {
            hello.release();
        }
    }

    @Test
    void badPrefixesAreRefused() {
        ByteBuf shortOne = alloc.buffer().writeZero(16);
        ByteBuf unknownFlag = alloc.buffer().writeLong(1).writeByte(0x08).writeInt(0).writeInt(0);
        ByteBuf both = alloc.buffer().writeLong(1).writeByte(DataPrefix.CONTROL | DataPrefix.HELLO).writeInt(0)
            .writeInt(0);
        ByteBuf ackAndControl = alloc.buffer().writeLong(1).writeByte(DataPrefix.CONTROL | DataPrefix.PROCESSED)
            .writeInt(0).writeInt(0);
        ByteBuf ackWithoutSeq = alloc.buffer().writeLong(-1).writeByte(DataPrefix.PROCESSED).writeInt(0).writeInt(0);
        ByteBuf badSeq = alloc.buffer().writeLong(-2).writeByte(0).writeInt(0).writeInt(0);
        ByteBuf badHello = alloc.buffer().writeLong(0).writeByte(DataPrefix.HELLO).writeInt(0).writeInt(0)
            .writeByte('-');
        try {
            assertTrue(assertThrows(CorruptedFrameException.class, () -> DataPrefix.readFlags(shortOne)).getMessage()
                .contains("17-byte prefix, got 16 bytes"));
            assertTrue(assertThrows(CorruptedFrameException.class, () -> DataPrefix.readFlags(unknownFlag))
                .getMessage().contains("bad flags 0x08"));
            assertThrows(CorruptedFrameException.class, () -> DataPrefix.readFlags(both));
            assertThrows(CorruptedFrameException.class, () -> DataPrefix.readFlags(ackAndControl));
            assertThrows(CorruptedFrameException.class, () -> DataPrefix.readFlags(ackWithoutSeq));
            assertTrue(assertThrows(CorruptedFrameException.class, () -> DataPrefix.readFlags(badSeq)).getMessage()
                .contains("bad sequence -2"));
            DataPrefix.readFlags(badHello);
            DataPrefix.readSequence(badHello);
            DataPrefix.readFlow(badHello);
            assertThrows(CorruptedFrameException.class, () -> DataPrefix.helloUnit(badHello));
        } finally {
            shortOne.release();
            unknownFlag.release();
            both.release();
            ackAndControl.release();
            ackWithoutSeq.release();
            badSeq.release();
            badHello.release();
        }
    }
}
