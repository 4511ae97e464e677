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
    private ServiceRegistration<ActiveProgram> program;

    /**
     * Counts the session's datagrams in session state ("count", 8 bytes) and emits the datagram's number (its
     * first 8 bytes) followed by the running count.
     */
    static final class CountingProgram implements ActiveProgram {
        @Override
        public void process(Datagram in, ProgramContext ctx) {
            long n = ctx.state("count").map(b -> ByteBuffer.wrap(b).getLong()).orElse(0L) + 1;
            ctx.putState("count", ByteBuffer.allocate(Long.BYTES).putLong(n).array());
            ByteBuffer d = in.data();
            ctx.emit(in.flow(), ByteBuffer.allocate(16).putLong(d.getLong(d.position())).putLong(n).flip());
        }
    }

    @BeforeEach
    void configureTheRouter() throws Exception {
        Dictionary<String, Object> props = new Hashtable<>();
        props.put("name", PROGRAM);
        program = context.registerService(ActiveProgram.class, new CountingProgram(), props);
        configurations.add(unit("u1"));
        configurations.add(unit("u2"));
        Configuration distribution = configurationAdmin.getConfiguration("io.pando.distribution", "?");
        Dictionary<String, Object> d = new Hashtable<>();
        d.put("ingress.host", "127.0.0.1");
        d.put("ingress.port", 0);
        d.put("session.quota.kb", 256L); // bounds the backlog a slow machine builds up behind the sender
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
        program.unregister();
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

            AtomicReference<Throwable> failed = new AtomicReference<>();
            AtomicBoolean stop = new AtomicBoolean();
            AtomicInteger sent = new AtomicInteger();
            Thread streaming = new Thread(() -> {
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
            }, "test-sender");
            streaming.start();

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
            stop.set(true);
            streaming.join(TIMEOUT_MS);
            assertNull(failed.get(), () -> "sender failed: " + failed.get());
            sender.close().toCompletableFuture().get(30, TimeUnit.SECONDS);
            int total = sent.get();
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
