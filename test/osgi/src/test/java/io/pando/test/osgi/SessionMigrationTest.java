package io.pando.test.osgi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.pando.api.program.ActiveProgram;
import io.pando.api.program.Datagram;
import io.pando.api.program.ProgramContext;
import io.pando.api.router.DrainInfo;
import io.pando.api.router.MigrationInfo;
import io.pando.api.router.RouterService;
import io.pando.api.router.SessionInfo;
import io.pando.api.router.SessionRequest;
import io.pando.api.session.SessionId;
import io.pando.api.unit.UnitId;
import io.pando.artp.ArtpConnection;
import io.pando.artp.ArtpEndpoint;
import io.pando.artp.ArtpHandler;
import io.pando.artp.SessionAcceptor;
import io.pando.link.UnitPort;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.Dictionary;
import java.util.Hashtable;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceRegistration;
import org.osgi.service.cm.Configuration;
import org.osgi.service.cm.ConfigurationAdmin;
import org.osgi.test.common.annotation.InjectBundleContext;
import org.osgi.test.common.annotation.InjectService;
import org.osgi.test.common.service.ServiceAware;
import org.osgi.test.junit5.context.BundleContextExtension;
import org.osgi.test.junit5.service.ServiceExtension;

/**
 * Live migration inside the framework: the router's bundles with two units (u1, u2), and a stateful program that
 * counts its session's datagrams in its session state and stamps the running count into each output. A steady
 * stream flows while the session migrates u1 -> u2, back u2 -> u1, and u1 is drained: every datagram arrives
 * exactly once, and datagram i carries count i + 1, so the count went on across every hand-over without a gap or
 * a repeat (the state moved, and every datagram was processed once, in order).
 */
@ExtendWith(BundleContextExtension.class)
@ExtendWith(ServiceExtension.class)
class SessionMigrationTest {

    /** Generous: the test must hold on a loaded machine, where a datagram may take milliseconds. */
    private static final long TIMEOUT_MS = 90_000;
    private static final String PROGRAM = "state-counter";
    /** The same, keeping the unit busy for {@link #BUSY_NANOS} per datagram: two such streams overload a unit. */
    private static final String BUSY_PROGRAM = "busy-state-counter";
    private static final long BUSY_NANOS = 150_000;
    private static final UnitId U1 = UnitId.of("u1");
    private static final UnitId U2 = UnitId.of("u2");

    @InjectBundleContext
    BundleContext context;

    @InjectService
    ConfigurationAdmin configurationAdmin;

    @InjectService(cardinality = 0, filter = "(ingress.port=0)")
    ServiceAware<RouterService> routers;

    @InjectService(cardinality = 0, filter = "(|(unit.id=u1)(unit.id=u2))")
    ServiceAware<UnitPort> units;

    private final List<Configuration> configurations = new ArrayList<>();
    private final List<ServiceRegistration<ActiveProgram>> programs = new ArrayList<>();

    /**
     * Counts the session's datagrams in session state ("count", 8 bytes) and emits the datagram's number (its
     * first 8 bytes) followed by the running count; before that it keeps the unit busy for {@code busyNanos}.
     */
    static final class CountingProgram implements ActiveProgram {
        private final long busyNanos;

        CountingProgram(long busyNanos) {
            this.busyNanos = busyNanos;
        }

        @Override
        public void process(Datagram in, ProgramContext ctx) {
            long until = System.nanoTime() + busyNanos;
            while (System.nanoTime() - until < 0) {
                Thread.onSpinWait();
            }
            long n = ctx.state("count").map(b -> ByteBuffer.wrap(b).getLong()).orElse(0L) + 1;
            ctx.putState("count", ByteBuffer.allocate(Long.BYTES).putLong(n).array());
            ByteBuffer d = in.data();
            ctx.emit(in.flow(), ByteBuffer.allocate(16).putLong(d.getLong(d.position())).putLong(n).flip());
        }
    }

    @BeforeEach
    void configureTheRouter() throws Exception {
        programs.add(context.registerService(ActiveProgram.class, new CountingProgram(0),
            new Hashtable<>(Map.of("name", PROGRAM))));
        programs.add(context.registerService(ActiveProgram.class, new CountingProgram(BUSY_NANOS),
            new Hashtable<>(Map.of("name", BUSY_PROGRAM))));
        configurations.add(unit("u1"));
        configurations.add(unit("u2"));
        Configuration distribution = configurationAdmin.getConfiguration("io.pando.distribution", "?");
        Dictionary<String, Object> d = new Hashtable<>();
        d.put("ingress.host", "127.0.0.1");
        d.put("ingress.port", 0);
        d.put("session.quota.kb", 256L); // bounds the backlog a slow machine builds up behind the sender
        d.put("balancer.interval.ms", 200L); // a lone session never moves: only the balancer's test has two
        d.put("balancer.sustain", 3);
        d.put("balancer.overload", 0.5); // a unit kept busy by two streams, whatever else the machine runs
        distribution.update(d);
        configurations.add(distribution);
    }

