package io.pando.ee.sandbox;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The program API's rules as the sandbox enforces them, and the ops it records. */
class SessionContextTest {

    private static SessionContext context(LinkedHashMap<String, byte[]> state) {
        return new SessionContext(42, new long[] {0, 3}, Map.of("k", "v"), state, new long[] {77});
    }

    private static ByteBuffer encoded(SessionContext c) {
        ByteBuffer out = ByteBuffer.allocate(c.opsLength());
        c.copyOps(out);
        return out.flip();
    }

    @Test
    void recordsOpsInCallOrderAndCopiesInput() {
        SessionContext c = context(new LinkedHashMap<>());
        c.begin(Thread.currentThread());
        ByteBuffer data = ByteBuffer.wrap(new byte[] {9, 1, 2, 3});
        data.position(1);
        c.emit(3, data);
        assertEquals(1, data.position(), "the caller's buffer is not moved");
        c.putState("a", new byte[] {7});
        c.sendControl(0, ByteBuffer.wrap(new byte[] {5}));
        c.putState("a", null);
        assertEquals(4, c.opCount());
        ByteBuffer ops = encoded(c);
        assertEquals(Protocol.OP_EMIT, ops.get());
        assertEquals(3, ops.getInt(), "u32 flow");
        assertEquals(3, ops.getInt());
        assertEquals(1, ops.get());
        ops.position(ops.position() + 2);
        assertEquals(Protocol.OP_STATE_PUT, ops.get());
        assertEquals(1, ops.getShort());
        assertEquals('a', ops.get());
        assertEquals(1, ops.getInt());
        assertEquals(7, ops.get());
        assertEquals(Protocol.OP_CONTROL, ops.get());
        ops.position(ops.position() + 4 + 4 + 1);
        assertEquals(Protocol.OP_STATE_REMOVE, ops.get());
        assertEquals(1, ops.getShort());
        assertEquals('a', ops.get());
        assertTrue(!ops.hasRemaining());
        c.end();
    }

    @Test
    void enforcesTheApiRules() {
        LinkedHashMap<String, byte[]> seed = new LinkedHashMap<>();
        seed.put("x", new byte[10]);
        SessionContext c = context(seed);
        c.begin(Thread.currentThread());
        assertArrayEquals(new byte[10], c.state("x"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> c.emit(1, ByteBuffer.allocate(1)))
            .getMessage().contains("session has no flow 1; its flows: [0, 3]"));
        assertThrows(IllegalArgumentException.class, () -> c.emit(0, ByteBuffer.allocate(Protocol.MAX_RESULT + 1)));
        c.emit(0, ByteBuffer.allocate(Protocol.MAX_RESULT));
        assertThrows(IllegalArgumentException.class, () -> c.sendControl(0, ByteBuffer.allocate(Protocol.MAX_RESULT + 1)));
        assertThrows(IllegalArgumentException.class, () -> c.state(""));
        assertThrows(IllegalArgumentException.class, () -> c.putState("k".repeat(256), new byte[1]));
        c.putState("k".repeat(255), new byte[1]);
        assertThrows(IllegalArgumentException.class, () -> c.putState("v", new byte[Protocol.MAX_STATE_VALUE + 1]));
        for (int i = 0; i < 15; i++) {
            c.putState("q" + i, new byte[Protocol.MAX_STATE_VALUE]);
        }
        IllegalStateException quota = assertThrows(IllegalStateException.class,
            () -> c.putState("q15", new byte[Protocol.MAX_STATE_VALUE]));
        assertTrue(quota.getMessage().startsWith("session state is limited to 1048576 bytes"), quota.getMessage());
        assertNull(c.state("q15"), "a refused write leaves the state unchanged");
        int ops = c.opCount();
        c.putState("q0", null); // frees room
        c.putState("q15", new byte[Protocol.MAX_STATE_VALUE]);
        assertEquals(ops + 2, c.opCount());
        c.end();
        assertThrows(IllegalStateException.class, () -> c.state("x"), "outside process");
    }

    @Test
    void recordsTimerOpsAndKeepsTheCountOfSetTimers() {
        SessionContext c = context(new LinkedHashMap<>());
        assertEquals(1, c.timerCount(), "seeded by INIT");
        c.begin(Thread.currentThread());
        c.setTimer(5, 1000);
        c.setTimer(5, 2000); // moved: still one
        c.cancelTimer(77);
        c.cancelTimer(999); // not set: no op
        assertEquals(1, c.timerCount());
        assertEquals(3, c.opCount());
        ByteBuffer ops = encoded(c);
        assertEquals(Protocol.OP_TIMER_SET, ops.get());
        assertEquals(5, ops.getLong());
        assertEquals(1000, ops.getLong());
        assertEquals(Protocol.OP_TIMER_SET, ops.get());
        assertEquals(5, ops.getLong());
        assertEquals(2000, ops.getLong());
        assertEquals(Protocol.OP_TIMER_CANCEL, ops.get());
        assertEquals(77, ops.getLong());
        assertTrue(!ops.hasRemaining());
        assertThrows(IllegalArgumentException.class, () -> c.setTimer(1, -1));
        assertThrows(IllegalArgumentException.class, () -> c.setTimer(1, Protocol.MAX_TIMER_DELAY_MICROS + 1));
        c.setTimer(1, Protocol.MAX_TIMER_DELAY_MICROS);
        for (int i = 100; c.timerCount() < Protocol.MAX_TIMERS; i++) {
            c.setTimer(i, 0);
        }
        int before = c.opCount();
        IllegalStateException full = assertThrows(IllegalStateException.class, () -> c.setTimer(-1, 0));
        assertTrue(full.getMessage().contains("at most 1024 timers"), full.getMessage());
        assertEquals(before, c.opCount(), "a refused timer records nothing");
        c.setTimer(5, 0); // moving one still works
        c.end();
        c.timerExpired(5);
        assertEquals(Protocol.MAX_TIMERS - 1, c.timerCount(), "an expiry frees its place");
        assertThrows(IllegalStateException.class, () -> c.setTimer(2, 0), "outside a call");
    }

    @Test
    void refusesCallsFromAnotherThread() throws Exception {
        SessionContext c = context(new LinkedHashMap<>());
        c.begin(Thread.currentThread());
        Throwable[] seen = new Throwable[1];
        Thread t = new Thread(() -> {
            try {
                c.emit(0, ByteBuffer.allocate(1));
            } catch (Throwable e) {
                seen[0] = e;
            }
        });
        t.start();
        t.join();
        assertTrue(seen[0] instanceof IllegalStateException, String.valueOf(seen[0]));
        assertEquals(0, c.opCount());
    }

    @Test
    void capsTheOpsOfOneDatagram() {
        SessionContext c = context(new LinkedHashMap<>());
        c.begin(Thread.currentThread());
        ByteBuffer mib = ByteBuffer.allocate(Protocol.MAX_RESULT);
        for (int i = 0; i < 14; i++) {
            c.emit(0, mib);
        }
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> {
            for (int i = 0; i < 2; i++) {
                c.emit(0, mib);
            }
        });
        assertTrue(e.getMessage().contains("at most " + Protocol.MAX_OPS_BYTES + " bytes"), e.getMessage());
        assertTrue(c.opsLength() <= Protocol.MAX_OPS_BYTES);
        c.begin(Thread.currentThread());
        assertEquals(0, c.opsLength(), "a new datagram starts empty");
    }
}
