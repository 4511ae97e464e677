package io.pando.ep.rtpsync;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The jitter buffer alone: sequence order whatever the arrival order, bounds, slot reuse. */
class JitterBufferTest {

    private static ByteBuffer packet(long sequence, int length) {
        ByteBuffer b = ByteBuffer.allocate(length);
        for (int i = 0; i < length; i++) {
            b.put(i, (byte) (sequence * 31 + i));
        }
        return b;
    }

    @Test
    void headsComeInSequenceOrderWhateverTheArrivalOrder() {
        Random random = new Random(5);
        JitterBuffer b = new JitterBuffer(64, 1 << 20);
        long next = 1_000;
        long expected = 1_000;
        for (int round = 0; round < 200; round++) {
            List<Long> batch = new ArrayList<>();
            int n = 1 + random.nextInt(40);
            for (int i = 0; i < n; i++) {
                batch.add(next++);
            }
            Collections.shuffle(batch, random);
            for (long s : batch) {
                b.insert(s, 10 * s, packet(s, 1 + (int) (s % 1500)));
                assertFalse(b.overFull());
            }
            assertEquals(n, b.size());
            while (!b.isEmpty()) {
                assertEquals(expected, b.headSequence());
                assertEquals(10 * expected, b.headTimestamp());
                ByteBuffer head = b.headPacket();
                assertEquals(packet(expected, 1 + (int) (expected % 1500)), head, "the bytes of " + expected);
                b.removeHead();
                expected++;
            }
            assertEquals(0, b.bytes());
        }
    }

    @Test
    void overFullByCountAndByBytesAndOneInsertionOfRoom() {
        JitterBuffer b = new JitterBuffer(3, 1000);
        b.insert(1, 0, packet(1, 400));
        b.insert(2, 0, packet(2, 400));
        assertFalse(b.overFull());
        b.insert(3, 0, packet(3, 300));
        assertTrue(b.overFull(), "1100 bytes");
        b.removeHead();
        assertFalse(b.overFull());
        b.insert(0, 0, packet(0, 10));
        b.insert(4, 0, packet(4, 10));
        assertTrue(b.overFull(), "4 packets");
        assertEquals(0, b.headSequence(), "the lowest is the head, whenever it came");
        assertThrows(IllegalStateException.class, () -> b.insert(5, 0, packet(5, 10)), "no room beyond one");
    }

    @Test
    void slotsGrowToPowersOfTwoAndAreReused() {
        JitterBuffer b = new JitterBuffer(2, 1 << 20);
        b.insert(1, 0, packet(1, 10));
        assertEquals(JitterBuffer.MIN_SLOT_BYTES, b.allocatedBytes());
        b.insert(2, 0, packet(2, 1200));
        assertEquals(JitterBuffer.MIN_SLOT_BYTES + 2048, b.allocatedBytes());
        for (long s = 3; s < 1000; s++) {
            b.removeHead();
            b.insert(s, 0, packet(s, s % 2 == 0 ? 1200 : 256));
        }
        assertTrue(b.allocatedBytes() <= 3 * 2048, "three slots at most 2 KiB each: " + b.allocatedBytes());
        long settled = b.allocatedBytes();
        for (long s = 1000; s < 5000; s++) {
            b.removeHead();
            b.insert(s, 0, packet(s, s % 2 == 0 ? 1200 : 256));
        }
        assertEquals(settled, b.allocatedBytes());
    }

    @Test
    void theHeadViewDoesNotMoveTheCallersPacket() {
        JitterBuffer b = new JitterBuffer(4, 1 << 20);
        ByteBuffer p = packet(9, 100);
        p.position(7);
        b.insert(9, 0, p);
        assertEquals(7, p.position(), "absolute reads only");
        assertEquals(100, b.headPacket().remaining(), "from index 0 to the limit");
    }
}
