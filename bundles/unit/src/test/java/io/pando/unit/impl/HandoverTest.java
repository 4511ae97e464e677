package io.pando.unit.impl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.PooledByteBufAllocator;
import io.pando.api.program.ActiveProgram;
import io.pando.api.program.Datagram;
import io.pando.api.program.ProgramContext;
import io.pando.api.session.SessionId;
import io.pando.api.unit.UnitId;
import io.pando.link.SessionHandover;
import io.pando.link.SessionPlan;
import io.pando.link.UnitChannel;
import io.pando.unit.impl.RecordingAggregation.CreditMode;
import io.pando.unit.impl.RecordingAggregation.Result;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Migration between two real units: the leaving unit processes what it had and exports the program's state and
 * timers; the arriving unit holds what it gets until the state is installed, then goes on where the other stopped.
 */
class HandoverTest {

    private static final long MIB = 1 << 20;
    private static final UnitId U1 = UnitId.of("u1");
    private static final UnitId U2 = UnitId.of("u2");
    private static final SessionId SESSION = new SessionId(42);

    private final List<UnitCore> cores = new ArrayList<>();
    private final List<RecordingAggregation> aggregations = new ArrayList<>();

    @AfterEach
    void stopEverything() throws InterruptedException {
        for (UnitCore c : cores) {
            c.stop();
        }
        for (RecordingAggregation a : aggregations) {
            a.shutdown();
        }
    }

    /**
     * Counts the session's datagrams in its state and stamps the running count after the datagram's number; sets
     * timer 7 (one minute) on its first datagram.
     */
    static final class Counter implements ActiveProgram {
        @Override
        public void process(Datagram in, ProgramContext ctx) {
            long n = ctx.state("n").map(b -> ByteBuffer.wrap(b).getLong()).orElse(0L) + 1;
            ctx.putState("n", ByteBuffer.allocate(8).putLong(n).array());
            if (n == 1) {
                ctx.setTimer(7, 60_000_000);
            }
            ByteBuffer out = ByteBuffer.allocate(16).putLong(in.data().getLong(in.data().position())).putLong(n);
            ctx.emit(in.flow(), out.flip());
        }
    }

    private UnitCore unit(UnitId id, boolean withProgram) {
        UnitCore c = new UnitCore(id, 64 * MIB, MIB, "fifo", PooledByteBufAllocator.DEFAULT);
        cores.add(c);
        c.addScheduler("fifo", UnitCoreTest.fifo());
        if (withProgram) {
            c.addProgram("counter", new Factories.Programs(new Counter()));
        }
        return c;
    }

    private RecordingAggregation aggregation() {
        RecordingAggregation a = new RecordingAggregation(CreditMode.ASYNC);
        aggregations.add(a);
        return a;
    }

    private static SessionPlan plan(UnitId unit) {
        return new SessionPlan(SESSION, "counting", "counter", Map.of(), new InetSocketAddress("127.0.0.1", 9),
            List.of(unit), 8 * MIB, Optional.empty());
    }

    private static void send(UnitChannel c, int from, int to) {
        for (int i = from; i < to; i++) {
            c.deliver(i, UnitCoreTest.datagram(i, UnitCoreTest.sizeOf(i)), false);
        }
    }

    private static long count(Result r) {
        return ByteBuffer.wrap(r.data()).getLong(8);
    }

