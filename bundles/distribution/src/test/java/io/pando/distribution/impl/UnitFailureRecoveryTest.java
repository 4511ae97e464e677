package io.pando.distribution.impl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.pando.aggregation.impl.AggregationUnit;
import io.pando.api.program.ActiveProgram;
import io.pando.api.program.Datagram;
import io.pando.api.program.ProgramContext;
import io.pando.api.router.SessionInfo;
import io.pando.api.router.SessionRequest;
import io.pando.artp.ArtpConfig;
import io.pando.artp.ArtpConnection;
import io.pando.artp.ArtpEndpoint;
import io.pando.artp.testing.Configs;
import io.pando.distribution.impl.FlowsEndToEndTest.Destination;
import io.pando.policies.impl.RoundRobinPolicy;
import io.pando.unit.impl.ArUnit;
import java.lang.reflect.Method;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
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

    private AggregationUnit aggregation() {
        AggregationUnit a = new AggregationUnit(Configs.of(AggregationUnit.Config.class,
            Map.of("egress_host", "127.0.0.1", "strategy", "direct")));
        closing.add(() -> {
            Method m = AggregationUnit.class.getDeclaredMethod("deactivate");
            m.setAccessible(true);
            m.invoke(a);
        });
        return a;
    }

    private DistributionCore core(AggregationUnit aggregation, ArUnit... units) {
        DistributionCore core = new DistributionCore(new InetSocketAddress("127.0.0.1", 0), "", RoundRobinPolicy.NAME,
            1 << 20, aggregation, ArtpConfig.defaults());
        closing.add(core::stop);
        core.addPolicy(RoundRobinPolicy.NAME, new RoundRobinPolicy(Configs.of(RoundRobinPolicy.Config.class, Map.of())));
        for (ArUnit u : units) {
            core.addUnit(u);
        }
        return core;
    }

    private Destination destination() {
        Destination d = new Destination();
        closing.add(d);
        return d;
    }

    private ArtpConnection sender(SessionInfo info) throws Exception {
        ArtpEndpoint e = ArtpEndpoint.builder().handler((c, d, ctl) -> d.release()).start();
        closing.add(e);
        return e.connect(info.ingress(), info.id().value(), null).toCompletableFuture().get(5, TimeUnit.SECONDS);
    }

    private static ByteBuf datagram(long index) {
        ByteBuf b = PooledByteBufAllocator.DEFAULT.directBuffer(SIZE);
        b.writeLong(index);
        b.writeZero(SIZE - 8);
        return b;
    }

    /** Counts each index the destination got; runs alongside the stream. */
    private static final class Tally {
        final AtomicLongArray seen = new AtomicLongArray(N);
        final AtomicInteger distinct = new AtomicInteger();
        final AtomicInteger duplicates = new AtomicInteger();
        int read;

        void update(Destination d) {
            List<Destination.Got> got = d.got;
            for (; read < got.size(); read++) {
                long i = ByteBuffer.wrap(got.get(read).data()).getLong();
                if (seen.incrementAndGet((int) i) == 1) {
                    distinct.incrementAndGet();
                } else {
                    duplicates.incrementAndGet();
                }
            }
        }

        boolean allBelow(int n) {
            for (int i = 0; i < n; i++) {
                if (seen.get(i) == 0) {
                    return false;
                }
            }
            return true;
        }
    }

    /**
     * Streams N datagrams; once {@code killAt} are sent, kills {@code victim} and removes it from the distribution
     * unit (its service went away). Then checks that every datagram arrived exactly once and prints the recovery
     * time: from the kill until every datagram sent before it had arrived.
     */
    private Map<String, Long> streamAndKill(String label, DistributionCore core, SessionInfo info, Destination d,
            ArUnit victim, int killAt, Runnable afterKill) throws Exception {
        ArtpConnection c = sender(info);
        Tally tally = new Tally();
        long killedAt = 0;
        long recoveredAt = 0;
        for (int i = 0; i < N; i++) {
            c.send(datagram(i));
            while (!c.isWritable()) {
                Thread.sleep(1);
            }
            if (i + 1 == killAt) {
                Map<String, Long> before = core.session(info.id()).orElseThrow().counters();
                killedAt = System.nanoTime();
                kill(victim);
                core.removeUnit(victim);
                System.out.printf("%s: killed unit %s after %d datagrams sent, %d retained at the distribution "
                    + "unit%n", label, victim.id(), killAt, before.get("retained"));
                afterKill.run();
            }
            if (killedAt != 0 && recoveredAt == 0 && (i & 255) == 0) {
                tally.update(d);
                if (tally.allBelow(killAt)) {
                    recoveredAt = System.nanoTime();
                }
            }
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (tally.distinct.get() < N && System.nanoTime() < deadline) {
            Thread.sleep(2);
            tally.update(d);
            if (recoveredAt == 0 && tally.allBelow(killAt)) {
                recoveredAt = System.nanoTime();
            }
        }
        Thread.sleep(200); // a late duplicate would show now
        tally.update(d);
        Map<String, Long> counters = core.session(info.id()).orElseThrow().counters();
        System.out.printf("%s: %d of %d datagrams arrived, %d twice; every datagram sent before the kill arrived "
            + "%.1f ms after it; session counters %s%n", label, tally.distinct.get(), N, tally.duplicates.get(),
            recoveredAt == 0 ? Double.NaN : (recoveredAt - killedAt) / 1e6, counters);
        int missing = -1;
        for (int i = 0; i < N && missing < 0; i++) {
            if (tally.seen.get(i) == 0) {
                missing = i;
            }
        }
        assertEquals(-1, missing, "datagram " + missing + " was lost");
        assertEquals(0, tally.duplicates.get(), "datagrams arrived twice");
        assertEquals(N, d.got.size());
        assertEquals(1, counters.get("unit_failures"));
        core.closeSession(info.id());
        return counters;
    }

    @Test
    void aSessionOnTwoUnitsKeepsTheOtherAndLosesNothingWhenOneDies() throws Exception {
        ArUnit u1 = unit("u1");
        ArUnit u2 = unit("u2");
        Destination d = destination();
        DistributionCore core = core(aggregation(), u1, u2);
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
        Destination d = destination();
        DistributionCore core = core(aggregation(), u1, u2);
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
        Destination d = destination();
        DistributionCore core = core(aggregation(), u1);
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
