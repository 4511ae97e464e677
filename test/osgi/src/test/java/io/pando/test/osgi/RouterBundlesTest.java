package io.pando.test.osgi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.pando.api.policy.AggregationStrategy;
import io.pando.api.policy.LoadBalancingPolicy;
import io.pando.api.policy.PacketScheduler;
import io.pando.api.router.Execution;
import io.pando.api.router.PolicyRole;
import io.pando.api.router.RouterService;
import io.pando.api.router.SessionInfo;
import io.pando.api.router.SessionRequest;
import io.pando.api.session.Flow;
import io.pando.api.session.FlowId;
import io.pando.api.unit.UnitId;
import io.pando.artp.ArtpConnection;
import io.pando.artp.ArtpEndpoint;
import io.pando.artp.ArtpHandler;
import io.pando.artp.ControlBlock;
import io.pando.artp.SessionAcceptor;
import io.pando.link.UnitPort;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.Dictionary;
import java.util.Hashtable;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BooleanSupplier;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.service.cm.Configuration;
import org.osgi.service.cm.ConfigurationAdmin;
import org.osgi.test.common.annotation.InjectBundleContext;
import org.osgi.test.common.annotation.InjectService;
import org.osgi.test.common.service.ServiceAware;
import org.osgi.test.junit5.context.BundleContextExtension;
import org.osgi.test.junit5.service.ServiceExtension;

/**
 * The router's bundles wired by DS inside the framework: two units (factory configurations of
 * {@code io.pando.unit}), the aggregation unit and the distribution unit configured through Configuration Admin.
 * A stream goes sender -> ingress -> two units -> aggregation -> receiver, then the policies bundle is stopped
 * and started and every role's policy is switched while the stream flows: nothing is lost, duplicated or
 * corrupted, and no buffer leaks.
 */
@ExtendWith(BundleContextExtension.class)
@ExtendWith(ServiceExtension.class)
class RouterBundlesTest {

    private static final int N = 20_000;
    private static final long TIMEOUT_MS = 20_000;

    private static final List<String> LEAKS = new CopyOnWriteArrayList<>();
    private static final Handler LEAK_LISTENER = new Handler() {
        @Override
        public void publish(LogRecord r) {
            if (r.getMessage() != null && r.getMessage().contains("LEAK")) {
                LEAKS.add(r.getMessage());
            }
        }

        @Override
        public void flush() {
        }

        @Override
        public void close() {
        }
    };

    @InjectBundleContext
    BundleContext context;

    @InjectService
    ConfigurationAdmin configurationAdmin;

    @InjectService(cardinality = 0, filter = "(ingress.port=0)")
    ServiceAware<RouterService> routers;

    @InjectService(cardinality = 0, filter = "(|(unit.id=u1)(unit.id=u2))")
    ServiceAware<UnitPort> units;

    @InjectService(cardinality = 0, filter = "(name=*)")
    ServiceAware<LoadBalancingPolicy> balancers;

    @InjectService(cardinality = 0, filter = "(name=*)")
    ServiceAware<PacketScheduler> schedulers;

    @InjectService(cardinality = 0, filter = "(name=*)")
    ServiceAware<AggregationStrategy> strategies;

    private final List<Configuration> configurations = new ArrayList<>();

    @BeforeAll
    static void listenForLeaks() {
        java.util.logging.Logger.getLogger(io.netty.util.ResourceLeakDetector.class.getName()).addHandler(LEAK_LISTENER);
    }

    @BeforeEach
    void configureTheRouter() throws Exception {
        configurations.add(unit("u1"));
        configurations.add(unit("u2"));
        Configuration distribution = configurationAdmin.getConfiguration("io.pando.distribution", "?");
        Dictionary<String, Object> d = new Hashtable<>();
        d.put("ingress.host", "127.0.0.1");
        d.put("ingress.port", 0);
        d.put("session.quota.kb", 8192L);
        distribution.update(d);
        configurations.add(distribution);
    }

    private Configuration unit(String id) throws Exception {
        Configuration c = configurationAdmin.getFactoryConfiguration("io.pando.unit", id, "?");
        Dictionary<String, Object> d = new Hashtable<>();
        d.put("unit.id", id);
        d.put("buffer.capacity.mb", 64L);
        d.put("link.window.kb", 1024L);
        d.put("scheduler", "fifo");
        c.update(d);
        return c;
    }

