package io.pando.distribution.impl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pando.api.router.SessionInfo;
import io.pando.api.session.SessionId;
import io.pando.artp.ArtpConfig;
import io.pando.artp.ArtpConnection;
import io.pando.artp.ArtpEndpoint;
import io.pando.artp.ArtpException;
import io.pando.artp.testing.Configs;
import io.pando.control.impl.ControlFixture;
import io.pando.control.protocol.ControlClient;
import io.pando.control.protocol.ControlMessage;
import io.pando.control.protocol.Distribution;
import io.pando.control.protocol.Resources;
import io.pando.policies.impl.RoundRobinPolicy;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A session belongs to its owner on the data path: a real control unit (JAAS login, admission) in front of a real
 * distribution unit whose ARTP ingress listens on loopback; user A opens a session, gets its key in OPENED, and only
 * a sender holding that key gets through. Control ports 18300-18349.
 */
class ControlUnitKeyedSessionTest {

    private static final Duration T = Duration.ofSeconds(10);
    private static final InetSocketAddress DESTINATION = new InetSocketAddress("127.0.0.1", 9);

    @TempDir
    Path dir;

    private final List<AutoCloseable> closing = new ArrayList<>();

    @AfterEach
    void closeEverything() throws Exception {
        for (int i = closing.size() - 1; i >= 0; i--) {
            closing.get(i).close();
        }
    }

    private ArtpEndpoint endpoint(ArtpConfig config) {
        ArtpEndpoint e = ArtpEndpoint.builder().config(config).handler((c, d, ctl) -> d.release()).start();
        closing.add(e);
        return e;
    }

    private static ControlMessage.Opened open(ControlClient c, String user, String password) throws Exception {
        ControlMessage.Authed authed = assertInstanceOf(ControlMessage.Authed.class,
            c.call(new ControlMessage.Auth(c.nextRequestId(), user, password), T));
        ControlMessage.Reply r = c.call(new ControlMessage.Open(c.nextRequestId(), authed.token(), "passthrough",
            Optional.empty(), Map.of(), DESTINATION, List.of(), new Resources(100, 0, 0, 0, -1), Distribution.over(1)),
            T);
        return assertInstanceOf(ControlMessage.Opened.class, r, r.toString());
    }

    /** The sender gives up after two unanswered INITs: the ingress dropped both (auth_failed). */
    private static void refused(ArtpEndpoint sender, ControlMessage.Opened o, byte[] key) {
        CompletableFuture<ArtpConnection> f = sender.connect(o.ingress(), o.sessionId(), key).toCompletableFuture();
        ExecutionException e = assertThrows(ExecutionException.class, () -> f.get(10, TimeUnit.SECONDS));
        assertInstanceOf(ArtpException.class, e.getCause());
        assertTrue(e.getCause().getMessage().contains("no answer to INIT after 2 attempts"), e.getCause().getMessage());
    }

    @Test
    void theOwnersKeyedSenderDeliversAndNobodyElseGetsIn() throws Exception {
        List<String> log = new CopyOnWriteArrayList<>();
        TestUnit unit = new TestUnit("u1", log);
        DistributionCore router = new DistributionCore(new InetSocketAddress("127.0.0.1", 0), "",
            RoundRobinPolicy.NAME, 1 << 20, new TestAggregation(log), ArtpConfig.defaults());
        closing.add(router::stop);
        router.addPolicy(RoundRobinPolicy.NAME, new RoundRobinPolicy(Configs.of(RoundRobinPolicy.Config.class,
            Map.of())));
        router.addUnit(unit);
        ControlFixture control = new ControlFixture(Map.of("alice", "wonder", "bob", "builder"), dir, Map.of(),
            18300, 18349, router);
        closing.add(control);
        ControlClient alice = ControlClient.connect(control.address(), T);
        closing.add(alice);
        ControlClient bob = ControlClient.connect(control.address(), T);
        closing.add(bob);

        ControlMessage.Opened mine = open(alice, "alice", "wonder");
        ControlMessage.Opened bobs = open(bob, "bob", "builder");
        byte[] key = mine.sessionKey().orElseThrow(() -> new AssertionError("OPENED carries the session key"));
        assertEquals(32, key.length);
        SessionInfo info = router.session(new SessionId(mine.sessionId())).orElseThrow();
        assertTrue(info.keyed(), "the control unit opened a keyed session");
        assertEquals(router.ingressAddress(), mine.ingress());

        // (a) the owner's sender, keyed with the key from OPENED, streams
        ArtpConnection owner = endpoint(ArtpConfig.defaults()).connect(mine.ingress(), mine.sessionId(), key)
            .toCompletableFuture().get(5, TimeUnit.SECONDS);
        assertTrue(owner.isKeyed());
        DistributionCoreTest.send(owner, 0, 500, 200);
        owner.close().toCompletableFuture().get(10, TimeUnit.SECONDS);
        DistributionCoreTest.await(() -> DistributionCoreTest.total(info.id(), unit) == 500, "500 datagrams at u1");
        assertEquals(0, router.stats().get("ingress_auth_failed"));

        // (b) a sender that knows the session id but not its key, and one with another session's key
        ArtpEndpoint stranger = endpoint(ArtpConfig.builder().handshakeAttempts(2).build());
        refused(stranger, mine, null);
        refused(stranger, mine, bobs.sessionKey().orElseThrow());
        byte[] flipped = key.clone();
        flipped[31] ^= 1;
        refused(stranger, mine, flipped);
        Map<String, Long> stats = router.stats();
        assertEquals(6, stats.get("ingress_auth_failed"), "3 refused connects x 2 INITs, every one counted");
        assertEquals(1, stats.get("ingress_connections_opened"), "only the owner's sender ever connected");
        assertEquals(500, DistributionCoreTest.total(info.id(), unit), "nothing of theirs reached the unit");
        assertEquals(500, router.session(info.id()).orElseThrow().counters().get("datagrams_in"));
        TestUnit.Channel bobsChannel = unit.channel(new SessionId(bobs.sessionId()));
        assertNotNull(bobsChannel);
        assertEquals(0, bobsChannel.count());

        // the owner can still close it; the final report says keyed
        ControlMessage.Authed a = assertInstanceOf(ControlMessage.Authed.class,
            alice.call(new ControlMessage.Auth(alice.nextRequestId(), "alice", "wonder"), T));
        ControlMessage.Closed closed = assertInstanceOf(ControlMessage.Closed.class,
            alice.call(new ControlMessage.Close(alice.nextRequestId(), a.token(), mine.sessionId()), T));
        assertEquals(500L, closed.counters().get("datagrams_in"));
    }
}
