package io.pando.remote.impl;

import static io.pando.remote.impl.Fakes.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.pando.api.session.SessionId;
import io.pando.api.unit.UnitId;
import io.pando.artp.ArtpConfig;
import io.pando.link.SessionPlan;
import io.pando.link.UnitChannel;
import io.pando.link.UnitPort;
import io.pando.remote.impl.ControlMessage.ErrorCode;
import io.pando.remote.impl.Fakes.CollectingAggregation;
import io.pando.remote.impl.Fakes.EchoSession;
import io.pando.remote.impl.Fakes.EchoUnit;
import io.pando.remote.impl.Fakes.RecordingEvents;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The three components' cores over real sockets on loopback: a distribution side ({@link RemoteUnitsCore}), a unit
 * node ({@link UnitServerCore}) with two echoing units, an aggregation node ({@link AggregationServerCore}).
 */
class RemoteLinkTest {

    private static final InetSocketAddress ANY = new InetSocketAddress("127.0.0.1", 0);

    private final ByteBufAllocator alloc = PooledByteBufAllocator.DEFAULT;
    private final ArtpConfig artp = UnitServer.artpConfig();
    private final CollectingAggregation aggregation = new CollectingAggregation();
    private final EchoUnit b1 = new EchoUnit("b1");
    private final EchoUnit b2 = new EchoUnit("b2");
    private final Map<UnitId, Map<String, Object>> registered = new ConcurrentHashMap<>();
    private final Map<UnitId, UnitPort> ports = new ConcurrentHashMap<>();
    private AggregationServerCore aggregationServer;
    private UnitServerCore unitServer;
    private RemoteUnitsCore remote;

    @BeforeEach
    void start() throws Exception {
        // a small ARTP window at the aggregation node, so its pause takes effect within 128 datagrams
        aggregationServer = new AggregationServerCore(ANY, aggregation, 256 << 10,
            ArtpConfig.builder().maxDatagramSize(DataPrefix.MAX_DATAGRAM).datagramWindow(128).build());
        unitServer = startUnitServer(ANY, ANY);
        remote = new RemoteUnitsCore("test", List.of(node()), aggregationServer.localAddress(), ANY, (unit, props) -> {
            registered.put(unit.id(), props);
            ports.put(unit.id(), unit);
            return () -> {
                registered.remove(unit.id());
                ports.remove(unit.id());
            };
        }, artp, alloc, 20, 400, RemoteUnits.DEFAULT_STALL_MS, new ResultAttachments());
        await("both units registered", () -> ports.size() == 2, 10);
    }

    private UnitServerCore startUnitServer(InetSocketAddress control, InetSocketAddress data) {
        UnitServerCore s = new UnitServerCore(control, data, artp, alloc);
        s.addUnit(b1);
        s.addUnit(b2);
        return s;
    }

    private NodeAddress node() {
        return NodeAddress.parse("127.0.0.1:" + unitServer.controlAddress().getPort() + "/"
            + unitServer.dataAddress().getPort());
    }

    @AfterEach
    void stop() {
        if (remote != null) {
            remote.stop();
        }
        if (unitServer != null) {
            unitServer.stop();
        }
        if (aggregationServer != null) {
            aggregationServer.stop();
        }
    }

    private SessionPlan plan(String program) {
        return new SessionPlan(new SessionId(ThreadLocalRandom.current().nextLong(1, Long.MAX_VALUE)), "s", program,
            Map.of(), new InetSocketAddress("127.0.0.1", 9), List.of(b1.id, b2.id), 4 << 20, Optional.empty());
    }