    @AfterEach
    void cleanUp() throws Exception {
        Bundle policies = bundle("io.pando.policies");
        if (policies.getState() != Bundle.ACTIVE) {
            policies.start();
        }
        for (Configuration c : configurations) {
            c.delete();
        }
        await(() -> units.isEmpty(), "the units gone with their configurations");
        for (int round = 0; round < 3; round++) { // leaks are reported by later allocations after a GC
            System.gc();
            Thread.sleep(20);
            for (int i = 0; i < 64; i++) {
                PooledByteBufAllocator.DEFAULT.directBuffer(16).release();
            }
        }
        List<String> found = new ArrayList<>(LEAKS);
        LEAKS.clear();
        assertTrue(found.isEmpty(), () -> found.size() + " ByteBuf leak(s): " + found.get(0));
    }

    // ---- the test

    @Test
    void aStreamCrossesTwoUnitsIntactAndSurvivesAPolicyBundleRestartAndLiveSwitches() throws Exception {
        RouterService router = routers.waitForService(TIMEOUT_MS);
        assertNotNull(router, "RouterService with the test's configuration");
        await(() -> units.size() == 2, "two units");
        await(() -> router.units().size() == 2
            && units.getServices().stream().allMatch(u -> u.programs().contains("passthrough")),
            "both units known to the router and running passthrough");
        await(() -> balancers.size() == 4 && schedulers.size() == 2 && strategies.size() == 2, "the policies");
        await(() -> "reorder-window".equals(router.selectedPolicies().get(PolicyRole.AGGREGATION))
            && "fifo".equals(router.selectedPolicies().get(PolicyRole.SCHEDULER)), "the configured policies in use");

        Receiver receiver = new Receiver();
        try (ArtpEndpoint destination = ArtpEndpoint.builder().handler(receiver).acceptor(SessionAcceptor.ANY).start();
             ArtpEndpoint client = ArtpEndpoint.builder().handler((c, d, ctl) -> d.release()).start()) {
            SessionInfo info = router.createSession(new SessionRequest("osgi-pass", "passthrough",
                destination.localAddress(), 2, Optional.empty(), Optional.empty(), Map.of()));
            assertEquals(List.of(UnitId.of("u1"), UnitId.of("u2")), info.units());
            assertTrue(info.ingress().getPort() != 0);
            ArtpConnection sender = client.connect(info.ingress(), info.id().value(), null).toCompletableFuture()
                .get(10, TimeUnit.SECONDS);

            send(sender, 0, N, false);
            await(() -> receiver.distinct.get() == N, N + " datagrams at the receiver");

            // hot swap inside the framework while the second half flows
            // the second stream runs until the switches are over and at least N more datagrams went
            AtomicReference<Throwable> failed = new AtomicReference<>();
            AtomicBoolean switched = new AtomicBoolean();
            AtomicInteger sent = new AtomicInteger(N);
            Thread streaming = new Thread(() -> {
                try {
                    for (int i = N; !switched.get() || i < 2 * N; i++) {
                        send(sender, i, i + 1, true);
                        sent.set(i + 1);
                    }
                } catch (Throwable t) {
                    failed.set(t);
                }
            }, "test-sender");
            streaming.start();
            Bundle policies = bundle("io.pando.policies");
            policies.stop();
            await(() -> balancers.isEmpty() && schedulers.isEmpty() && strategies.isEmpty(), "every policy gone");
            await(() -> "direct".equals(router.selectedPolicies().get(PolicyRole.AGGREGATION))
                && "arrival-order".equals(router.selectedPolicies().get(PolicyRole.SCHEDULER)), "the fallbacks");
            Thread.sleep(100); // traffic on the fallbacks
            policies.start();
            await(() -> balancers.size() == 4 && schedulers.size() == 2 && strategies.size() == 2, "policies back");
            select(router, PolicyRole.LOAD_BALANCING, "round-robin");
            select(router, PolicyRole.SCHEDULER, "drr");
            select(router, PolicyRole.AGGREGATION, "pass-through");
            Thread.sleep(50);
            select(router, PolicyRole.AGGREGATION, "reorder-window");
            select(router, PolicyRole.SCHEDULER, "fifo");
            switched.set(true);
            streaming.join(TIMEOUT_MS);
            assertNull(failed.get(), () -> "sender failed: " + failed.get());
            sender.close().toCompletableFuture().get(30, TimeUnit.SECONDS);
            int total = sent.get();
            assertTrue(total >= 2 * N, "sent " + total);
            await(() -> receiver.distinct.get() == total, total + " datagrams at the receiver");
            assertEquals(0, receiver.duplicates.get(), "no datagram twice");
            assertEquals(0, receiver.corrupt.get(), "every datagram intact");
            assertEquals(Map.of(PolicyRole.LOAD_BALANCING, "round-robin", PolicyRole.SCHEDULER, "fifo",
                PolicyRole.AGGREGATION, "reorder-window"), router.selectedPolicies());

            SessionInfo last = router.closeSession(info.id());
            assertEquals(total, last.counters().get("datagrams_in"), last::toString);
            assertEquals(total, last.counters().get("datagrams_out"), last::toString);
            long processed = 0;
            for (Map<String, Long> u : last.unitCounters().values()) {
                processed += u.get("datagrams_out");
                assertEquals(0, u.get("program_errors"));
                assertEquals(0, u.get("lost_unit_stopped"));
                assertTrue(u.get("datagrams_in") > N / 2, "both units took part: " + last.unitCounters());
            }
            assertEquals(total, processed);
            assertTrue(router.sessions().isEmpty());
            Map<String, Long> stats = router.stats();
            assertEquals(0, stats.get("aggregation_egress_lost"), stats::toString);
            assertEquals(0, stats.get("aggregation_held"), stats::toString);
        }
    }

