package io.pando.remote.impl;

import static io.pando.remote.impl.Fakes.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.PooledByteBufAllocator;
import io.pando.api.session.SessionId;
import io.pando.api.unit.UnitId;
import io.pando.artp.ArtpConfig;
import io.pando.artp.ArtpConnection;
import io.pando.artp.ArtpEndpoint;
import io.pando.link.AggregationChannel;
import io.pando.link.AggregationPort;
import io.pando.link.Credit;
import io.pando.link.SessionPlan;
import io.pando.link.UnitChannel;
import io.pando.link.UnitPort;
import io.pando.remote.impl.Fakes.CollectingAggregation;
import io.pando.remote.impl.Fakes.EchoUnit;
import io.pando.remote.impl.Fakes.RecordingEvents;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The acknowledgements of remote units (protocol version 3), over real sockets on loopback: the aggregation server
 * hands a connection's results on in the unit's order and applies a {@code PROCESSED} only once every result
 * before it was handed on; and a distribution unit on the aggregation node gets a remote unit's results and
 * acknowledgements through the port it opened the unit with ({@link ResultAttachments}).
 */
class RemoteAcknowledgementTest {

    private static final InetSocketAddress ANY = new InetSocketAddress("127.0.0.1", 0);

    private final ByteBufAllocator alloc = PooledByteBufAllocator.DEFAULT;
    private final ArtpConfig artp = UnitServer.artpConfig();
    private final List<AutoCloseable> toStop = new ArrayList<>();

    @AfterEach
    void stop() throws Exception {
        Collections.reverse(toStop);
        for (AutoCloseable c : toStop) {
            c.close();
        }
    }

    /** An aggregation port whose channels record, in order, each result ({@code r<seq>}) and acknowledgement. */
    private static final class RecordingPort extends CollectingAggregation {
        final List<String> events = Collections.synchronizedList(new ArrayList<>());
        final Map<UnitId, AtomicLong> acked = new ConcurrentHashMap<>();
        final AtomicInteger attaches = new AtomicInteger();

        @Override
        public AggregationChannel attach(SessionId session, UnitId unit, Credit credit) {
            AggregationChannel real = super.attach(session, unit, credit);
            attaches.incrementAndGet();
            AtomicLong last = acked.computeIfAbsent(unit, u -> new AtomicLong(-1));
            return new AggregationChannel() {
                @Override
                public void deliver(long sequence, long flow, ByteBuf data) {
                    events.add("r" + sequence);
                    real.deliver(sequence, flow, data);
                }

                @Override
                public void processed(long sequence) {
                    events.add("ack" + sequence);
                    last.set(sequence);
                }
            };
        }
    }

    private SessionPlan plan(List<UnitId> units) {
        return new SessionPlan(new SessionId(System.nanoTime() & Long.MAX_VALUE), "s", "passthrough", Map.of(),
            new InetSocketAddress("127.0.0.1", 9), units, 4 << 20, Optional.empty());
    }

    private static ByteBuf result(ByteBufAllocator alloc, long seq, int number) {
        return DataPrefix.prefix(alloc, seq, 0, 0, Integer.toUnsignedLong(number), Fakes.payload(alloc, seq));
    }

    private AggregationServerCore aggregationServer(RecordingPort port) {
        AggregationServerCore server = new AggregationServerCore(ANY, port, 1 << 20, artp);
        toStop.add(server::stop);
        return server;
    }

    /** Opens a session at {@code port} and a raw result connection for it to the server (no HELLO yet). */
    private ArtpConnection resultConnection(AggregationServerCore server, RecordingPort port) throws Exception {
        SessionPlan plan = plan(List.of(UnitId.of("b1")));
        port.open(plan);
        ArtpEndpoint client = ArtpEndpoint.builder().bind(ANY).config(artp).handler((c, d, control) -> d.release())
            .start();
        toStop.add(client::close);
        return client.connect(server.localAddress(), plan.id().value(), null).toCompletableFuture()
            .get(10, TimeUnit.SECONDS);
    }

