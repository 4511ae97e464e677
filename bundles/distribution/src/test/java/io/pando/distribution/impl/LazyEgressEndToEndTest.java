package io.pando.distribution.impl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pando.aggregation.impl.AggregationUnit;
import io.pando.api.router.SessionInfo;
import io.pando.api.router.SessionRequest;
import io.pando.artp.ArtpConfig;
import io.pando.artp.ArtpConnection;
import io.pando.artp.ArtpEndpoint;
import io.pando.artp.ErrorCode;
import io.pando.distribution.impl.FlowsEndToEndTest.Destination;
import io.pando.distribution.impl.FlowsEndToEndTest.EchoUnit;
import io.pando.policies.impl.RoundRobinPolicy;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The aggregation unit opens a session's egress connection on its first result (not when the session is created):
 * through the real distribution unit and the real aggregation unit over real ARTP on loopback, nothing of a session
 * is lost to it, not its very first datagram, nor one sent just before the session closes.
 */
class LazyEgressEndToEndTest {

    private final List<AutoCloseable> closing = new ArrayList<>();
    private Destination destination;
    private DistributionCore core;
    private ArtpEndpoint senders;

    @BeforeEach
    void router() {
        destination = new Destination();
        closing.add(destination);
        AggregationUnit aggregation = FlowsEndToEndTest.aggregation(closing);
        core = new DistributionCore(new InetSocketAddress("127.0.0.1", 0), "", RoundRobinPolicy.NAME, 1 << 20,
            aggregation, ArtpConfig.defaults());
        closing.add(core::stop);
        core.addUnit(new EchoUnit("u1"));
        senders = ArtpEndpoint.builder().handler((c, d, ctl) -> d.release()).start();
        closing.add(senders);
    }

    @AfterEach
    void closeEverything() throws Exception {
        for (int i = closing.size() - 1; i >= 0; i--) {
            closing.get(i).close();
        }
    }

    private SessionInfo create(String name) {
        return core.createSession(new SessionRequest(name, "echo", destination.address(), 1, Optional.empty(),
            Optional.empty(), Map.of()));
    }

    private ArtpConnection sender(SessionInfo info) throws Exception {
        return senders.connect(info.ingress(), info.id().value(), null).toCompletableFuture().get(5, TimeUnit.SECONDS);
    }

    @Test
    void aCreatedSessionHoldsNoEgressConnectionAndItsFirstDatagramArrives() throws Exception {
        SessionInfo info = create("first");
        Thread.sleep(200);
        assertTrue(destination.endpoint.connections().isEmpty(), "no egress connection before the first result");
        ArtpConnection sender = sender(info);
        sender.send(FlowsEndToEndTest.payload(0));
        FlowsEndToEndTest.await(() -> destination.got.size() == 1, "the first datagram at the destination");
        assertEquals(0, ByteBuffer.wrap(destination.got.get(0).data()).getLong());
        for (long i = 1; i <= 20; i++) {
            sender.send(FlowsEndToEndTest.payload(i));
        }
        FlowsEndToEndTest.await(() -> destination.got.size() == 21, "the rest");
        sender.close().toCompletableFuture().get(5, TimeUnit.SECONDS);
        Map<String, Long> c = core.closeSession(info.id()).counters();
        assertEquals(21, c.get("datagrams_out"), c.toString());
        assertEquals(0, c.get("egress_lost"));
        assertEquals(0, c.get("egress_failed"));
        assertTrue(destination.closed.await(5, TimeUnit.SECONDS));
        assertEquals(ErrorCode.NO_ERROR, destination.closeCode, "the egress closes in order");
    }

    @Test
    void aDatagramSentJustBeforeTheSessionClosesArrivesThoughItsEgressWasStillOpening() throws Exception {
        for (int round = 0; round < 5; round++) {
            int before = destination.got.size();
            SessionInfo info = create("last-" + round);
            ArtpConnection sender = sender(info);
            sender.send(FlowsEndToEndTest.payload(round));
            sender.close().toCompletableFuture().get(5, TimeUnit.SECONDS); // everything acknowledged at the ingress
            Map<String, Long> c = core.closeSession(info.id()).counters(); // at once: the egress may still be opening
            assertEquals(1, c.get("datagrams_out"), "round " + round + ": " + c);
            assertEquals(0, c.get("egress_lost"));
            int r = round;
            FlowsEndToEndTest.await(() -> destination.got.size() == before + 1, "round " + r + "'s datagram");
            assertEquals(round, ByteBuffer.wrap(destination.got.get(before).data()).getLong());
        }
        FlowsEndToEndTest.await(() -> destination.endpoint.connections().isEmpty(),
            "every egress connection closed with its session");
    }
}
