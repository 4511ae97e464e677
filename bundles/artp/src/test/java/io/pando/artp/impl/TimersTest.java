package io.pando.artp.impl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pando.artp.ArtpConfig;
import io.pando.artp.ArtpConnection;
import io.pando.artp.ArtpCounter;
import io.pando.artp.ConnectionState;
import io.pando.artp.ErrorCode;
import io.pando.artp.SessionAcceptor;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Keep-alive, idle timeout, give-up and pacing, in virtual time on the simulated network. */
class TimersTest {

    private SimNetwork net;
    private EndpointCore server;
    private EndpointCore client;
    private final Receiver rx = new Receiver();
    private final Receiver tx = new Receiver();

    private ArtpConnection connect(SimNetwork.Impairment impairment, ArtpConfig cfg) {
        net = new SimNetwork(3, impairment);
        server = net.endpoint(1, cfg, rx, SessionAcceptor.ANY);
        client = net.endpoint(2, cfg, tx, SessionAcceptor.NONE);
        CompletableFuture<ArtpConnection> f = client.connect(net.address(server), 1, null).toCompletableFuture();
        assertTrue(net.runUntil(f::isDone, 10_000_000_000L));
        return f.join();
    }

    @AfterEach
    void drain() {
        server.closeAll(ErrorCode.APPLICATION_ABORT, "test over");
        client.closeAll(ErrorCode.APPLICATION_ABORT, "test over");
        net.drain();
    }

    @Test
    void keepAlivesHoldAnIdleConnectionOpen() {
        ArtpConfig cfg = ArtpConfig.builder().keepAlive(Duration.ofSeconds(2)).idleTimeout(Duration.ofSeconds(10))
            .build();
        ArtpConnection c = connect(new SimNetwork.Impairment(), cfg);
        net.runUntil(() -> false, 120_000_000_000L); // two idle minutes
        assertEquals(ConnectionState.ESTABLISHED, c.state());
        assertEquals(ConnectionState.ESTABLISHED, rx.connection.state());
        long pings = c.stats().get(ArtpCounter.PACKETS_SENT);
        assertTrue(pings >= 120 / 2 - 2, "about one PING per keep-alive interval: " + pings);
    }

    @Test
    void aSilentPeerTimesOut() {
        ArtpConfig cfg = ArtpConfig.builder().idleTimeout(Duration.ofSeconds(5)).build();
        SimNetwork.Impairment path = new SimNetwork.Impairment();
        ArtpConnection c = connect(path, cfg);
        path.loss(1.0); // the path dies
        c.send(Receiver.datagram(0, 100));
        assertTrue(net.runUntil(() -> c.state() == ConnectionState.CLOSED && rx.closed == 1, 30_000_000_000L));
        assertEquals(ErrorCode.IDLE_TIMEOUT, rx.closeCode);
        assertEquals(1, c.stats().get(ArtpCounter.DATAGRAMS_ABANDONED), "the unacknowledged datagram is counted");
    }

    @Test
    void pacingSpreadsTheWindowAndStillDeliversEverything() {
        ArtpConfig cfg = ArtpConfig.builder().pacing(true).build();
        ArtpConnection c = connect(new SimNetwork.Impairment().delay(10_000_000, 0).loss(0.02), cfg);
        for (int i = 0; i < 2000; i++) {
            c.send(Receiver.datagram(i, 1200));
        }
        CompletableFuture<Void> closed = c.close().toCompletableFuture();
        assertTrue(net.runUntil(closed::isDone, 120_000_000_000L), c.stats().toString());
        assertEquals(2000, rx.distinct);
        assertEquals(0, rx.duplicates);
        assertEquals(0, rx.corrupt);
    }
}