    @Test
    void aTwoFlowSessionSendsEachFlowToItsOwnDestination() throws Exception {
        RouterService router = routers.waitForService(TIMEOUT_MS);
        assertNotNull(router, "RouterService with the test's configuration");
        await(() -> router.units().size() == 2
            && units.getServices().stream().allMatch(u -> u.programs().contains("passthrough")),
            "both units known to the router and running passthrough");
        FlowReceiver main = new FlowReceiver(0);
        FlowReceiver side = new FlowReceiver(1);
        try (ArtpEndpoint d0 = ArtpEndpoint.builder().handler(main).acceptor(SessionAcceptor.ANY).start();
             ArtpEndpoint d1 = ArtpEndpoint.builder().handler(side).acceptor(SessionAcceptor.ANY).start();
             ArtpEndpoint client = ArtpEndpoint.builder().handler((c, d, ctl) -> d.release()).start()) {
            SessionInfo info = router.createSession(new SessionRequest("osgi-flows", "passthrough",
                d0.localAddress(), 2, Optional.empty(), Optional.empty(), Map.of(), Execution.DEFAULT,
                List.of(new Flow(FlowId.of(1), "side", d1.localAddress()))));
            ArtpConnection sender = client.connect(info.ingress(), info.id().value(), null).toCompletableFuture()
                .get(10, TimeUnit.SECONDS);
            int n = 2_000;
            for (int i = 0; i < n; i++) {
                if (i % 2 == 0) {
                    sender.send(datagram(i));
                } else { // flow 1: a flow datagram (docs/artp.md 9.3)
                    ByteBuf d = datagram(i);
                    ByteBuf tagged = PooledByteBufAllocator.DEFAULT.directBuffer(ControlBlock.FLOW_PREFIX
                        + d.readableBytes());
                    ControlBlock.writeFlowPrefix(tagged, 1);
                    tagged.writeBytes(d);
                    d.release();
                    sender.sendControl(tagged);
                }
                while (!sender.isWritable()) {
                    Thread.sleep(1);
                }
            }
            ByteBuf unknown = PooledByteBufAllocator.DEFAULT.directBuffer();
            ControlBlock.writeFlowPrefix(unknown, 5);
            unknown.writeLong(n);
            sender.sendControl(unknown);
            sender.close().toCompletableFuture().get(30, TimeUnit.SECONDS);
            await(() -> main.distinct.get() == n / 2 && side.distinct.get() == n / 2, "each flow at its destination");
            for (FlowReceiver r : List.of(main, side)) {
                assertEquals(0, r.duplicates.get() + r.corrupt.get() + r.wrongFlow.get(),
                    "flow " + r.flow + ": no duplicate, corrupt or misdirected datagram");
            }
            SessionInfo last = router.closeSession(info.id());
            Map<String, Long> c = last.counters();
            assertEquals(1, c.get("unknown_flow"), c::toString);
            assertEquals(n / 2, c.get("flow_0_datagrams_in"), c::toString);
            assertEquals(n / 2, c.get("flow_1_datagrams_in"), c::toString);
            assertEquals(n / 2, c.get("flow_0_datagrams_out"), c::toString);
            assertEquals(n / 2, c.get("flow_1_datagrams_out"), c::toString);
            assertEquals(2, c.get("egress_connections"), c::toString);
        }
    }

