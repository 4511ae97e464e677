package io.pando.distribution.impl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.pando.api.program.ActiveProgram;
import io.pando.api.program.Datagram;
import io.pando.api.program.ProgramContext;
import io.pando.api.router.SessionInfo;
import io.pando.api.router.SessionRequest;
import io.pando.artp.ArtpConnection;
import io.pando.artp.ArtpEndpoint;
import io.pando.artp.ArtpHandler;
import io.pando.artp.SessionAcceptor;
import io.pando.artp.testing.Configs;
import io.pando.unit.impl.ArUnit;
import java.lang.reflect.Method;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLongArray;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.osgi.framework.ServiceReference;
import org.osgi.service.component.ComponentServiceObjects;

/**
 * A unit dies mid-stream and nothing it had accepted is lost or delivered twice: a real {@link DistributionCore}
 * (ARTP ingress, a real sender), real parallel AR units ({@link ArUnit}, running a program that takes a few
 * microseconds per datagram so that a unit always has datagrams queued), and a real aggregation unit sending to a
 * real ARTP destination. A unit is killed the way a unit whose node dies looks to the distribution unit: it stops at
 * once, dropping what it queued, and its service goes away.
 */
class UnitFailureRecoveryTest {

    private static final int N = 20_000;
    private static final int SIZE = 200;

    private final List<AutoCloseable> closing = new ArrayList<>();

    @AfterEach
    void closeEverything() throws Exception {
        for (int i = closing.size() - 1; i >= 0; i--) {
            closing.get(i).close();
        }
    }

    /** Passes every datagram on unchanged after spinning {@value #SPIN_NANOS} ns (a program with real work). */
    static final class SlowPassthrough implements ActiveProgram {
        static final long SPIN_NANOS = 20_000;

        @Override
        public void process(Datagram in, ProgramContext ctx) {
            long until = System.nanoTime() + SPIN_NANOS;
            while (System.nanoTime() < until) {
                Thread.onSpinWait();
            }
            if (!in.isControl()) {
                ctx.emit(in.flow(), in.data());
            }
        }
    }

    private ArUnit unit(String id) throws Exception {
        ArUnit u = new ArUnit(Configs.of(ArUnit.Config.class, Map.of("unit_id", id, "buffer_capacity_mb", 64L,
            "scheduler", "fifo", "sandbox_runtime", "/nonexistent")));
        Method bind = ArUnit.class.getDeclaredMethod("bindProgram", ComponentServiceObjects.class, Map.class);
        bind.setAccessible(true);
        ActiveProgram program = new SlowPassthrough();
        bind.invoke(u, new ComponentServiceObjects<ActiveProgram>() {
            @Override
            public ActiveProgram getService() {
                return program;
            }

            @Override
            public void ungetService(ActiveProgram service) {
            }

            @Override
            public ServiceReference<ActiveProgram> getServiceReference() {
                return null;
            }
        }, Map.of("name", "slow"));
        closing.add(() -> kill(u));
        return u;
    }

    /** Stops the unit at once: what it holds is dropped (a dead node keeps nothing either). Idempotent. */
    private static void kill(ArUnit u) throws Exception {
        Method m = ArUnit.class.getDeclaredMethod("deactivate");
        m.setAccessible(true);
        try {
            m.invoke(u);
        } catch (java.lang.reflect.InvocationTargetException e) {
            // stopped already
        }
    }

    private DistributionCore core(ArUnit... units) {
        return RetentionTest.router(closing, 1 << 20, units);
    }

    /** The destination: the time each datagram (by its index) first arrived, and how many came again. */
    static final class Receiver implements ArtpHandler, AutoCloseable {
        final AtomicLongArray arrived = new AtomicLongArray(N);
        final AtomicInteger distinct = new AtomicInteger();
        final AtomicInteger duplicates = new AtomicInteger();
        final ArtpEndpoint endpoint = ArtpEndpoint.builder().bind(new InetSocketAddress("127.0.0.1", 0))
            .handler(this).acceptor(SessionAcceptor.ANY).start();

        @Override
        public void datagram(ArtpConnection connection, ByteBuf data, boolean control) {
            int i = (int) data.getLong(data.readerIndex());
            data.release();
            if (arrived.compareAndSet(i, 0, System.nanoTime())) {
                distinct.incrementAndGet();
            } else {
                duplicates.incrementAndGet();
            }
        }

        InetSocketAddress address() {
            return endpoint.localAddress();
        }

        @Override
        public void close() {
            endpoint.close();
        }
    }

    private Receiver receiver() {
        Receiver r = new Receiver();
        closing.add(r);
        return r;
    }

    private static ByteBuf datagram(long index) {
        ByteBuf b = PooledByteBufAllocator.DEFAULT.directBuffer(SIZE);
        b.writeLong(index);
        b.writeZero(SIZE - 8);
        return b;
    }