    private Configuration unit(String id) throws Exception {
        Configuration c = configurationAdmin.getFactoryConfiguration("io.pando.unit", id, "?");
        Dictionary<String, Object> d = new Hashtable<>();
        d.put("unit.id", id);
        d.put("buffer.capacity.mb", 64L);
        d.put("link.window.kb", 256L);
        d.put("scheduler", "fifo");
        c.update(d);
        return c;
    }

    @AfterEach
    void cleanUp() throws Exception {
        for (Configuration c : configurations) {
            c.delete();
        }
        await(() -> units.isEmpty(), "the units gone with their configurations");
        programs.forEach(ServiceRegistration::unregister);
    }

    /** A steady stream into a session on its own thread: datagram i carries i in its first 8 bytes. */
    static final class Stream {
        final AtomicReference<Throwable> failed = new AtomicReference<>();
        final AtomicBoolean stop = new AtomicBoolean();
        final AtomicInteger sent = new AtomicInteger();
        private final Thread thread;

        Stream(ArtpConnection sender, String name) {
            thread = new Thread(() -> {
                try {
                    for (int i = 0; !stop.get(); i++) {
                        ByteBuf b = PooledByteBufAllocator.DEFAULT.directBuffer(64);
                        b.writeLong(i).writeZero(56);
                        sender.send(b);
                        sent.set(i + 1);
                        if (i % 5 == 0) {
                            Thread.sleep(1); // a steady stream, up to a few thousand datagrams a second
                        }
                        while (!sender.isWritable()) {
                            Thread.sleep(1);
                        }
                    }
                } catch (Throwable t) {
                    failed.set(t);
                }
            }, name);
            thread.start();
        }

        /** Stops sending; @return how many datagrams were sent */
        int finish() throws InterruptedException {
            stop.set(true);
            thread.join(TIMEOUT_MS);
            assertNull(failed.get(), () -> "sender failed: " + failed.get());
            return sent.get();
        }
    }