    /** Selects a policy; DS may bind the service to the router's components a moment after it registers. */
    private static void select(RouterService router, PolicyRole role, String name) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(TIMEOUT_MS);
        while (true) {
            try {
                router.selectPolicy(role, name);
                return;
            } catch (IllegalArgumentException e) {
                if (System.nanoTime() > deadline) {
                    throw e;
                }
                Thread.sleep(5);
            }
        }
    }

    private Bundle bundle(String symbolicName) {
        for (Bundle b : context.getBundles()) {
            if (symbolicName.equals(b.getSymbolicName())) {
                return b;
            }
        }
        throw new AssertionError("no bundle " + symbolicName);
    }

    // ---- datagrams: number, CRC32C of the rest, pattern

    static int sizeOf(int i) {
        return i % 500 == 0 ? 20_000 : 12 + (i * 37) % 1200;
    }

    static ByteBuf datagram(int seq) {
        int size = sizeOf(seq);
        ByteBuf b = PooledByteBufAllocator.DEFAULT.directBuffer(size);
        b.writeLong(seq).writeInt(0);
        CRC32C crc = new CRC32C();
        for (int i = 12; i < size; i++) {
            b.writeByte(seq + i);
        }
        crc.update(b.nioBuffer(12, size - 12));
        b.setInt(8, (int) crc.getValue());
        return b;
    }

    static void send(ArtpConnection c, int from, int to, boolean paced) throws InterruptedException {
        for (int i = from; i < to; i++) {
            c.send(datagram(i));
            if (paced && i % 100 == 0) {
                Thread.sleep(1); // a steady stream while the policies come and go
            }
            while (!c.isWritable()) {
                Thread.sleep(1);
            }
        }
    }

    /** The session's destination: counts distinct, duplicate and corrupt datagrams. */
    static final class Receiver implements ArtpHandler {
        final BitSet seen = new BitSet();
        final AtomicInteger distinct = new AtomicInteger();
        final AtomicInteger duplicates = new AtomicInteger();
        final AtomicInteger corrupt = new AtomicInteger();

        @Override
        public void datagram(ArtpConnection c, ByteBuf d, boolean control) {
            try {
                int seq = (int) d.getLong(d.readerIndex());
                if (d.readableBytes() != sizeOf(seq)) {
                    corrupt.incrementAndGet();
                    return;
                }
                CRC32C crc = new CRC32C();
                crc.update(d.nioBuffer(d.readerIndex() + 12, d.readableBytes() - 12));
                if ((int) crc.getValue() != d.getInt(d.readerIndex() + 8)) {
                    corrupt.incrementAndGet();
                    return;
                }
                synchronized (seen) {
                    if (seen.get(seq)) {
                        duplicates.incrementAndGet();
                        return;
                    }
                    seen.set(seq);
                }
                distinct.incrementAndGet();
            } finally {
                d.release();
            }
        }
    }

    /**
     * A destination of one flow: DATA is flow 0, a flow datagram is its FLOW's flow; anything of another flow is
     * counted as misdirected, the rest checked like {@link Receiver} does.
     */
    static final class FlowReceiver implements ArtpHandler {
        final long flow;
        final Receiver checks = new Receiver();
        final AtomicInteger distinct = checks.distinct;
        final AtomicInteger duplicates = checks.duplicates;
        final AtomicInteger corrupt = checks.corrupt;
        final AtomicInteger wrongFlow = new AtomicInteger();

        FlowReceiver(long flow) {
            this.flow = flow;
        }

        @Override
        public void datagram(ArtpConnection c, ByteBuf d, boolean control) {
            long f = 0;
            if (control) {
                f = ControlBlock.flowOf(d);
                d.skipBytes(Math.min(ControlBlock.FLOW_PREFIX, d.readableBytes()));
            }
            if (f != flow || (int) d.getLong(d.readerIndex()) % 2 != flow) {
                wrongFlow.incrementAndGet();
                d.release();
                return;
            }
            checks.datagram(c, d, false);
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
}