    /**
     * Streams N datagrams; once {@code killAt} are sent, kills {@code victim} and removes it from the distribution
     * unit (its service went away). Then checks that every datagram arrived exactly once and prints the recovery
     * figures: the distribution unit's time from the failure to the resend, the longest pause in arrivals at the
     * destination after the kill, and when every datagram sent before the kill had arrived.
     */
    private Map<String, Long> streamAndKill(String label, DistributionCore core, SessionInfo info, Receiver d,
            ArUnit victim, int killAt, Runnable afterKill) throws Exception {
        ArtpConnection c = RetentionTest.sender(closing, info);
        long killedAt = 0;
        for (int i = 0; i < N; i++) {
            c.send(datagram(i));
            while (!c.isWritable()) {
                Thread.sleep(1);
            }
            if (i + 1 == killAt) {
                Map<String, Long> before = core.session(info.id()).orElseThrow().counters();
                killedAt = System.nanoTime();
                Thread killer = new Thread(() -> { // the sender goes on meanwhile
                    try {
                        kill(victim);
                    } catch (Exception e) {
                        throw new IllegalStateException(e);
                    }
                    core.removeUnit(victim);
                    afterKill.run();
                }, "killer");
                killer.start();
                System.out.printf("%s: killing unit %s after %d datagrams sent, %d retained at the distribution "
                    + "unit%n", label, victim.id(), killAt, before.get("retained"));
                closing.add(killer::join);
            }
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (d.distinct.get() < N && System.nanoTime() < deadline) {
            Thread.sleep(2);
        }
        Thread.sleep(200); // a late duplicate would show now
        Map<String, Long> counters = core.session(info.id()).orElseThrow().counters();
        int missing = -1;
        long[] after = new long[N];
        int m = 0;
        long allBefore = killedAt;
        for (int i = 0; i < N; i++) {
            long t = d.arrived.get(i);
            if (t == 0) {
                missing = missing < 0 ? i : missing;
            } else if (t > killedAt) {
                after[m++] = t;
                if (i < killAt) {
                    allBefore = Math.max(allBefore, t);
                }
            }
        }
        java.util.Arrays.sort(after, 0, m);
        long gap = m == 0 ? 0 : after[0] - killedAt;
        for (int k = 1; k < m; k++) {
            gap = Math.max(gap, after[k] - after[k - 1]);
        }
        System.out.printf("%s: %d of %d datagrams arrived, %d twice; recovery at the distribution unit %d µs "
            + "(%d given again, %d already delivered, %d duplicate results suppressed); longest pause in arrivals "
            + "after the kill %.1f ms; every datagram sent before the kill had arrived %.1f ms after it (the "
            + "stream's own backlog included)%n  session counters %s%n", label, d.distinct.get(), N,
            d.duplicates.get(), counters.get("recovery_us_max"), counters.get("resent_after_unit_failure"),
            counters.get("recovered_already_delivered"), counters.get("duplicates_suppressed"), gap / 1e6,
            (allBefore - killedAt) / 1e6, counters);
        assertEquals(-1, missing, "datagram " + missing + " was lost");
        assertEquals(0, d.duplicates.get(), "datagrams arrived twice");
        assertEquals(1, counters.get("unit_failures"));
        core.closeSession(info.id());
        return counters;
    }

    @Test
    void aSessionOnTwoUnitsKeepsTheOtherAndLosesNothingWhenOneDies() throws Exception {
        ArUnit u1 = unit("u1");
        ArUnit u2 = unit("u2");
        Receiver d = receiver();
        DistributionCore core = core(u1, u2);
        SessionInfo info = core.createSession(new SessionRequest("spread", "slow", d.address(), 2, Optional.empty(),
            Optional.empty(), Map.of()));
        Map<String, Long> c = streamAndKill("k = 2", core, info, d, u2, N / 3, () -> { });
        assertTrue(c.get("resent_after_unit_failure") > 0, "the dead unit had datagrams queued: " + c);
        assertEquals(0, core.stats().get("retained_bytes"), "everything retained is released at the end");
        assertTrue(core.stats().get("retained_bytes_high_water") > 0);
    }

    @Test
    void aSessionOnOneUnitMovesToAnotherThatRunsItsProgram() throws Exception {
        ArUnit u1 = unit("u1");
        ArUnit u2 = unit("u2");
        Receiver d = receiver();
        DistributionCore core = core(u1, u2);
        SessionInfo info = core.createSession(new SessionRequest("single", "slow", d.address(), 1, Optional.empty(),
            Optional.empty(), Map.of()));
        ArUnit victim = info.units().get(0).equals(u1.id()) ? u1 : u2;
        Map<String, Long> c = streamAndKill("k = 1, re-placed", core, info, d, victim, N / 3, () -> { });
        assertEquals(1, c.get("replacements"), String.valueOf(c));
        assertTrue(c.get("resent_after_unit_failure") > 0, String.valueOf(c));
    }

    @Test
    void aSessionWhoseOnlyUnitDiesWaitsForAUnitThatRunsItsProgramAndLosesNothing() throws Exception {
        ArUnit u1 = unit("u1");
        Receiver d = receiver();
        DistributionCore core = core(u1);
        SessionInfo info = core.createSession(new SessionRequest("alone", "slow", d.address(), 1, Optional.empty(),
            Optional.empty(), Map.of()));
        Map<String, Long> c = streamAndKill("k = 1, no other unit for 300 ms", core, info, d, u1, N / 3, () -> {
            try {
                Thread.sleep(300); // the sender is paused meanwhile: what it was granted is held and counted
                assertTrue(core.session(info.id()).orElseThrow().counters().get("held_now") > 0);
                core.addUnit(unit("u3"));
            } catch (Exception e) {
                fail(e);
            }
        });
        assertTrue(c.get("held_without_unit") > 0, String.valueOf(c));
        assertEquals(1, c.get("replacements"), String.valueOf(c));
        assertEquals(0, c.get("retained_timed_out"), String.valueOf(c));
    }
}
