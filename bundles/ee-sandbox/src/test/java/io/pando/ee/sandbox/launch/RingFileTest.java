package io.pando.ee.sandbox.launch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The shared-memory rings: records in order across the ring's end, the doorbell, and counters nobody could write. */
class RingFileTest {

    private static final int CAP = RingFile.MIN_CAPACITY;

    @TempDir
    Path dir;

    /** Writes one record of {@code payload} bytes (type 0x02, payload = its number repeated), or returns false. */
    private static boolean put(RingFile.Ring r, int number, int payload) throws RingException {
        int size = RingFile.RECORD_HEADER + payload;
        int at = r.begin(size, size);
        if (at < 0) {
            return false;
        }
        ByteBuffer d = r.data();
        d.putInt(at, 1 + payload).put(at + 4, (byte) 2);
        for (int i = 0; i < payload; i++) {
            d.put(at + 5 + i, (byte) number);
        }
        r.commit(size);
        return true;
    }

    private static int take(RingFile.Ring r) throws RingException {
        int at = r.next();
        if (at < 0) {
            return -1;
        }
        assertEquals(2, r.recordType());
        int payload = r.recordLength() - 1;
        int number = r.data().get(at + 5) & 0xFF;
        for (int i = 0; i < payload; i++) {
            assertEquals((byte) number, r.data().get(at + 5 + i), "record " + number + " byte " + i);
        }
        r.release();
        return number;
    }

    @Test
    void carriesRecordsInOrderAcrossTheEndOfTheRingBetweenTwoMappings() throws Exception {
        Path f = dir.resolve("ee.sock.ring");
        try (RingFile unit = RingFile.create(f, CAP); RingFile sandbox = RingFile.open(f)) {
            assertEquals(RingFile.size(CAP, CAP), Files.size(f));
            RingFile.Ring w = unit.toSandbox();
            RingFile.Ring r = sandbox.toSandbox();
            int next = 0;
            int expected = 0;
            int sizes = 0;
            for (int round = 0; round < 2_000; round++) { // odd sizes: padding at the end of the ring, often
                while (put(w, next & 0xFF, 1000 + (sizes++ * 7919) % 9000)) {
                    next++;
                }
                int got;
                int taken = 0;
                while (taken < 3 && (got = take(r)) >= 0) {
                    assertEquals(expected & 0xFF, got);
                    expected++;
                    taken++;
                }
            }
            int got;
            while ((got = take(r)) >= 0) {
                assertEquals(expected & 0xFF, got);
                expected++;
            }
            assertEquals(next, expected, "every record read once");
            assertTrue(w.drained());
        }
    }

    @Test
    void aRecordIsAtMostHalfTheRingAndAlwaysFitsAnEmptyRing() throws Exception {
        try (RingFile unit = RingFile.create(dir.resolve("r"), CAP); RingFile sandbox = RingFile.open(dir.resolve("r"))) {
            RingFile.Ring w = unit.toUnit();
            assertThrows(IllegalArgumentException.class, () -> w.begin(CAP / 2 + 1, CAP / 2 + 1));
            for (int i = 0; i < 50; i++) {
                assertTrue(put(w, i, CAP / 2 - RingFile.RECORD_HEADER - (i * 13) % 100), "record " + i);
                assertEquals(i, take(sandbox.toUnit()));
            }
        }
    }

    @Test
    void theProducerWakesTheConsumerOnlyWhenItSaidItSleeps() throws Exception {
        try (RingFile unit = RingFile.create(dir.resolve("r"), CAP); RingFile sandbox = RingFile.open(dir.resolve("r"))) {
            RingFile.Ring w = unit.toSandbox();
            RingFile.Ring r = sandbox.toSandbox();
            int at = w.begin(8, 8);
            w.data().putInt(at, 4).put(at + 4, (byte) 2);
            assertFalse(w.commit(8), "the consumer did not say it sleeps");
            assertFalse(r.sleep(), "a record is there: no sleep");
            r.next();
            r.release();
            assertTrue(r.sleep());
            at = w.begin(8, 8);
            w.data().putInt(at, 4).put(at + 4, (byte) 2);
            assertTrue(w.commit(8), "it sleeps: wake it");
            at = w.begin(8, 8);
            w.data().putInt(at, 4).put(at + 4, (byte) 2);
            assertFalse(w.commit(8), "woken once, not twice");
            // the unit's side of the other ring starts asleep: the first results wake it
            RingFile.Ring out = sandbox.toUnit();
            at = out.begin(8, 8);
            out.data().putInt(at, 4).put(at + 4, (byte) 0x82);
            assertTrue(out.commit(8));
        }
    }