    @Test
    void resultsGoOnInTheUnitsOrderAndAnAcknowledgementWaitsForThem() throws Exception {
        RecordingPort port = new RecordingPort();
        AggregationServerCore server = aggregationServer(port);
        ArtpConnection c = resultConnection(server, port);
        c.send(DataPrefix.hello(alloc, UnitId.of("b1")));
        await("attached", () -> server.counters().get("attached") == 1, 10);

        c.send(result(alloc, 11, 1)); // the second result comes first
        await("the early result is in", () -> server.counters().get("results_in") == 1, 10);
        c.send(DataPrefix.processed(alloc, 12, 3)); // three results came before it
        await("the acknowledgement is in", () -> c.stats().toMap().getOrDefault("bytes_in_flight", 0L) == 0, 10);
        Thread.sleep(100);
        assertEquals(List.of(), port.events, "nothing goes on before result 0");
        c.send(result(alloc, 10, 0));
        await("results 0 and 1 go on", () -> port.events.size() == 2, 10);
        Thread.sleep(100);
        assertEquals(List.of("r10", "r11"), port.events, "the acknowledgement waits for the third result");
        c.send(result(alloc, 12, 2));
        await("the third result and the acknowledgement", () -> port.events.size() == 4, 10);
        c.send(DataPrefix.processed(alloc, 11, 2)); // an older acknowledgement, late: it counts for nothing
        c.send(result(alloc, 12, 2)); // a number already handed on: refused
        await("the repeated number is refused", () -> server.counters().get("bad_datagrams") == 1, 10);
        Thread.sleep(100);
        assertEquals(List.of("r10", "r11", "r12", "ack12"), port.events);
        Map<String, Long> counters = server.counters();
        assertEquals(1L, counters.get("results_reordered"), counters.toString());
        assertEquals(1L, counters.get("acks"), counters.toString());
        assertEquals(0L, counters.get("attached_by_distribution"), counters.toString());
        assertEquals(0L, port.duplicates.get());
        assertEquals(0L, port.corrupt.get());
    }

    @Test
    void anAcknowledgementBeforeTheHelloWaitsWithTheResults() throws Exception {
        RecordingPort port = new RecordingPort();
        AggregationServerCore server = aggregationServer(port);
        ArtpConnection c = resultConnection(server, port);
        c.send(DataPrefix.processed(alloc, 4, 1));
        c.send(result(alloc, 4, 0));
        await("both held", () -> c.stats().toMap().getOrDefault("bytes_in_flight", 0L) == 0, 10);
        Thread.sleep(100);
        c.send(DataPrefix.hello(alloc, UnitId.of("b1")));
        await("replayed", () -> port.events.size() == 2, 10);
        assertEquals(List.of("r4", "ack4"), port.events);
    }

    /** A distribution node's remote side: the aggregation server, the remote units and the proxies they publish. */
    private record DistributionNode(ResultAttachments attachments, CollectingAggregation aggregation,
            AggregationServerCore server, RemoteUnitsCore remote, Map<UnitId, UnitPort> ports) {
    }

    /** @return a distribution node using those unit nodes, with its aggregation server taking attachments */
    private DistributionNode distributionNode(List<NodeAddress> nodes) {
        ResultAttachments attachments = new ResultAttachments();
        CollectingAggregation aggregation = new CollectingAggregation();
        AggregationServerCore server = new AggregationServerCore(ANY, aggregation, 1 << 20, artp, attachments);
        toStop.add(server::stop);
        Map<UnitId, UnitPort> ports = new ConcurrentHashMap<>();
        RemoteUnitsCore remote = new RemoteUnitsCore("test", nodes, server.localAddress(), ANY, (unit, props) -> {
            ports.put(unit.id(), unit);
            return () -> ports.remove(unit.id());
        }, artp, alloc, 20, 400, RemoteUnits.DEFAULT_STALL_MS, attachments);
        toStop.add(remote::stop);
        return new DistributionNode(attachments, aggregation, server, remote, ports);
    }

    /** @return a unit node serving those units, each acknowledging what it processed */
    private UnitServerCore unitServer(EchoUnit... units) {
        UnitServerCore unitServer = new UnitServerCore(ANY, ANY, artp, alloc);
        for (EchoUnit u : units) {
            u.acknowledging = true;
            unitServer.addUnit(u);
        }
        toStop.add(unitServer::stop);
        return unitServer;
    }

    private static NodeAddress node(UnitServerCore unitServer) {
        return NodeAddress.parse("127.0.0.1:" + unitServer.controlAddress().getPort() + "/"
            + unitServer.dataAddress().getPort());
    }