    @Test
    void aStatefulSessionMigratesBackAndForthAndOffADrainedUnitLosingNothing() throws Exception {
        RouterService router = routers.waitForService(TIMEOUT_MS);
        assertNotNull(router, "RouterService with the test's configuration");
        await(() -> router.units().size() == 2
            && units.getServices().stream().allMatch(u -> u.programs().contains(PROGRAM)),
            "both units known to the router and running " + PROGRAM);

        StampReceiver receiver = new StampReceiver();
        try (ArtpEndpoint destination = ArtpEndpoint.builder().handler(receiver).acceptor(SessionAcceptor.ANY).start();
             ArtpEndpoint client = ArtpEndpoint.builder().handler((c, d, ctl) -> d.release()).start()) {
            SessionInfo info = router.createSession(new SessionRequest("osgi-migrate", PROGRAM,
                destination.localAddress(), 1, Optional.empty(), Optional.empty(), Map.of()));
            assertEquals(List.of(U1), info.units(), "the first unit when both are idle");
            SessionId id = info.id();
            ArtpConnection sender = client.connect(info.ingress(), id.value(), null).toCompletableFuture()
                .get(10, TimeUnit.SECONDS);

            Stream stream = new Stream(sender, "test-sender");
            AtomicInteger sent = stream.sent;

            List<MigrationInfo> moves = new ArrayList<>();
            await(() -> receiver.distinct.get() > 500, "the stream flowing");
            moves.add(router.migrateSession(id, U1, U2));
            assertEquals(List.of(U2), router.session(id).orElseThrow().units());
            int movedAt = sent.get();
            await(() -> receiver.distinct.get() > movedAt + 500, "the stream flowing on u2");
            moves.add(router.migrateSession(id, U2, U1));
            assertEquals(List.of(U1), router.session(id).orElseThrow().units());

            // refused, with the reason, and nothing changes
            assertThrows(IllegalArgumentException.class, () -> router.migrateSession(id, U2, U1), "u2 does not serve it");
            IllegalArgumentException serving = assertThrows(IllegalArgumentException.class,
                () -> router.migrateSession(id, U1, U1));
            assertTrue(serving.getMessage().contains("both u1"), serving.getMessage());
            assertThrows(NoSuchElementException.class, () -> router.migrateSession(id, U1, UnitId.of("u9")));
            assertThrows(NoSuchElementException.class, () -> router.migrateSession(new SessionId(12345), U1, U2));

            int backAt = sent.get();
            await(() -> receiver.distinct.get() > backAt + 500, "the stream flowing on u1 again");
            DrainInfo drain = router.drainUnit(U1);
            assertEquals(Map.of(), drain.notMigrated());
            assertEquals(1, drain.migrated().size());
            moves.addAll(drain.migrated());
            assertEquals(U2, drain.migrated().get(0).to());
            assertEquals(List.of(U2), router.session(id).orElseThrow().units());
            IllegalArgumentException full = assertThrows(IllegalArgumentException.class,
                () -> router.createSession(new SessionRequest("second", PROGRAM, destination.localAddress(), 2,
                    Optional.empty(), Optional.empty(), Map.of())), "a drained unit takes no new session");
            assertTrue(full.getMessage().contains("drained: [u1]"), full.getMessage());
            IllegalArgumentException drained = assertThrows(IllegalArgumentException.class,
                () -> router.migrateSession(id, U2, U1));
            assertTrue(drained.getMessage().contains("is drained"), drained.getMessage());
            assertEquals(1L, router.units().stream().filter(u -> u.id().equals(U1)).findFirst().orElseThrow()
                .counters().get("drained"));
            assertTrue(router.undrainUnit(U1));

            int drainedAt = sent.get();
            await(() -> receiver.distinct.get() > drainedAt + 500, "the stream flowing on u2 after the drain");
            int total = stream.finish();
            sender.close().toCompletableFuture().get(30, TimeUnit.SECONDS);
            await(() -> receiver.distinct.get() == total, total + " datagrams at the receiver");
            assertEquals(0, receiver.duplicates.get(), "no datagram twice");
            assertEquals(0, receiver.wrongCount.get(), () -> "datagram i carries count i + 1; first wrong: "
                + receiver.firstWrong.get());

            SessionInfo last = router.closeSession(id);
            Map<String, Long> c = last.counters();
            assertEquals(total, c.get("datagrams_in"), c::toString);
            assertEquals(total, c.get("datagrams_out"), c::toString);
            assertEquals(3, c.get("migrations"), c::toString);
            Map<String, Long> stats = router.stats();
            assertEquals(0, stats.get("migrations_failed"), stats::toString);
            assertEquals(0, stats.get("aggregation_egress_lost"), stats::toString);
            long held = 0;
            for (MigrationInfo m : moves) {
                held += m.heldDatagrams();
                assertEquals(8 + "count".length(), m.stateBytes(), m::toString);
                System.out.printf("migration %s -> %s: hand-over %.3f ms, %d datagrams held%n", m.from(), m.to(),
                    m.handover().toNanos() / 1e6, m.heldDatagrams());
            }
            assertEquals(held, c.get("handover_held"), c::toString);
            System.out.printf("%d datagrams, 3 migrations, %d held in all, no loss, counts 1..%d in order%n", total,
                held, total);
        }
    }