    @Test
    void aConsumerThreadReadsWhatAProducerThreadWrites() throws Exception {
        try (RingFile unit = RingFile.create(dir.resolve("r"), CAP); RingFile sandbox = RingFile.open(dir.resolve("r"))) {
            RingFile.Ring w = unit.toUnit();
            RingFile.Ring r = sandbox.toUnit();
            int n = 20_000;
            AtomicReference<Throwable> failed = new AtomicReference<>();
            Thread consumer = new Thread(() -> {
                try {
                    for (int i = 0; i < n; ) {
                        int got = take(r);
                        if (got >= 0) {
                            assertEquals(i & 0xFF, got);
                            i++;
                        } else {
                            Thread.yield(); // two cores, shared: let the producer run
                        }
                    }
                } catch (Throwable t) {
                    failed.set(t);
                }
            });
            consumer.start();
            for (int i = 0; i < n; ) {
                if (put(w, i & 0xFF, 1 + i % 700)) {
                    i++;
                } else {
                    Thread.yield();
                }
                if (failed.get() != null) {
                    break;
                }
            }
            consumer.join(60_000);
            assertEquals(null, failed.get());
            assertFalse(consumer.isAlive());
        }
    }

    @Test
    void refusesCountersAndRecordsItsPeerCouldNotHaveWritten() throws Exception {
        Path f = dir.resolve("r");
        try (RingFile unit = RingFile.create(f, CAP); RingFile sandbox = RingFile.open(f);
            FileChannel raw = FileChannel.open(f, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            var hostile = raw.map(FileChannel.MapMode.READ_WRITE, 0, RingFile.HEADER).order(ByteOrder.LITTLE_ENDIAN);
            RingFile.Ring results = unit.toUnit();
            hostile.putLong(256, CAP + 8L); // the sandbox's tail beyond a full ring
            assertTrue(assertThrows(RingException.class, results::next).getMessage().contains("ring tail"));
            hostile.putLong(256, 16);
            ByteBuffer d = sandbox.toUnit().data();
            d.putInt(0, 1 << 20).put(4, (byte) 0x82); // a record longer than what was published
            assertTrue(assertThrows(RingException.class, results::next).getMessage().contains("beyond"));
            d.putInt(0, 100).put(4, (byte) 0); // padding that does not reach the ring's end
            assertTrue(assertThrows(RingException.class, results::next).getMessage().contains("padding"));
            RingFile.Ring batches = unit.toSandbox();
            assertTrue(put(batches, 1, 10));
            hostile.putLong(128, 1 << 20); // the sandbox's head beyond the unit's tail
            assertTrue(assertThrows(RingException.class, () -> batches.begin(8, 8)).getMessage().contains("ring head"));
        }
    }

    @Test
    void refusesAFileThatIsNotARingFile() throws IOException {
        Path f = dir.resolve("bad");
        Files.write(f, new byte[RingFile.HEADER]);
        assertTrue(assertThrows(RingException.class, () -> RingFile.open(f)).getMessage().contains("magic"));
        try (RingFile unit = RingFile.create(dir.resolve("ok"), CAP)) {
            try (FileChannel c = FileChannel.open(dir.resolve("ok"), StandardOpenOption.WRITE)) {
                c.truncate(RingFile.HEADER + CAP);
            }
            assertTrue(assertThrows(RingException.class, () -> RingFile.open(dir.resolve("ok"))).getMessage()
                .contains("its header says"));
        }
        assertThrows(IllegalArgumentException.class, () -> RingFile.create(dir.resolve("x"), 3 << 16));
    }
}
