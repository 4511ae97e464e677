package io.pando.client.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.CompositeByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.Unpooled;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

class PayloadTest {

    private static ByteBuf encoded(long seq, long nanos, int size) {
        ByteBuf buf = PooledByteBufAllocator.DEFAULT.directBuffer(size);
        Payload.encode(buf, seq, nanos, size);
        return buf;
    }

    @ParameterizedTest
    @ValueSource(ints = {24, 25, 27, 28, 31, 64, 1000, 1452, 3000, 65536, 1 << 20})
    void roundTripsEverySize(int size) {
        ByteBuf buf = encoded(123_456_789L, 42L, size);
        try {
            assertEquals(size, buf.readableBytes());
            Payload.Header h = Payload.verify(buf);
            assertNotNull(h);
            assertEquals(123_456_789L, h.seq());
            assertEquals(42L, h.sendNanos());
            assertEquals(size, h.size());
            assertEquals(0, buf.readerIndex(), "verify must not move the reader index");
        } finally {
            buf.release();
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {0, 8, 15, 16, 19, 20, 23, 500, 2999})
    void detectsEveryFlippedBit(int offset) {
        ByteBuf buf = encoded(7, 99, 3000);
        try {
            for (int bit = 0; bit < 8; bit++) {
                buf.setByte(offset, buf.getByte(offset) ^ (1 << bit));
                assertNull(Payload.verify(buf), "flip of bit " + bit + " at " + offset);
                buf.setByte(offset, buf.getByte(offset) ^ (1 << bit));
            }
            assertNotNull(Payload.verify(buf));
        } finally {
            buf.release();
        }
    }

    @Test
    void detectsTruncationAndExtension() {
        ByteBuf buf = encoded(3, 1, 100);
        try {
            assertNull(Payload.verify(buf.slice(0, 99)));
            ByteBuf longer = Unpooled.buffer(101).writeBytes(buf, 0, 100).writeByte(0);
            assertNull(Payload.verify(longer));
            assertNull(Payload.verify(buf.slice(0, 23)));
        } finally {
            buf.release();
        }
    }

    @Test
    void detectsAFragmentOfAnotherDatagram() {
        ByteBuf a = encoded(10, 5, 2000);
        ByteBuf b = encoded(11, 5, 2000);
        ByteBuf mixed = Unpooled.buffer(2000).writeBytes(a, 0, 1000).writeBytes(b, 1000, 1000);
        try {
            assertNull(Payload.verify(mixed));
        } finally {
            a.release();
            b.release();
        }
    }

    @Test
    void verifiesACompositeBuffer() {
        ByteBuf whole = encoded(77, 8, 5000);
        CompositeByteBuf composite = Unpooled.compositeBuffer();
        composite.addComponent(true, whole.retainedSlice(0, 1234));
        composite.addComponent(true, whole.retainedSlice(1234, 5000 - 1234));
        try {
            Payload.Header h = Payload.verify(composite);
            assertNotNull(h);
            assertEquals(77, h.seq());
        } finally {
            composite.release();
            whole.release();
        }
    }

    @Test
    void honoursTheReaderIndex() {
        ByteBuf buf = Unpooled.buffer(300).writeZero(17);
        Payload.encode(buf, 5, 6, 200);
        try {
            buf.skipBytes(17);
            Payload.Header h = Payload.verify(buf);
            assertNotNull(h);
            assertEquals(5, h.seq());
        } finally {
            buf.release();
        }
    }

    @Test
    void rejectsSizesOutOfRange() {
        ByteBuf buf = Unpooled.buffer();
        try {
            assertThrows(IllegalArgumentException.class, () -> Payload.encode(buf, 0, 0, 23));
            assertThrows(IllegalArgumentException.class, () -> Payload.encode(buf, 0, 0, (1 << 20) + 1));
            assertEquals(0, buf.writerIndex());
        } finally {
            buf.release();
        }
    }
}
