package io.pando.artp.impl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pando.artp.ArtpConfig;
import io.pando.artp.ArtpConnection;
import io.pando.artp.ArtpCounter;
import io.pando.artp.ArtpStats;
import io.pando.artp.ConnectionState;
import io.pando.artp.ErrorCode;
import io.pando.artp.SessionAcceptor;
import io.pando.artp.SessionGrant;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Reliability of ARTP/1 on a deterministic simulated network: every datagram arrives exactly once and intact
 * under loss, duplication, reordering, delay and jitter, and the connection closes in order.
 */
class SimNetworkTest {

    static Stream<Arguments> networks() {
        return Stream.of(
            Arguments.of("clean", 1L, new SimNetwork.Impairment()),
            Arguments.of("loss 1%", 2L, new SimNetwork.Impairment().loss(0.01)),
            Arguments.of("loss 5%", 3L, new SimNetwork.Impairment().loss(0.05)),
            Arguments.of("loss 10%", 4L, new SimNetwork.Impairment().loss(0.10)),
            Arguments.of("loss 30%", 5L, new SimNetwork.Impairment().loss(0.30)),
            Arguments.of("reorder 10%", 6L, new SimNetwork.Impairment().reorder(0.10, 2_000_000)),
            Arguments.of("reorder 25%", 7L, new SimNetwork.Impairment().reorder(0.25, 8_000_000)),
            Arguments.of("duplicate 1%", 8L, new SimNetwork.Impairment().duplicate(0.01)),
            Arguments.of("delay 20ms jitter 10ms", 9L, new SimNetwork.Impairment().delay(20_000_000, 10_000_000)),
            Arguments.of("everything", 10L, new SimNetwork.Impairment().loss(0.10).duplicate(0.05)
                .reorder(0.2, 5_000_000).delay(5_000_000, 5_000_000)))
            .filter(a -> System.getProperty("sim.only") == null
                || a.get()[0].toString().contains(System.getProperty("sim.only")));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("networks")
    void everyDatagramArrivesExactlyOnce(String name, long seed, SimNetwork.Impairment impairment) {
        transfer(seed, impairment, null, 1500);
    }

    @ParameterizedTest(name = "keyed, {0}")
    @MethodSource("networks")
    void keyedSessionsToo(String name, long seed, SimNetwork.Impairment impairment) {
        byte[] key = new byte[32];
        for (int i = 0; i < 32; i++) {
            key[i] = (byte) (i * 7 + seed);
        }
        transfer(seed + 100, impairment, key, 400);
    }

    private void transfer(long seed, SimNetwork.Impairment impairment, byte[] key, int count) {
        SimNetwork net = new SimNetwork(seed, impairment);
        ArtpConfig cfg = ArtpConfig.builder().idleTimeout(java.time.Duration.ofSeconds(20)).build();
        Receiver rx = new Receiver();
        Receiver txSide = new Receiver();
        SessionAcceptor acceptor = key == null ? (s, p) -> s == 42 ? SessionGrant.UNKEYED : null
            : (s, p) -> s == 42 ? SessionGrant.keyed(key) : null;
        EndpointCore server = net.endpoint(1, cfg, rx, acceptor);
        EndpointCore client = net.endpoint(2, cfg, txSide, SessionAcceptor.NONE);
        try {
            CompletableFuture<io.pando.artp.ArtpConnection> f =
                client.connect(net.address(server), 42, key).toCompletableFuture();
            assertTrue(net.runUntil(f::isDone, 60_000_000_000L), "handshake finished");
            ArtpConnection c = f.join();
            assertEquals(key != null, c.isKeyed());
            java.util.Random sizes = new java.util.Random(seed);
            for (int i = 0; i < count; i++) {
                // mostly single-packet datagrams, some of several fragments, a few large ones
                int size = i % 10 == 0 ? 12 + sizes.nextInt(20_000) : 12 + sizes.nextInt(1400);
                c.send(Receiver.datagram(i, size));
            }
            AtomicReference<Throwable> closeError = new AtomicReference<>();
            CompletableFuture<Void> closed = c.close().toCompletableFuture()
                .whenComplete((v, e) -> closeError.set(e));
            assertTrue(net.runUntil(() -> closed.isDone() && rx.closed > 0, 600_000_000_000L),
                "closed in time; delivered " + rx.distinct + " of " + count + ", stats " + c.stats());
            ArtpStats st = c.stats();
            System.out.printf("%s: virtual %.3f s, sent %d packets, dropped %d; sender %s; receiver %s%n", seed,
                (net.now() - 1e9) / 1e9, net.packetsSent, net.packetsDropped, st, rx.connection.stats());
            assertEquals(null, closeError.get(), "orderly close");
            assertEquals(count, rx.distinct, "all delivered; sender " + st);
            assertEquals(0, rx.duplicates, "no duplicate delivered");
            assertEquals(0, rx.corrupt, "no corrupt datagram");
            assertEquals(ErrorCode.NO_ERROR, rx.closeCode);
            assertEquals(ConnectionState.CLOSED, c.state());
            assertEquals(count, st.get(ArtpCounter.DATAGRAMS_SENT));
            if (impairment.loss > 0) {
                assertTrue(st.get(ArtpCounter.RETRANSMITTED) > 0, "loss caused retransmissions");
            }
        } finally {
            server.closeAll(ErrorCode.APPLICATION_ABORT, "test over");
            client.closeAll(ErrorCode.APPLICATION_ABORT, "test over");
            net.drain();
        }
    }
}
