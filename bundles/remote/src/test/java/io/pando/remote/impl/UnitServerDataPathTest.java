package io.pando.remote.impl;

import static io.pando.remote.impl.Fakes.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.channel.EventLoop;
import io.pando.api.session.SessionId;
import io.pando.api.unit.UnitId;
import io.pando.artp.ArtpConfig;
import io.pando.artp.ErrorCode;
import io.pando.link.SessionPlan;
import io.pando.remote.impl.Fakes.CollectingAggregation;
import io.pando.remote.impl.Fakes.EchoSession;
import io.pando.remote.impl.Fakes.EchoUnit;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The unit server's data path fed datagrams in orders a network may produce (ARTP does not keep order): what
 * arrives before the HELLO, HELLOs that name nothing, malformed prefixes, congestion.
 */
class UnitServerDataPathTest {

    private static final InetSocketAddress ANY = new InetSocketAddress("127.0.0.1", 0);

    private final ByteBufAllocator alloc = PooledByteBufAllocator.DEFAULT;
    private final ArtpConfig artp = UnitServer.artpConfig();
    private final CollectingAggregation aggregation = new CollectingAggregation();
    private final EchoUnit unit = new EchoUnit("b1");
    private final EventLoop loop = FakeConnection.loop();
    private AggregationServerCore aggregationServer;
    private UnitServerCore server;
    private SessionPlan plan;

    @BeforeEach
    void open() {
        aggregationServer = new AggregationServerCore(ANY, aggregation, 1 << 20, artp);
        server = new UnitServerCore(ANY, ANY, artp, alloc);
        server.addUnit(unit);
        InetSocketAddress destination = new InetSocketAddress("127.0.0.1", 9);
        plan = new SessionPlan(new SessionId(77), "s", "passthrough", Map.of(), destination,
            List.of(unit.id), 1 << 20, Optional.empty(), io.pando.api.router.Execution.DEFAULT, List.of(
                new io.pando.api.session.Flow(io.pando.api.session.FlowId.of(0), "default", destination),
                new io.pando.api.session.Flow(io.pando.api.session.FlowId.of(1), "one", destination),
                new io.pando.api.session.Flow(io.pando.api.session.FlowId.of(2), "two", destination)));
        aggregation.open(plan);
        assertInstanceOf(ControlMessage.Ok.class, server.open(new ControlMessage.Open(1, unit.id, plan,
            aggregationServer.localAddress()), null));
    }

    @AfterEach
    void close() throws Exception {
        server.stop();
        aggregationServer.stop();
        loop.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
    }

    /** Datagram {@code seq}, of flow {@code seq % 3}. */
    private ByteBuf data(long seq) {
        return DataPrefix.prefix(alloc, seq, 0, seq % 3, Fakes.payload(alloc, seq));
    }

    private FakeConnection connection() {
        FakeConnection c = new FakeConnection(loop, plan.id().value());
        server.connected(c);
        return c;
    }

    @Test
    void aSessionOpenedAgainOnAnotherControlConnectionReplacesTheEarlierIncarnation() throws Exception {
        EchoSession earlier = unit.sessions.get(plan.id());
        io.netty.channel.embedded.EmbeddedChannel again = new io.netty.channel.embedded.EmbeddedChannel();
        try {
            // the distribution node lost this node (a partition) and opens the session again on a new connection
            assertInstanceOf(ControlMessage.Ok.class, server.open(new ControlMessage.Open(2, unit.id, plan,
                aggregationServer.localAddress()), again));
            EchoSession now = unit.sessions.get(plan.id());
            assertTrue(now != null && now != earlier, "the unit serves a new incarnation");
            assertEquals(1L, server.counters().get("sessions_replaced"));
            // on the same connection, a second OPEN is refused: that distribution node opened it already
            ControlMessage twice = server.open(new ControlMessage.Open(3, unit.id, plan,
                aggregationServer.localAddress()), again);
            assertTrue(twice instanceof ControlMessage.Error e && e.message().contains("already serves session"),
                twice.toString());
            assertEquals(1L, server.counters().get("sessions_replaced"));
            FakeConnection c = connection();
            server.datagram(c, DataPrefix.hello(alloc, unit.id), false);
            server.datagram(c, data(5), false);
            assertEquals(Set.of(5L), now.received, "the new incarnation takes the data");
        } finally {
            again.finishAndReleaseAll();
        }
    }