    @Test
    void proxiesDescribeTheRemoteUnits() {
        UnitPort p = ports.get(UnitId.of("b1"));
        assertEquals("127.0.0.1:" + unitServer.controlAddress().getPort(), p.location());
        assertEquals("b1", registered.get(UnitId.of("b1")).get(UnitPort.UNIT_ID));
        assertEquals(p.location(), registered.get(UnitId.of("b1")).get(RemoteUnitsCore.PROXY_PROPERTY));
        assertEquals(java.util.Set.of("passthrough"), p.programs());
        assertEquals("drr", p.scheduler());
        assertEquals(0.5, p.load().cpu());
        Map<String, Long> counters = p.counters();
        assertEquals(0L, counters.get("sessions"), counters.toString());
        assertEquals(0L, counters.get("unit_server_bad_requests"), counters.toString());
        assertEquals(1L, counters.get("remote_node_connected"), counters.toString());
        p.selectScheduler("fifo");
        assertEquals("fifo", b1.scheduler);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> p.selectScheduler("nope"));
        assertTrue(e.getMessage().contains("no packet scheduler 'nope' on unit b1"), e.getMessage());
    }

    @Test
    void aSessionStreamsThroughTwoRemoteUnitsToTheAggregationNode() throws Exception {
        SessionPlan plan = plan("passthrough");
        aggregation.open(plan);
        RecordingEvents events = new RecordingEvents();
        UnitChannel c1 = ports.get(b1.id).open(plan, null, events);
        UnitChannel c2 = ports.get(b2.id).open(plan, null, events);
        int n = 10_000;
        for (long seq = 0; seq < n; seq++) {
            (seq % 2 == 0 ? c1 : c2).deliver(seq, Fakes.payload(alloc, seq), false);
        }
        c1.deliver(UnitChannel.NO_SEQUENCE, Unpooled.copiedBuffer(new byte[] {1, 2, 3}), true);
        await("every result at the aggregation unit", () -> received(plan) == n, 60);
        assertEquals(0, aggregation.duplicates.get());
        assertEquals(0, aggregation.corrupt.get());
        EchoSession s1 = b1.sessions.get(plan.id());
        EchoSession s2 = b2.sessions.get(plan.id());
        assertEquals(n / 2, s1.received.size());
        assertEquals(n / 2, s2.received.size());
        assertEquals(0, s1.corrupt.get() + s2.corrupt.get());
        await("control information at unit b1", () -> s1.control.get() == 1, 10);

        Map<String, Long> counters = c1.counters();
        assertEquals(n / 2, counters.get("datagrams_in"), counters.toString());
        assertEquals(n / 2 + 1, counters.get("link_datagrams_in"), counters.toString()); // and the control datagram
        assertEquals(n / 2, counters.get("link_results_sent"), counters.toString());
        assertEquals(0L, counters.get("link_results_lost"), counters.toString());
        assertEquals(0L, counters.get("remote_lost"), counters.toString());

        c1.close().toCompletableFuture().get(30, TimeUnit.SECONDS);
        c2.close().toCompletableFuture().get(30, TimeUnit.SECONDS);
        assertTrue(b1.sessions.isEmpty() && b2.sessions.isEmpty(), "closed on the units");
        Map<String, Long> last = c2.counters(); // the final ones, from the answer to CLOSE
        assertEquals(n / 2, last.get("datagrams_in"), last.toString());
        assertEquals(n / 2, last.get("link_results_sent"), last.toString());
        Map<String, Long> server = unitServer.counters();
        assertEquals(0L, server.get("sessions"), server.toString());
        assertEquals(0L, server.get("bad_datagrams") + server.get("lost_before_hello") + server.get("late_datagrams"),
            server.toString());
        assertEquals(2L, aggregationServer.counters().get("attached"));
        assertEquals(List.of(b1.id, b2.id), aggregation.attached.stream().sorted(java.util.Comparator.comparing(
            UnitId::value)).toList());
    }

    @Test
    void aMultiFlowSessionKeepsItsFlowsAcrossNodes() throws Exception {
        InetSocketAddress destination = new InetSocketAddress("127.0.0.1", 9);
        SessionPlan plan = new SessionPlan(new SessionId(ThreadLocalRandom.current().nextLong(1, Long.MAX_VALUE)), "s",
            "passthrough", Map.of(), destination, List.of(b1.id), 4 << 20, Optional.empty(),
            io.pando.api.router.Execution.DEFAULT, List.of(
                new io.pando.api.session.Flow(io.pando.api.session.FlowId.of(0), "default", destination),
                new io.pando.api.session.Flow(io.pando.api.session.FlowId.of(1), "audio",
                    new InetSocketAddress("127.0.0.1", 10)),
                new io.pando.api.session.Flow(io.pando.api.session.FlowId.of(70_000), "video",
                    new InetSocketAddress("127.0.0.1", 11))));
        aggregation.open(plan);
        RecordingEvents events = new RecordingEvents();
        UnitChannel c = ports.get(b1.id).open(plan, null, events);
        EchoSession s = b1.sessions.get(plan.id());
        assertEquals(plan, s.plan, "the unit node gets the plan with its flows");
        long[] flows = {0, 1, 70_000};
        int n = 3_000;
        for (long seq = 0; seq < n; seq++) {
            c.deliver(seq, flows[(int) (seq % 3)], Fakes.payload(alloc, seq), false);
        }
        c.deliver(UnitChannel.NO_SEQUENCE, 70_000, Unpooled.copiedBuffer(new byte[] {0, 3, 0, 4, 0, 1, 17, 112, 0, 0, 0, 0}),
            true);
        await("every result at the aggregation unit", () -> received(plan) == n, 60);
        await("the control information", () -> s.control.get() == 1, 10);
        for (long seq = 0; seq < n; seq++) {
            assertEquals(flows[(int) (seq % 3)], s.flows.get(seq), "datagram " + seq + " at the unit");
            assertEquals(flows[(int) (seq % 3)], aggregation.flows.get(seq), "result " + seq);
        }
        assertEquals(Map.of(70_000L, 1L), s.controlFlows);
        c.close().toCompletableFuture().get(30, TimeUnit.SECONDS);
    }

    @Test
    void aCongestedRemoteUnitPausesTheSenderAndNothingIsLost() throws Exception {
        SessionPlan plan = plan("passthrough");
        aggregation.open(plan);
        RecordingEvents events = new RecordingEvents();
        UnitChannel c = ports.get(b1.id).open(plan, null, events);
        EchoSession s = b1.sessions.get(plan.id());
        s.congest();
        long seq = 0;
        // the unit node stops granting credit; what the distribution node sends next queues until it reports
        while (events.congestedNow.get() == 0) {
            assertTrue(seq < 200_000, "the session was reported congested");
            c.deliver(seq, Fakes.payload(alloc, seq), false);
            seq++;
            if (seq % 1000 == 0) {
                Thread.sleep(1);
            }
        }
        long sent = seq;
        Map<String, Long> counters = c.counters();
        assertEquals(1L, counters.get("remote_congested"), counters.toString());
        assertTrue(counters.get("link_pauses") >= 1, counters.toString());
        s.clear();
        await("the session reported clear", () -> events.congestedNow.get() == 0, 30);
        await("every result at the aggregation unit", () -> received(plan) == sent, 60);
        assertEquals(0, aggregation.duplicates.get() + aggregation.corrupt.get());
        assertEquals(1, events.congestionReports.get());
        assertEquals(1, events.clearReports.get());
        c.close().toCompletableFuture().get(30, TimeUnit.SECONDS);
    }

    @Test
    void aSlowAggregationUnitPausesTheUnitsResults() throws Exception {
        SessionPlan plan = plan("passthrough");
        aggregation.open(plan);
        aggregation.withholdCredit = true;
        UnitChannel c = ports.get(b1.id).open(plan, null, new RecordingEvents());
        int n = 3_000; // 4.5 MB: far more than the credit window (256 KiB) and the ARTP window (128 datagrams)
        for (long seq = 0; seq < n; seq++) {
            c.deliver(seq, Fakes.payload(alloc, seq), false);
        }
        await("the aggregation server paused the unit", () -> aggregationServer.counters().get("pauses") >= 1, 30);
        Thread.sleep(300); // what the unit node was granted before the pause arrives
        int stalled = received(plan);
        Thread.sleep(300);
        assertEquals(stalled, received(plan), "nothing more while the aggregation unit "
            + "returns no credit");
        assertTrue(stalled < n, "held back while the aggregation unit is slow: " + stalled);
        aggregation.returnWithheld();
        await("every result at the aggregation unit", () -> received(plan) == n, 60);
        assertEquals(0, aggregation.duplicates.get() + aggregation.corrupt.get());
        c.close().toCompletableFuture().get(30, TimeUnit.SECONDS);
    }

    @Test
    void resultsOfASessionTheAggregationUnitDoesNotKnowAreCountedLostAndCredited() throws Exception {
        SessionPlan plan = plan("passthrough"); // not opened at the aggregation unit
        UnitChannel c = ports.get(b1.id).open(plan, null, new RecordingEvents());
        EchoSession s = b1.sessions.get(plan.id());
        for (long seq = 0; seq < 100; seq++) {
            c.deliver(seq, Fakes.payload(alloc, seq), false);
        }
        await("the unit got its credit back", () -> s.received.size() == 100 && s.atAggregation.get() == 0, 30);
        await("the aggregation server refused the connection", () -> aggregationServer.counters().get("refused") == 1,
            10);
        Map<String, Long> counters = c.counters();
        long lost = counters.get("link_results_lost"); // ARTP's abandoned count may include the HELLO
        assertTrue(lost == 100 || lost == 101, counters.toString());
        c.close().toCompletableFuture().get(30, TimeUnit.SECONDS);
    }

    @Test
    void aRemoteUnitValidatesASessionItself() {
        UnitPort p = ports.get(b1.id);
        p.validate(plan("passthrough"));
        SessionPlan badKey = new SessionPlan(new SessionId(3), "s", "passthrough", Map.of("key", "xyz"),
            new InetSocketAddress("127.0.0.1", 9), List.of(b1.id), 4 << 20, Optional.empty());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> p.validate(badKey));
        assertEquals("key: hex digits only, got 'xyz'", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> p.validate(plan("nope")));
        assertTrue(e.getMessage().contains("no active program 'nope' on unit b1"), e.getMessage());
    }

    @Test
    void aUnitThatRefusesASessionSaysWhy() {
        IllegalStateException e = assertThrows(IllegalStateException.class,
            () -> ports.get(b1.id).open(plan("refuse"), null, new RecordingEvents()));
        assertTrue(e.getMessage().contains("unit b1 refused session") && e.getMessage().contains("cannot reserve"),
            e.getMessage());
        assertEquals(0L, unitServer.counters().get("sessions"));
    }

    @Test
    void anUnreachableNodesUnitsAreWithdrawnAndComeBack() throws Exception {
        InetSocketAddress control = unitServer.controlAddress();
        InetSocketAddress data = unitServer.dataAddress();
        unitServer.stop();
        unitServer = null;
        await("the node's units withdrawn", ports::isEmpty, 10);
        IllegalStateException gone = assertThrows(IllegalStateException.class, () -> remoteNode().call(
            ControlMessage.ListUnits::new));
        assertTrue(gone.getMessage().contains("unreachable"), gone.getMessage());
        unitServer = startUnitServer(control, data);
        await("the node's units back", () -> ports.size() == 2, 10);
    }

    @Test
    void aUnitWhoseCountersWaitForItsBusyLoopNeitherLooksDeadNorHoldsUpOpens() throws Exception {
        // measured with rsa-sign: a unit node answers counter requests only once its unit's loop got through the
        // datagrams queued before them (seconds); the router's balancer asks every round. Polls queued behind them
        // made live nodes look dead (3 s unanswered) and sessions hop from node to node.
        java.util.concurrent.CountDownLatch gate = new java.util.concurrent.CountDownLatch(1);
        b1.countersGate = gate;
        java.util.concurrent.ExecutorService caller = java.util.concurrent.Executors.newSingleThreadExecutor();
        try {
            java.util.concurrent.Future<Map<String, Long>> slow = caller.submit(() -> ports.get(b1.id).counters());
            await("b1's counters waiting", () -> b1.countersWaiting.get() == 1, 10);
            long reconnects = remoteNode().counters().get("reconnects");

            SessionPlan plan = plan("passthrough");
            aggregation.open(plan);
            long t0 = System.nanoTime();
            UnitChannel c = ports.get(b2.id).open(plan, null, new RecordingEvents());
            long openMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
            assertTrue(openMs < 2_000, "an OPEN waited " + openMs + " ms behind a counters request");

            Thread.sleep(RemoteNode.DEAD_AFTER_MS + 1_000);
            Map<String, Long> node = remoteNode().counters();
            assertEquals(1L, node.get("connected"), node.toString());
            assertEquals(reconnects, node.get("reconnects"), "the node was never declared dead: " + node);
            assertEquals(java.util.Set.of(b1.id, b2.id), ports.keySet());
            assertEquals(1, b1.countersWaiting.get(), "the counters request is still waiting");

            gate.countDown();
            assertEquals(0L, slow.get(10, TimeUnit.SECONDS).get("sessions"));
            c.close().toCompletableFuture().get(10, TimeUnit.SECONDS);
        } finally {
            gate.countDown();
            caller.shutdownNow();
        }
    }

    @Test
    void unitsThatComeAndGoOnANodeAreRegisteredAndWithdrawn() throws Exception {
        EchoUnit b3 = new EchoUnit("b3");
        unitServer.addUnit(b3);
        await("b3 registered", () -> ports.containsKey(b3.id), 10);
        unitServer.removeUnit(b3);
        await("b3 withdrawn", () -> !ports.containsKey(b3.id), 10);
        assertEquals(java.util.Set.of(b1.id, b2.id), ports.keySet());
    }

    /** @return how many distinct results of the session the aggregation unit has */
    private int received(SessionPlan plan) {
        return aggregation.results.getOrDefault(plan.id(), java.util.Set.of()).size();
    }

    @SuppressWarnings("unchecked")
    private RemoteNode remoteNode() throws Exception {
        java.lang.reflect.Field f = RemoteUnitsCore.class.getDeclaredField("nodes");
        f.setAccessible(true);
        return ((List<RemoteNode>) f.get(remote)).get(0);
    }

    // ---- bad control input, over a raw socket

    private static void send(OutputStream out, ByteBuf frame) throws Exception {
        byte[] b = new byte[frame.readableBytes()];
        frame.readBytes(b);
        frame.release();
        out.write(b);
        out.flush();
    }

    private static ByteBuf frame(ControlMessage m) {
        ByteBuf b = Unpooled.buffer();
        ControlEncoder.encode(m, b);
        return b;
    }

    private static ControlMessage read(DataInputStream in) throws Exception {
        int len = in.readInt();
        byte[] body = new byte[len];
        in.readFully(body);
        ByteBuf b = Unpooled.wrappedBuffer(body);
        try {
            return ControlDecoder.decode(b);
        } finally {
            b.release();
        }
    }

    private static ControlMessage.Error error(DataInputStream in, int id, ErrorCode code) throws Exception {
        ControlMessage.Error e = assertInstanceOf(ControlMessage.Error.class, read(in));
        assertEquals(id, e.requestId(), e.toString());
        assertEquals(code, e.code(), e.toString());
        return e;
    }

    @Test
    void badControlRequestsGetAClearErrorAndAreCounted() throws Exception {
        try (Socket s = new Socket("127.0.0.1", unitServer.controlAddress().getPort())) {
            s.setSoTimeout(10_000);
            OutputStream out = s.getOutputStream();
            DataInputStream in = new DataInputStream(s.getInputStream());

            send(out, frame(new ControlMessage.ListUnits(1)));
            assertTrue(error(in, 1, ErrorCode.BAD_REQUEST).message().contains("send HELLO"));

            send(out, frame(new ControlMessage.Hello(2, 99, "future")));
            assertTrue(error(in, 2, ErrorCode.VERSION).message().contains("version " + ControlMessage.VERSION + ", got 99"));

            send(out, frame(new ControlMessage.Hello(3, ControlMessage.VERSION, "raw")));
            assertEquals(new ControlMessage.Ok(3), read(in));

            send(out, Unpooled.buffer().writeInt(9).writeByte(0x7f).writeInt(4).writeInt(0));
            assertTrue(error(in, 4, ErrorCode.BAD_REQUEST).message().contains("unknown message type 0x7f"));

            send(out, frame(new ControlMessage.Open(5, UnitId.of("zz"), plan("passthrough"),
                new InetSocketAddress("127.0.0.1", 1))));
            assertTrue(error(in, 5, ErrorCode.UNKNOWN_UNIT).message().contains("no unit zz on this node; units: "
                + "[b1, b2]"));

            send(out, frame(new ControlMessage.Close(6, UnitId.of("b1"), new SessionId(5))));
            error(in, 6, ErrorCode.UNKNOWN_SESSION);

            send(out, frame(new ControlMessage.SessionCounters(7, UnitId.of("b1"), new SessionId(5))));
            error(in, 7, ErrorCode.UNKNOWN_SESSION);

            send(out, frame(new ControlMessage.Ok(8)));
            assertTrue(error(in, 8, ErrorCode.BAD_REQUEST).message().contains("takes requests"));

            send(out, frame(new ControlMessage.SelectScheduler(9, UnitId.of("b2"), "nope")));
            error(in, 9, ErrorCode.REFUSED);

            ControlMessage units = read(inAfter(out, in, frame(new ControlMessage.ListUnits(10))));
            assertEquals(2, assertInstanceOf(ControlMessage.Units.class, units).units().size());

            send(out, Unpooled.buffer().writeInt(ControlDecoder.MAX_FRAME + 1).writeZero(64));
            assertTrue(error(in, 0, ErrorCode.BAD_REQUEST).message().contains("bad frame"));
            assertThrows(EOFException.class, in::readInt, "the connection is closed after a bad frame");
        }
        Map<String, Long> c = unitServer.counters();
        assertEquals(3L, c.get("bad_requests"), c.toString()); // before HELLO, unknown type, a reply
        assertEquals(1L, c.get("bad_frames"), c.toString());
    }

    private static DataInputStream inAfter(OutputStream out, DataInputStream in, ByteBuf frame) throws Exception {
        send(out, frame);
        return in;
    }
}
