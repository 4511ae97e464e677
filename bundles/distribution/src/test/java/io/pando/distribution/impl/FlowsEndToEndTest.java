package io.pando.distribution.impl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.pando.aggregation.impl.AggregationUnit;
import io.pando.api.router.Execution;
import io.pando.api.router.SessionInfo;
import io.pando.api.router.SessionRequest;
import io.pando.api.session.Flow;
import io.pando.api.session.FlowId;
import io.pando.api.session.SessionId;
import io.pando.api.unit.UnitId;
import io.pando.api.unit.UnitLoad;
import io.pando.artp.ArtpConfig;
import io.pando.artp.ArtpConnection;
import io.pando.artp.ArtpEndpoint;
import io.pando.artp.ArtpHandler;
import io.pando.artp.ControlBlock;
import io.pando.artp.ErrorCode;
import io.pando.artp.SessionAcceptor;
import io.pando.artp.testing.Configs;
import io.pando.link.AggregationChannel;
import io.pando.link.AggregationPort;
import io.pando.link.SessionEvents;
import io.pando.link.SessionPlan;
import io.pando.link.UnitChannel;
import io.pando.link.UnitPort;
import io.pando.policies.impl.RoundRobinPolicy;
import java.lang.reflect.Method;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A multi-flow session through the real distribution unit, two units and the real aggregation unit, over real
 * ARTP on loopback: a sender tags datagrams with flows 0, 1 and 2 (and 5, which the session lacks); the units
 * echo each datagram on its flow and derive a result of flow 3 from every flow 2 datagram; the results reach
 * four destinations, each getting only its flow, tagged as docs/artp.md 9.3 says.
 */
class FlowsEndToEndTest {

    private final List<AutoCloseable> closing = new ArrayList<>();

    @AfterEach
    void closeEverything() throws Exception {
        for (int i = closing.size() - 1; i >= 0; i--) {
            closing.get(i).close();
        }
    }

    /** A destination: records each datagram with the flow its ARTP type and flow prefix give it. */
    static final class Destination implements ArtpHandler, AutoCloseable {
        record Got(long flow, byte[] data) {
        }

        final ArtpEndpoint endpoint = ArtpEndpoint.builder().bind(new InetSocketAddress("127.0.0.1", 0))
            .handler(this).acceptor(SessionAcceptor.ANY).start();
        final List<Got> got = new java.util.concurrent.CopyOnWriteArrayList<>();
        final CountDownLatch closed = new CountDownLatch(1);
        volatile ErrorCode closeCode;

        @Override
        public void datagram(ArtpConnection connection, ByteBuf datagram, boolean control) {
            long flow = 0;
            if (control) {
                flow = ControlBlock.flowOf(datagram);
                datagram.skipBytes(ControlBlock.FLOW_PREFIX);
            }
            got.add(new Got(flow, ByteBufUtil.getBytes(datagram)));
            datagram.release();
        }

        @Override
        public void closed(ArtpConnection connection, ErrorCode code, String reason) {
            closeCode = code;
            closed.countDown();
        }

        InetSocketAddress address() {
            return endpoint.localAddress();
        }

        @Override
        public void close() {
            endpoint.close();
        }
    }

    /** A unit whose program echoes every datagram on its flow, and derives a flow 3 result from each of flow 2. */
    static class EchoUnit implements UnitPort {
        final UnitId id;
        final Map<Long, Long> inputFlows = new ConcurrentHashMap<>();
        final AtomicLong controls = new AtomicLong();

        EchoUnit(String id) {
            this.id = UnitId.of(id);
        }

        @Override
        public UnitId id() {
            return id;
        }

        @Override
        public String location() {
            return "local";
        }

        @Override
        public UnitLoad load() {
            return new UnitLoad(id, Instant.now(), 0.0, 0, 1 << 20, 0, 0);
        }

        @Override
        public String scheduler() {
            return "fifo";
        }

        @Override
        public Set<String> programs() {
            return Set.of("echo");
        }

        @Override
        public Map<String, Long> counters() {
            return Map.of();
        }

        @Override
        public void selectScheduler(String name) {
        }

        @Override
        public UnitChannel open(SessionPlan plan, AggregationPort aggregation, SessionEvents events) {
            AggregationChannel out = aggregation.attach(plan.id(), id, bytes -> { });
            return new UnitChannel() {
                @Override
                public void deliver(long sequence, long flow, ByteBuf data, boolean control) {
                    if (control) {
                        controls.incrementAndGet();
                        data.release();
                        return;
                    }
                    inputFlows.put(ByteBuffer.wrap(ByteBufUtil.getBytes(data, data.readerIndex(), 8)).getLong(), flow);
                    if (flow == 2) {
                        ByteBuf derived = PooledByteBufAllocator.DEFAULT.directBuffer(data.readableBytes());
                        derived.writeBytes(data, data.readerIndex(), data.readableBytes());
                        out.deliver(sequence, 3, derived);
                    }
                    if (sequence == 0) {
                        out.deliver(sequence, 9, Unpooled.copyLong(-1)); // a flow the plan lacks
                    }
                    out.deliver(sequence, flow, data);
                    out.processed(sequence); // every result of it is at the aggregation unit
                }

                @Override
                public CompletionStage<Void> close() {
                    return CompletableFuture.completedFuture(null);
                }

                @Override
                public Map<String, Long> counters() {
                    return Map.of();
                }
            };
        }
    }

    static ByteBuf payload(long index) {
        ByteBuf b = PooledByteBufAllocator.DEFAULT.directBuffer(64);
        b.writeLong(index);
        for (int i = 8; i < 64; i++) {
            b.writeByte((int) (index * 7 + i));
        }
        return b;
    }