    /**
     * Two unit nodes, b (b1) reached directly and c (c1) through a relay that freezes it; a session over both
     * units, {@code n} datagrams through it, every one acknowledged.
     */
    private final class TwoNodes {
        final EchoUnit b1 = new EchoUnit("b1");
        final EchoUnit c1 = new EchoUnit("c1");
        final FreezableRelay relay;
        final UnitServerCore nodeC;
        final DistributionNode d;
        final RecordingPort distribution = new RecordingPort();
        final SessionPlan plan = plan(List.of(b1.id, c1.id));
        final UnitChannel toB;
        final UnitChannel toC;

        TwoNodes(int n) throws Exception {
            nodeC = unitServer(c1);
            relay = new FreezableRelay(nodeC.controlAddress(), nodeC.dataAddress());
            toStop.add(relay);
            d = distributionNode(List.of(node(unitServer(b1)), relay.node()));
            await("both units registered", () -> d.ports.size() == 2, 10);
            distribution.open(plan);
            d.aggregation.open(plan);
            toB = d.ports.get(b1.id).open(plan, distribution, new RecordingEvents());
            toC = d.ports.get(c1.id).open(plan, distribution, new RecordingEvents());
            for (long seq = 0; seq < n; seq++) {
                (seq % 2 == 0 ? toB : toC).deliver(seq, Fakes.payload(alloc, seq), false);
            }
            await("every acknowledgement", () -> distribution.acked.get(b1.id).get() == n - 2
                && distribution.acked.get(c1.id).get() == n - 1, 30);
        }

        Map<String, Long> counters(int node) {
            return d.remote.nodes().get(node).counters();
        }
    }

    @Test
    void aHungUnitNodeHoldingDatagramsIsDeclaredFailedWithinTheBound() throws Exception {
        TwoNodes t = new TwoNodes(200);
        t.relay.freeze(); // node c stops: nothing more from it, nothing more reaches it
        long frozen = System.nanoTime();
        long seq = 200;
        long thrownAt = 0;
        while (thrownAt == 0 && System.nanoTime() - frozen < TimeUnit.SECONDS.toNanos(10)) {
            t.toB.deliver(seq, Fakes.payload(alloc, seq), false);
            try {
                t.toC.deliver(seq + 1, Fakes.payload(alloc, seq + 1), false);
            } catch (IllegalStateException e) { // what tells the distribution unit the unit is dead
                thrownAt = System.nanoTime();
                assertTrue(e.getMessage().contains("is gone"), e.getMessage());
            }
            seq += 2;
            Thread.sleep(5);
        }
        double detectedMs = (thrownAt - frozen) / 1e6;
        System.out.printf("[stall] node c frozen with datagrams outstanding: its channel threw after %.0f ms%n",
            detectedMs);
        assertTrue(thrownAt != 0, "the hung node's channel never threw");
        assertTrue(detectedMs >= RemoteUnits.DEFAULT_STALL_MS * 0.8, "not before the bound: " + detectedMs + " ms");
        assertTrue(detectedMs < 1_500, "well before the 3 s poll timeout: " + detectedMs + " ms");
        await("c1 withdrawn", () -> !t.d.ports.containsKey(t.c1.id), 5);
        assertEquals(1L, t.counters(1).get("stall_detections"), t.counters(1).toString());
        assertEquals(0L, t.counters(0).get("stall_detections"), "the live node is left alone: " + t.counters(0));
        long last = seq;
        await("b1 still takes datagrams", () -> t.distribution.acked.get(t.b1.id).get() == last - 2, 10);

        t.relay.thaw();
        await("c1 back once its node answers", () -> t.d.ports.containsKey(t.c1.id), 15);
        assertEquals(1L, t.counters(1).get("stall_detections"), t.counters(1).toString());
        // its unit server closed the session when the reset or the closed control connection reached it, whichever
        // came first: c1 can be given the session again
        await("the session closed on c1", () -> t.nodeC.counters().get("sessions") == 0, 10);
        assertEquals(1L, t.nodeC.counters().get("sessions_abandoned") + t.nodeC.counters().get("sessions_orphaned"),
            t.nodeC.counters().toString());
        UnitChannel again = t.d.ports.get(t.c1.id).open(t.plan, t.distribution, new RecordingEvents());
        long next = seq + 1;
        again.deliver(next, Fakes.payload(alloc, next), false);
        await("c1 serves the session again", () -> t.distribution.acked.get(t.c1.id).get() == next, 10);
        again.close().toCompletableFuture().get(30, TimeUnit.SECONDS);
        t.toB.close().toCompletableFuture().get(30, TimeUnit.SECONDS);
    }