    @Test
    void theStateTimersAndHeldDatagramsMoveAndEveryDatagramIsCountedOnceInOrder() throws Exception {
        UnitCore u1 = unit(U1, true);
        UnitCore u2 = unit(U2, true);
        RecordingAggregation a1 = aggregation();
        RecordingAggregation a2 = aggregation();
        RecordingEvents events = new RecordingEvents();
        UnitChannel out = u1.open(plan(U1), a1, events);
        send(out, 0, 1_000);

        UnitChannel in = u2.openForHandover(plan(U2), a2, events);
        send(in, 1_000, 2_000); // the distribution unit switched: these wait for the state
        UnitCoreTest.await(() -> in.counters().get("held_for_handover") == 1_000, "u2 holding what it got");
        assertEquals(1_000, in.counters().get("waiting_for_program"));
        assertTrue(in.counters().get("buffer_bytes") > 0, "held datagrams are charged");

        SessionHandover h = out.handOver().toCompletableFuture().get(10, TimeUnit.SECONDS);
        assertEquals(1_000, ByteBuffer.wrap(h.state().get("n")).getLong(), "every datagram u1 got was counted");
        assertEquals(999, h.lastSequence());
        assertEquals(List.of(7L), List.copyOf(h.timerDelaysMicros().keySet()));
        long left = h.timerDelaysMicros().get(7L);
        assertTrue(left > 50_000_000 && left <= 60_000_000, "the timer's time left: " + left);
        assertEquals(1 + 8, h.stateBytes(), "key and value");

        in.takeOver(h);
        out.close().toCompletableFuture().get(10, TimeUnit.SECONDS);
        UnitCoreTest.await(() -> a2.channel(SESSION).count() == 1_000, "u2's results");

        List<Result> all = new ArrayList<>(a1.channel(SESSION).results());
        all.addAll(a2.channel(SESSION).results());
        assertEquals(2_000, all.size());
        for (int i = 0; i < all.size(); i++) {
            Result r = all.get(i);
            assertEquals(i, r.sequence(), "one result per datagram, in order");
            assertEquals(i + 1, count(r), "datagram " + i + " was the " + (i + 1) + "th the program saw");
        }
        Map<String, Long> c1 = out.counters();
        Map<String, Long> c2 = in.counters();
        assertEquals(1, c1.get("timers_handed_over"));
        assertEquals(0, c1.get("timers_discarded"), "handed over, not discarded");
        assertEquals(1, c2.get("timers_taken_over"));
        assertEquals(1, c2.get("timers"), "the timer is set on u2");
        assertEquals(0, c2.get("held_for_handover") - 1_000, "nothing more was held after the take-over");
        assertEquals(9, c2.get("state_bytes"));
        assertEquals(0, u1.load().sessions(), "u1 closed the session");
        assertEquals(1, u2.load().sessions());
        in.close().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }

    @Test
    void theHandOverWaitsForDatagramsHeldForAnAbsentProgram() throws Exception {
        UnitCore u1 = unit(U1, false);
        RecordingAggregation a1 = aggregation();
        UnitChannel out = u1.open(plan(U1), a1, new RecordingEvents());
        send(out, 0, 10);
        CompletableFuture<SessionHandover> f = out.handOver().toCompletableFuture();
        assertThrows(TimeoutException.class, () -> f.get(100, TimeUnit.MILLISECONDS));
        u1.addProgram("counter", new Factories.Programs(new Counter()));
        SessionHandover h = f.get(10, TimeUnit.SECONDS);
        assertEquals(10, ByteBuffer.wrap(h.state().get("n")).getLong());
        out.close().toCompletableFuture().get(10, TimeUnit.SECONDS);
        assertEquals(10, a1.channel(SESSION).count());
    }

    @Test
    void aDatagramAfterTheHandOverIsCountedAndReleasedAndMisuseIsRefused() throws Exception {
        UnitCore u1 = unit(U1, true);
        UnitCore u2 = unit(U2, true);
        RecordingAggregation a1 = aggregation();
        UnitChannel out = u1.open(plan(U1), a1, new RecordingEvents());
        send(out, 0, 3);
        assertThrows(IllegalStateException.class, () -> out.takeOver(SessionHandover.EMPTY),
            "a session that runs is not waiting for a hand-over");
        SessionHandover h = out.handOver().toCompletableFuture().get(10, TimeUnit.SECONDS);
        assertEquals(3, ByteBuffer.wrap(h.state().get("n")).getLong());
        ExecutionException again = assertThrows(ExecutionException.class,
            () -> out.handOver().toCompletableFuture().get(10, TimeUnit.SECONDS));
        assertTrue(again.getCause() instanceof IllegalStateException, again.toString());
        send(out, 3, 4);
        out.close().toCompletableFuture().get(10, TimeUnit.SECONDS);
        assertEquals(3, a1.channel(SESSION).count());
        assertEquals(1, out.counters().get("late_after_handover"));

        UnitChannel in = u2.openForHandover(plan(U2), aggregation(), new RecordingEvents());
        assertThrows(IllegalStateException.class, () -> u2.openForHandover(plan(U2), aggregation(),
            new RecordingEvents()), "the unit already serves the session");
        in.takeOver(h);
        assertThrows(IllegalStateException.class, () -> in.takeOver(h), "only once");
        assertTrue(u2.migrates());
        assertFalse(in.counters().isEmpty());
        in.close().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }
}