    static void await(BooleanSupplier condition, String what) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                fail("timed out waiting for " + what);
            }
            Thread.sleep(1);
        }
    }

    /** The real aggregation unit on loopback, no strategy (results pass straight through); deactivated on close. */
    static AggregationUnit aggregation(List<AutoCloseable> closing) {
        AggregationUnit aggregation = new AggregationUnit(Configs.of(AggregationUnit.Config.class,
            Map.of("egress_host", "127.0.0.1", "strategy", "direct")));
        closing.add(() -> {
            Method m = AggregationUnit.class.getDeclaredMethod("deactivate");
            m.setAccessible(true);
            m.invoke(aggregation);
        });
        return aggregation;
    }

    private Destination destination() {
        Destination d = new Destination();
        closing.add(d);
        return d;
    }

    @Test
    void twoTaggedFlowsInFourFlowsOutEachAtItsOwnDestination() throws Exception {
        Destination d0 = destination();
        Destination d1 = destination();
        Destination d2 = destination();
        Destination d3 = destination();
        AggregationUnit aggregation = aggregation(closing);
        EchoUnit u1 = new EchoUnit("u1");
        EchoUnit u2 = new EchoUnit("u2");
        DistributionCore core = new DistributionCore(new InetSocketAddress("127.0.0.1", 0), "", RoundRobinPolicy.NAME,
            1 << 20, aggregation, ArtpConfig.defaults());
        closing.add(core::stop);
        core.addPolicy(RoundRobinPolicy.NAME, new RoundRobinPolicy(Configs.of(RoundRobinPolicy.Config.class, Map.of())));
        core.addUnit(u1);
        core.addUnit(u2);
        SessionInfo info = core.createSession(new SessionRequest("flows", "echo", d0.address(), 2, Optional.empty(),
            Optional.empty(), Map.of(), Execution.DEFAULT, List.of(
                new Flow(FlowId.of(1), "one", d1.address()),
                new Flow(FlowId.of(2), "two", d2.address()),
                new Flow(FlowId.of(3), "three", d3.address()))));
        ArtpEndpoint senderEndpoint = ArtpEndpoint.builder().handler((c, d, ctl) -> d.release()).start();
        closing.add(senderEndpoint);
        ArtpConnection sender = senderEndpoint.connect(info.ingress(), info.id().value(), null).toCompletableFuture()
            .get(5, TimeUnit.SECONDS);
        int n = 600;
        for (long i = 0; i < n; i++) {
            long flow = i % 3;
            ByteBuf d = payload(i);
            if (flow == 0) {
                sender.send(d);
            } else {
                ByteBuf tagged = PooledByteBufAllocator.DEFAULT.directBuffer(ControlBlock.FLOW_PREFIX + 64);
                ControlBlock.writeFlowPrefix(tagged, flow);
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
        sender.close().toCompletableFuture().get(10, TimeUnit.SECONDS);

        await(() -> d0.got.size() == n / 3 && d1.got.size() == n / 3 && d2.got.size() == n / 3
            && d3.got.size() == n / 3, "every result at its destination");
        SessionId id = info.id();
        for (EchoUnit u : List.of(u1, u2)) {
            u.inputFlows.forEach((index, flow) -> assertEquals(index % 3, flow, "datagram " + index + " at " + u.id));
        }
        assertEquals(n, u1.inputFlows.size() + u2.inputFlows.size(), "every datagram at a unit, once");
        check(d0, 0, 0, n);
        check(d1, 1, 1, n);
        check(d2, 2, 2, n);
        check(d3, 3, 2, n);

        SessionInfo last = core.closeSession(id);
        Map<String, Long> c = last.counters();
        assertEquals(1, c.get("unknown_flow"), "flow 5 at the ingress: " + c);
        assertEquals(1, c.get("results_unknown_flow"), "flow 9 at the egress: " + c);
        assertEquals(n, c.get("datagrams_in"));
        for (int f = 0; f < 3; f++) {
            assertEquals(n / 3, c.get("flow_" + f + "_datagrams_in"), c.toString());
        }
        for (int f = 0; f < 4; f++) {
            assertEquals(n / 3, c.get("flow_" + f + "_datagrams_out"), c.toString());
        }
        assertEquals(4 * n / 3, c.get("datagrams_out"));
        assertEquals(4, c.get("egress_connections"));
        assertEquals(0, c.get("egress_lost"));
        Map<String, Long> stats = core.stats();
        assertEquals(1, stats.get("unknown_flow"));
        assertEquals(1, stats.get("aggregation_unknown_flow"));
        for (Destination d : List.of(d0, d1, d2, d3)) {
            assertTrue(d.closed.await(5, TimeUnit.SECONDS));
            assertEquals(ErrorCode.NO_ERROR, d.closeCode, "every egress closes in order");
        }
    }

    /** The destination got exactly the results of {@code flow}, made from the datagrams of {@code from}. */
    private static void check(Destination d, long flow, long from, int n) {
        BitSet seen = new BitSet();
        for (Destination.Got g : d.got) {
            assertEquals(flow, g.flow(), "only flow " + flow + " here");
            assertEquals(64, g.data().length);
            long index = ByteBuffer.wrap(g.data()).getLong();
            assertEquals(from, index % 3, "flow " + flow + " results come from flow " + from + " datagrams");
            for (int i = 8; i < 64; i++) {
                assertEquals((byte) (index * 7 + i), g.data()[i], "byte " + i + " of " + index);
            }
            assertTrue(!seen.get((int) index), "result " + index + " twice");
            seen.set((int) index);
        }
        assertEquals(n / 3, seen.cardinality());
        assertTrue(Arrays.asList(0L, 1L, 2L, 3L).contains(flow));
    }
}
