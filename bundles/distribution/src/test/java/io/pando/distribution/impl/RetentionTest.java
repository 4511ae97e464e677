package io.pando.distribution.impl;

import static io.pando.distribution.impl.FlowsEndToEndTest.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.pando.aggregation.impl.AggregationUnit;
import io.pando.api.router.SessionInfo;
import io.pando.api.router.SessionRequest;
import io.pando.artp.ArtpConfig;
import io.pando.artp.ArtpConnection;
import io.pando.artp.ArtpEndpoint;
import io.pando.artp.testing.Configs;
import io.pando.distribution.impl.FlowsEndToEndTest.Destination;
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
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The retention's bookkeeping at the edges a real unit rarely shows on cue: a unit that dies in the middle of
 * handing a datagram's results on, after datagrams whose results all left but were not acknowledged yet; and a unit
 * that acknowledges nothing. Real distribution unit, ARTP sender, aggregation unit and destination; the units are
 * scripted so that the moment of death is exact.
 */
class RetentionTest {

    private static final int N = 200;

    private final List<AutoCloseable> closing = new ArrayList<>();

    @AfterEach
    void closeEverything() throws Exception {
        for (int i = closing.size() - 1; i >= 0; i--) {
            closing.get(i).close();
        }
    }

    /**
     * Hands two results (index, part 0 and 1) for each datagram and acknowledges every {@code ackEvery}-th; with
     * {@code dieAt} >= 0, dies on its {@code dieAt}-th datagram after handing only its first result: from then on it
     * drops everything, as a dead unit would.
     */
    static final class ScriptedUnit extends FlowsEndToEndTest.EchoUnit {
        final int ackEvery;
        final int dieAt;
        volatile boolean dead;
        volatile int got;
        /** Once dead, its channel throws on deliver (a remote unit whose data connection ended) instead of dropping. */
        volatile boolean throwsWhenDead;

        ScriptedUnit(String id, int ackEvery, int dieAt) {
            super(id);
            this.ackEvery = ackEvery;
            this.dieAt = dieAt;
        }

        @Override
        public Set<String> programs() {
            return Set.of("two");
        }