    @Test
    void aHungUnitNodeWithNothingOutstandingIsLeftToThePollTimeout() throws Exception {
        TwoNodes t = new TwoNodes(100);
        await("nothing in flight to c", () -> t.toC.counters().get("remote_link_pending_bytes") == 0, 10);
        t.relay.freeze();
        long frozen = System.nanoTime();
        Thread.sleep(2 * RemoteUnits.DEFAULT_STALL_MS + 500);
        assertTrue(t.d.ports.containsKey(t.c1.id), "an idle node is not declared by the data-path rule");
        await("c1 withdrawn by the poll timeout", () -> !t.d.ports.containsKey(t.c1.id), 10);
        double ms = (System.nanoTime() - frozen) / 1e6;
        assertTrue(ms >= RemoteNode.DEAD_AFTER_MS, "by the poll timeout, after " + ms + " ms");
        assertEquals(0L, t.counters(1).get("stall_detections"), t.counters(1).toString());
        t.relay.thaw();
        t.toB.close().toCompletableFuture().get(30, TimeUnit.SECONDS);
    }

    @Test
    void remoteUnitsAcknowledgeThroughTheDistributionUnitsPort() throws Exception {
        EchoUnit b1 = new EchoUnit("b1");
        EchoUnit b2 = new EchoUnit("b2");
        UnitServerCore unitServer = unitServer(b1, b2);
        DistributionNode d = distributionNode(List.of(node(unitServer)));
        await("both units registered", () -> d.ports.size() == 2, 10);
        ResultAttachments attachments = d.attachments;
        CollectingAggregation aggregation = d.aggregation;
        AggregationServerCore server = d.server;
        Map<UnitId, UnitPort> ports = d.ports;

        // the distribution unit's port: the same aggregation unit, seen through what it gives the units
        RecordingPort distribution = new RecordingPort();
        SessionPlan plan = plan(List.of(b1.id, b2.id));
        distribution.open(plan);
        aggregation.open(plan);
        RecordingEvents events = new RecordingEvents();
        UnitChannel c1 = ports.get(b1.id).open(plan, distribution, events);
        UnitChannel c2 = ports.get(b2.id).open(plan, distribution, events);
        assertEquals(2, distribution.attaches.get(), "attached before the first datagram");
        int n = 4000;
        for (long seq = 0; seq < n; seq++) {
            (seq % 2 == 0 ? c1 : c2).deliver(seq, Fakes.payload(alloc, seq), false);
        }
        await("every acknowledgement", () -> distribution.acked.get(b1.id).get() == n - 2
            && distribution.acked.get(b2.id).get() == n - 1, 30);
        assertEquals(n, distribution.results.get(plan.id()).size(), "every result, through the distribution's port");
        assertTrue(aggregation.results.getOrDefault(plan.id(), java.util.Set.of()).isEmpty(),
            "nothing attached around it");
        assertEquals(0L, distribution.duplicates.get());
        assertEquals(0L, distribution.corrupt.get());
        Map<String, Long> counters = server.counters();
        assertEquals(2L, counters.get("attached_by_distribution"), counters.toString());
        assertTrue(counters.get("acks") > 0, counters.toString());
        assertEquals(0, attachments.waiting(), "every attachment taken");
        Map<String, Long> unit = c1.counters();
        assertTrue(unit.get("link_acks_sent") > 0, unit.toString());
        CompletionStage<Void> closed = c1.close();
        closed.toCompletableFuture().get(30, TimeUnit.SECONDS);
        c2.close().toCompletableFuture().get(30, TimeUnit.SECONDS);
    }

    @Test
    void withoutAnAggregationServerHereNothingIsAttachedAhead() {
        ResultAttachments attachments = new ResultAttachments();
        RecordingPort port = new RecordingPort();
        SessionPlan plan = plan(List.of(UnitId.of("b1")));
        port.open(plan);
        assertNull(attachments.attach(port, plan.id(), UnitId.of("b1")));
        assertEquals(0, port.attaches.get());
        attachments.served(true);
        ResultAttachments.Attachment a = attachments.attach(port, plan.id(), UnitId.of("b1"));
        assertEquals(1, port.attaches.get());
        assertEquals(1, attachments.waiting());
        attachments.forget(a);
        assertEquals(0, attachments.waiting());
        assertNull(attachments.take(plan.id(), UnitId.of("b1")));
    }
}