    @Test
    void whatArrivesBeforeTheHelloIsHeldAndHandedOverAfterIt() throws Exception {
        FakeConnection c = connection();
        server.datagram(c, data(0), false);
        server.datagram(c, data(1), false);
        assertInstanceOf(Unnamed.class, c.attachment);
        server.datagram(c, DataPrefix.hello(alloc, unit.id), false);
        assertInstanceOf(ServedSession.class, c.attachment);
        server.datagram(c, data(2), false);
        EchoSession s = unit.sessions.get(plan.id());
        assertEquals(Set.of(0L, 1L, 2L), s.received);
        assertEquals(0, s.corrupt.get());
        await("the results at the aggregation unit", () -> aggregation.results.getOrDefault(plan.id(), Set.of()).size() == 3,
            10);
        assertEquals(Map.of(0L, 0L, 1L, 1L, 2L, 2L), s.flows, "each datagram reaches the unit with its flow");
        assertEquals(Map.of(0L, 0L, 1L, 1L, 2L, 2L), aggregation.flows, "each result reaches the aggregation unit "
            + "with its flow");
    }

    @Test
    void aHelloNamingNoServedSessionIsRefusedAndWhatWasHeldCounted() {
        FakeConnection c = connection();
        server.datagram(c, data(0), false);
        server.datagram(c, DataPrefix.hello(alloc, UnitId.of("zz")), false);
        assertEquals(ErrorCode.APPLICATION_ABORT, c.resetCode);
        assertTrue(c.resetReason.contains("unit zz does not serve session 77"), c.resetReason);
        server.datagram(c, data(1), false); // late: after the refusal
        Map<String, Long> m = server.counters();
        assertEquals(1L, m.get("refused_hellos"), m.toString());
        assertEquals(1L, m.get("lost_before_hello"), m.toString());
        assertEquals(1L, m.get("late_datagrams"), m.toString());
    }

    @Test
    void malformedDatagramsAreCountedAndReleased() {
        FakeConnection c = connection();
        server.datagram(c, alloc.buffer().writeZero(4), false);
        server.datagram(c, alloc.buffer().writeLong(1).writeByte(0x80).writeInt(0), false);
        server.datagram(c, data(1), true); // ARTP control: not how this link carries control information
        server.datagram(c, DataPrefix.hello(alloc, unit.id), false);
        server.datagram(c, DataPrefix.hello(alloc, unit.id), false); // a second HELLO
        assertEquals(4L, server.counters().get("bad_datagrams"));
        assertEquals(Set.of(), unit.sessions.get(plan.id()).received);
    }

    @Test
    void aCongestedUnitPausesItsConnectionUntilClear() throws Exception {
        FakeConnection c = connection();
        server.datagram(c, DataPrefix.hello(alloc, unit.id), false);
        EchoSession s = unit.sessions.get(plan.id());
        s.congest();
        await("the connection paused", () -> c.paused, 10);
        s.clear();
        await("the connection resumed", () -> !c.paused, 10);
    }

    @Test
    void controlInformationIsFlaggedToTheUnit() {
        FakeConnection c = connection();
        server.datagram(c, DataPrefix.hello(alloc, unit.id), false);
        server.datagram(c, DataPrefix.prefix(alloc, -1, DataPrefix.CONTROL, 2, alloc.buffer().writeByte(7)), false);
        assertEquals(1, unit.sessions.get(plan.id()).control.get());
        assertEquals(Map.of(2L, 1L), unit.sessions.get(plan.id()).controlFlows, "about the flow it names");
    }
}