        @Override
        public UnitChannel open(SessionPlan plan, AggregationPort aggregation, SessionEvents events) {
            AggregationChannel out = aggregation.attach(plan.id(), id, bytes -> { });
            return new UnitChannel() {
                @Override
                public void deliver(long sequence, long flow, ByteBuf data, boolean control) {
                    if (dead || control) {
                        data.release();
                        if (dead && throwsWhenDead) {
                            throw new IllegalStateException("the data connection to unit " + id + " is gone");
                        }
                        return;
                    }
                    long index = data.getLong(data.readerIndex());
                    data.release();
                    int n = ++got;
                    out.deliver(sequence, flow, result(index, 0));
                    if (n == dieAt) {
                        dead = true;
                        return;
                    }
                    out.deliver(sequence, flow, result(index, 1));
                    if (n % ackEvery == 0) {
                        out.processed(sequence);
                    }
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

        private static ByteBuf result(long index, int part) {
            ByteBuf b = PooledByteBufAllocator.DEFAULT.directBuffer(9);
            b.writeLong(index);
            b.writeByte(part);
            return b;
        }
    }

    private DistributionCore core(long quota, UnitPort... units) {
        return router(closing, quota, units);
    }

    /** A distribution unit (round robin, {@code quota} per session) with a real aggregation unit, and its units. */
    static DistributionCore router(List<AutoCloseable> closing, long quota, UnitPort... units) {
        AggregationUnit aggregation = new AggregationUnit(Configs.of(AggregationUnit.Config.class,
            Map.of("egress_host", "127.0.0.1", "strategy", "direct")));
        closing.add(() -> {
            Method m = AggregationUnit.class.getDeclaredMethod("deactivate");
            m.setAccessible(true);
            m.invoke(aggregation);
        });
        DistributionCore core = new DistributionCore(new InetSocketAddress("127.0.0.1", 0), "", RoundRobinPolicy.NAME,
            quota, aggregation, ArtpConfig.defaults());
        closing.add(core::stop);
        core.addPolicy(RoundRobinPolicy.NAME, new RoundRobinPolicy(Configs.of(RoundRobinPolicy.Config.class, Map.of())));
        for (UnitPort u : units) {
            core.addUnit(u);
        }
        return core;
    }

    private ArtpConnection sender(SessionInfo info) throws Exception {
        return sender(closing, info);
    }

    /** A sender connected to the session. */
    static ArtpConnection sender(List<AutoCloseable> closing, SessionInfo info) throws Exception {
        ArtpEndpoint e = ArtpEndpoint.builder().handler((c, d, ctl) -> d.release()).start();
        closing.add(e);
        return e.connect(info.ingress(), info.id().value(), null).toCompletableFuture().get(5, TimeUnit.SECONDS);
    }

    private static ByteBuf datagram(long index, int size) {
        ByteBuf b = PooledByteBufAllocator.DEFAULT.directBuffer(size);
        b.writeLong(index);
        b.writeZero(size - 8);
        return b;
    }

    /** Both results of each of the N datagrams reached the destination, once each. */
    private static void assertEachResultOnce(Destination d) throws InterruptedException {
        Thread.sleep(100);
        Map<ByteBuffer, Integer> seen = new HashMap<>();
        for (Destination.Got g : d.got) {
            seen.merge(ByteBuffer.wrap(g.data()), 1, Integer::sum);
        }
        for (int i = 0; i < N; i++) {
            for (int part = 0; part < 2; part++) {
                ByteBuffer k = ByteBuffer.allocate(9).putLong(i).put((byte) part).flip();
                assertEquals(1, seen.getOrDefault(k, 0), "result " + part + " of datagram " + i);
            }
        }
        assertEquals(2 * N, d.got.size());
    }

    @Test
    void aUnitThatDiesHalfwayThroughADatagramsResultsLeavesEachResultExactlyOnce() throws Exception {
        ScriptedUnit a = new ScriptedUnit("a", 10, 25);
        ScriptedUnit b = new ScriptedUnit("b", 1, -1);
        Destination d = new Destination();
        closing.add(d);
        DistributionCore core = core(1 << 20, a, b);
        SessionInfo info = core.createSession(new SessionRequest("half", "two", d.address(), 2, Optional.empty(),
            Optional.empty(), Map.of()));
        ArtpConnection c = sender(info);
        for (int i = 0; i < N; i++) {
            c.send(datagram(i, 64));
        }
        await(() -> a.dead, "unit a to die");
        core.removeUnit(a); // its service goes away, as when its node is lost
        await(() -> d.got.size() >= 2 * N, "every result at the destination");
        assertEachResultOnce(d);
        Map<String, Long> s = core.session(info.id()).orElseThrow().counters();
        assertEquals(1, s.get("duplicates_suppressed"), String.valueOf(s));
        assertEquals(4, s.get("recovered_already_delivered"), "a's datagrams 21-24 were done, not acknowledged: " + s);
        assertTrue(s.get("resent_after_unit_failure") >= 1, String.valueOf(s));
        assertEquals(1, s.get("unit_failures"));
        assertEquals(List.of(b.id), core.session(info.id()).orElseThrow().units());
    }

    @Test
    void aUnitWhoseChannelThrowsIsDeclaredDeadWhileItsServiceStaysAndLosesNothing() throws Exception {
        ScriptedUnit a = new ScriptedUnit("a", 7, 40);
        a.throwsWhenDead = true;
        ScriptedUnit b = new ScriptedUnit("b", 3, -1);
        Destination d = new Destination();
        closing.add(d);
        DistributionCore core = core(1 << 20, a, b);
        SessionInfo info = core.createSession(new SessionRequest("throws", "two", d.address(), 2, Optional.empty(),
            Optional.empty(), Map.of()));
        ArtpConnection c = sender(info);
        for (int i = 0; i < N; i++) {
            c.send(datagram(i, 64));
        }
        await(() -> d.got.size() >= 2 * N, "every result at the destination, without a's service going away");
        assertEachResultOnce(d);
        Map<String, Long> s = core.session(info.id()).orElseThrow().counters();
        assertEquals(1, s.get("unit_failures"), String.valueOf(s));
        assertEquals(1, s.get("duplicates_suppressed"), String.valueOf(s));
        assertTrue(s.get("resent_after_unit_failure") >= 1, String.valueOf(s));
        assertEquals(List.of(b.id), core.session(info.id()).orElseThrow().units());
    }

    @Test
    void aUnitThatAcknowledgesNothingPausesTheSenderAtHalfTheQuotaAndLosesNothing() throws Exception {
        ScriptedUnit silent = new ScriptedUnit("silent", Integer.MAX_VALUE, -1);
        Destination d = new Destination();
        closing.add(d);
        long quota = 64 * 1024;
        DistributionCore core = core(quota, silent);
        SessionInfo info = core.createSession(new SessionRequest("silent", "two", d.address(), 1, Optional.empty(),
            Optional.empty(), Map.of()));
        ArtpConnection c = sender(info);
        int n = 12_000; // more than ARTP's default credit of 8,192 datagrams
        for (int i = 0; i < n; i++) {
            c.send(datagram(i, 200));
        }
        await(() -> core.session(info.id()).orElseThrow().counters().get("retention_pauses") >= 1,
            "the retention to pause the sender");
        Thread.sleep(300); // the sender is held: what it had been granted is all that comes
        Map<String, Long> s = core.session(info.id()).orElseThrow().counters();
        assertTrue(s.get("datagrams_in") < n, "the sender is paused: " + s);
        assertTrue(s.get("retained_bytes") > quota / 2, String.valueOf(s));
        assertEquals(s.get("datagrams_in"), s.get("retained"), "everything given to the unit is retained: " + s);
        assertEquals(s.get("retained_bytes"), s.get("retained_bytes_high_water"));
    }
}