    /**
     * The session balancer under load: two streams into sessions of a CPU-heavy stateful program, both on u1, keep
     * u1 busy; the balancer moves one of them to the idle u2 (and only one: each unit then has a lone session, and
     * moving a lone session would only move the overload). Every datagram of both sessions arrives exactly once,
     * with its running count.
     */
    @Test
    void theBalancerMovesOneOfTwoBusySessionsOffAnOverloadedUnitLosingNothing() throws Exception {
        RouterService router = routers.waitForService(TIMEOUT_MS);
        assertNotNull(router, "RouterService with the test's configuration");
        await(() -> router.units().size() == 2
            && units.getServices().stream().allMatch(u -> u.programs().contains(BUSY_PROGRAM)),
            "both units known to the router and running " + BUSY_PROGRAM);

        StampReceiver ra = new StampReceiver();
        StampReceiver rb = new StampReceiver();
        try (ArtpEndpoint da = ArtpEndpoint.builder().handler(ra).acceptor(SessionAcceptor.ANY).start();
             ArtpEndpoint db = ArtpEndpoint.builder().handler(rb).acceptor(SessionAcceptor.ANY).start();
             ArtpEndpoint client = ArtpEndpoint.builder().handler((c, d, ctl) -> d.release()).start()) {
            SessionInfo a = router.createSession(new SessionRequest("busy-a", BUSY_PROGRAM, da.localAddress(), 1,
                Optional.empty(), Optional.empty(), Map.of()));
            SessionInfo b = router.createSession(new SessionRequest("busy-b", BUSY_PROGRAM, db.localAddress(), 1,
                Optional.empty(), Optional.empty(), Map.of()));
            assertEquals(List.of(List.of(U1), List.of(U2)), List.of(a.units(), b.units()));
            router.migrateSession(b.id(), U2, U1); // both on u1; u2 idle
            ArtpConnection sa = client.connect(a.ingress(), a.id().value(), null).toCompletableFuture()
                .get(10, TimeUnit.SECONDS);
            ArtpConnection sb = client.connect(b.ingress(), b.id().value(), null).toCompletableFuture()
                .get(10, TimeUnit.SECONDS);
            long start = System.nanoTime();
            Stream streamA = new Stream(sa, "test-sender-a");
            Stream streamB = new Stream(sb, "test-sender-b");

            await(() -> router.sessions().stream().filter(s -> s.units().contains(U2)).count() == 1,
                "the balancer moving one session to u2");
            long movedMs = (System.nanoTime() - start) / 1_000_000;
            int ma = streamA.sent.get();
            int mb = streamB.sent.get();
            await(() -> ra.distinct.get() > ma + 300 && rb.distinct.get() > mb + 300, "both streams flowing on");
            int totalA = streamA.finish();
            int totalB = streamB.finish();
            // each closes once the router has taken every datagram: the busy program works off the backlog first
            sa.close().toCompletableFuture().get(TIMEOUT_MS, TimeUnit.MILLISECONDS);
            sb.close().toCompletableFuture().get(TIMEOUT_MS, TimeUnit.MILLISECONDS);
            await(() -> ra.distinct.get() == totalA && rb.distinct.get() == totalB,
                totalA + " + " + totalB + " datagrams at the receivers");
            for (StampReceiver r : List.of(ra, rb)) {
                assertEquals(0, r.duplicates.get(), "no datagram twice");
                assertEquals(0, r.wrongCount.get(), () -> "datagram i carries count i + 1; first wrong: "
                    + r.firstWrong.get());
            }
            Map<String, Long> stats = router.stats();
            assertEquals(1, stats.get("balancer_moves"), stats::toString);
            assertEquals(2, stats.get("migrations"), "the test's own and the balancer's: " + stats);
            assertEquals(0, stats.get("migrations_failed"), stats::toString);
            SessionInfo ca = router.closeSession(a.id());
            SessionInfo cb = router.closeSession(b.id());
            assertEquals(totalA, ca.counters().get("datagrams_out"), ca.counters()::toString);
            assertEquals(totalB, cb.counters().get("datagrams_out"), cb.counters()::toString);
            System.out.printf("balancer: one of two busy sessions on u1 moved to u2 %d ms after the streams began "
                + "(rounds of 200 ms, 3 in a row at load 0.5 or more); %d + %d datagrams, none lost, counts in order%n",
                movedMs, totalA, totalB);
        }
    }

    static void await(BooleanSupplier condition, String what) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(TIMEOUT_MS);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                fail("timed out waiting for " + what);
            }
            Thread.sleep(2);
        }
    }

    /** The destination: datagram i must carry count i + 1, once. */
    static final class StampReceiver implements ArtpHandler {
        final BitSet seen = new BitSet();
        final AtomicInteger distinct = new AtomicInteger();
        final AtomicInteger duplicates = new AtomicInteger();
        final AtomicInteger wrongCount = new AtomicInteger();
        final AtomicReference<String> firstWrong = new AtomicReference<>();

        @Override
        public void datagram(ArtpConnection c, ByteBuf d, boolean control) {
            try {
                long seq = d.getLong(d.readerIndex());
                long count = d.getLong(d.readerIndex() + 8);
                if (count != seq + 1) {
                    wrongCount.incrementAndGet();
                    firstWrong.compareAndSet(null, "datagram " + seq + " has count " + count);
                }
                synchronized (seen) {
                    if (seen.get((int) seq)) {
                        duplicates.incrementAndGet();
                        return;
                    }
                    seen.set((int) seq);
                }
                distinct.incrementAndGet();
            } finally {
                d.release();
            }
        }
    }
}
