package io.pando.control.impl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.pando.api.session.SessionId;
import io.pando.api.unit.UnitId;
import io.pando.artp.ArtpException;
import io.pando.artp.testing.Configs;
import io.pando.cluster.SessionRecord;
import io.pando.cluster.impl.ClusterNodes;
import io.pando.cluster.impl.HazelcastCluster;
import io.pando.control.protocol.ControlClient;
import io.pando.control.protocol.ControlMessage;
import io.pando.control.protocol.Distribution;
import io.pando.control.protocol.RefusalCode;
import io.pando.control.protocol.Resources;
import io.pando.control.protocol.SessionSummary;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import javax.security.auth.login.Configuration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The control unit on a cluster of three real members (embedded Hazelcast on loopback, ports 18500-18539), each node
 * with its own control endpoint (real ARTP on loopback, ports 18540-18599) and its own router (a {@link FakeRouter}
 * that knows the units u1, u2 and u3, reported to the cluster by node-a, node-b and node-c): only the leader answers,
 * sessions, owners and reservations live in the cluster's session directory, admission counts them against every
 * node's unit reports, and a new leader carries on when the old one dies.
 */
class ControlClusterTest {

    private static final AtomicInteger NEXT_PORT = new AtomicInteger(18540);
    private static final Duration T = Duration.ofSeconds(10);
    private static final InetSocketAddress DEST = new InetSocketAddress("127.0.0.1", 9000);

    @TempDir
    Path dir;

    private final ClusterNodes cluster = new ClusterNodes(3);
    private final List<AutoCloseable> toClose = new ArrayList<>();

    /** One node: its cluster member, its router and its control unit. */
    private record Node(HazelcastCluster member, FakeRouter router, ControlServer.Running control,
        ClusterNodes.Unit unit) {
    }

    @AfterEach
    void stop() throws Exception {
        for (AutoCloseable c : toClose) {
            try {
                c.close();
            } catch (RuntimeException e) {
                // closed already
            }
        }
        cluster.close();
    }

    private Configuration jaas() throws IOException {
        return PropertiesLoginModule.everyRealm(Files.writeString(dir.resolve("users.properties"),
            "alice = wonder\nbob = builder\n"));
    }

    private Node node(int i) throws IOException {
        HazelcastCluster member = cluster.start(i);
        ClusterNodes.Unit unit = ClusterNodes.unit(member, "u" + (i + 1), 0.1);
        FakeRouter router = new FakeRouter(1000L * (i + 1), "u1", "u2", "u3");
        ClusterControl view = new ClusterControl(member, member, member);
        Configuration jaas = jaas();
        while (true) {
            Map<String, Object> c = new HashMap<>();
            c.put("port", NEXT_PORT.getAndIncrement());
            c.put("user_quotas", new String[] {"alice=sessions:2,cpus:2.0"});
            if ((int) c.get("port") > 18599) {
                throw new IllegalStateException("no free port in 18540-18599");
            }
            try {
                ControlServer.Running control = ControlServer.start(Configs.of(ControlServer.Config.class, c), jaas,
                    () -> router, null, null, () -> view, Clock.systemUTC());
                toClose.add(control);
                return new Node(member, router, control, unit);
            } catch (ArtpException e) {
                // port in use: the next
            }
        }
    }

    private ControlClient client(Node n) throws Exception {
        ControlClient c = ControlClient.connect(n.control().address(), T);
        toClose.add(c);
        return c;
    }

    private static ControlMessage.Reply auth(ControlClient c, String user, String password) throws Exception {
        return c.call(new ControlMessage.Auth(c.nextRequestId(), user, password), T);
    }

    private static byte[] token(ControlClient c, String user, String password) throws Exception {
        ControlMessage.Reply r = auth(c, user, password);
        return assertInstanceOf(ControlMessage.Authed.class, r, r.toString()).token();
    }

    private static ControlMessage.Reply open(ControlClient c, byte[] token, int milliCpus, int k) throws Exception {
        return c.call(new ControlMessage.Open(c.nextRequestId(), token, "passthrough", Optional.empty(), Map.of(),
            DEST, List.of(), new Resources(milliCpus, 0, 0, 0, -1), Distribution.over(k)), T);
    }

    private static List<SessionSummary> list(ControlClient c, byte[] token) throws Exception {
        ControlMessage.Reply r = c.call(new ControlMessage.ListSessions(c.nextRequestId(), token), T);
        return assertInstanceOf(ControlMessage.ListResult.class, r, r.toString()).sessions();
    }

    private static ControlMessage.Reply close(ControlClient c, byte[] token, long session) throws Exception {
        return c.call(new ControlMessage.Close(c.nextRequestId(), token, session), T);
    }

    private static String refused(ControlMessage.Reply r, RefusalCode code) {
        ControlMessage.Refused refused = assertInstanceOf(ControlMessage.Refused.class, r, r.toString());
        assertEquals(code, refused.code(), refused.reason());
        return refused.reason();
    }

    private static void assertContains(String text, String part) {
        assertTrue(text.contains(part), "'" + part + "' not in: " + text);
    }

    private static void await(String what, long millis, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + millis * 1_000_000;
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                fail("timed out after " + millis + " ms waiting for: " + what);
            }
            Thread.sleep(20);
        }
    }

    private static void awaitUnits(Node n, List<String> units) throws InterruptedException {
        await(n.member().localMember().name() + " sees the units " + units, 20_000,
            () -> n.member().units().stream().map(u -> u.load().unit().value()).toList().equals(units));
    }

    @Test
    void theLeaderAdmitsOthersRefuseAndTheNextLeaderKnowsEverySession() throws Exception {
        Node a = node(0); // the oldest member: the leader
        Node b = node(1);
        Node c = node(2);
        ClusterNodes.unit(c.member(), "u4", 0.1); // a unit of node-c that no router uses
        for (Node n : List.of(a, b, c)) {
            awaitUnits(n, List.of("u1", "u2", "u3", "u4"));
        }
        assertTrue(a.member().isLeader());

        // not the leader: refused with the reason, naming the leader; tokens are the leader's alone
        ControlClient atB = client(b);
        String notLeader = refused(auth(atB, "alice", "wonder"), RefusalCode.NOT_LEADER);
        assertContains(notLeader, "node-b is not the cluster leader; the leader is node-a (127.0.0.1:");

        // the leader admits against every node's reports and records owner, placement and reservation
        ControlClient atA = client(a);
        byte[] aliceAtA = token(atA, "alice", "wonder");
        ControlMessage.Opened s1 = assertInstanceOf(ControlMessage.Opened.class, open(atA, aliceAtA, 600, 1));
        assertEquals(List.of("u1"), s1.units());
        SessionRecord r1 = c.member().get(Long.toUnsignedString(s1.sessionId())).orElseThrow(
            () -> new AssertionError("s1 is not in the directory as node-c sees it"));
        assertEquals("alice", r1.owner());
        assertEquals("node-a", r1.placedBy());
        assertEquals(List.of("u1"), r1.units());
        assertEquals(600L, r1.reservations().get("cpu.millis"));
        assertEquals(s1.name(), r1.attributes().get("name"));
        assertEquals("127.0.0.1:7400", r1.attributes().get("ingress"));

        byte[] bobAtA = token(atA, "bob", "builder");
        String full = refused(open(atA, bobAtA, 600, 3), RefusalCode.CAPACITY);
        assertContains(full, "u1 0.400 free of 1.000");
        assertContains(full, "u4 (on node-c) is not used by node-a's router");
        c.unit().cpu = 0.99; // node-c reports u3 overloaded
        await("u3 overloaded in node-a's view", 10_000, () -> a.member().units().stream()
            .anyMatch(u -> u.load().unit().value().equals("u3") && u.load().cpu() > 0.9));
        assertContains(refused(open(atA, bobAtA, 100, 3), RefusalCode.CAPACITY), "u3 is overloaded (CPU 0.99)");
        c.unit().cpu = 0.1;
        await("u3 back to normal in node-a's view", 10_000, () -> a.member().units().stream()
            .allMatch(u -> u.load().cpu() < 0.5));

        ControlMessage.Opened s2 = assertInstanceOf(ControlMessage.Opened.class, open(atA, aliceAtA, 500, 2));
        assertEquals(List.of("u2", "u3"), s2.units());
        assertEquals(2, c.member().size());

        // records written before the engine has given every partition its backup (it moves them for some seconds
        // after members join) live on one member only: the test kills the leader once they are replicated
        await("the directory replicated", 60_000, () -> ClusterNodes.replicated(a.member()));
        // the leader dies: its member, its control unit and its router (the sessions it served go with it)
        a.control().close();
        cluster.kill(a.member());
        long t0 = System.nanoTime();
        await("node-b leads", 20_000, () -> b.member().isLeader());
        assertEquals(2, b.member().size(), "s1, s2 and nothing else in the directory after the leader died");
        System.out.printf("node-b leads %.0f ms after node-a was killed%n", (System.nanoTime() - t0) / 1e6);
        awaitUnits(b, List.of("u2", "u3", "u4"));
        for (Node n : List.of(b, c)) { // as a router drops the remote unit of a node that died
            synchronized (n.router()) {
                n.router().units.remove(UnitId.of("u1"));
            }
        }

        // the new leader: the old tokens are unknown (per leader); alice authenticates again and finds both sessions
        refused(atB.call(new ControlMessage.ListSessions(atB.nextRequestId(), aliceAtA), T),
            RefusalCode.TOKEN_INVALID);
        byte[] alice = token(atB, "alice", "wonder");
        List<SessionSummary> hers = list(atB, alice);
        assertEquals(List.of(s1.sessionId(), s2.sessionId()), hers.stream().map(SessionSummary::sessionId).toList());
        SessionSummary l1 = hers.get(0);
        assertEquals(ControlCore.LOST, l1.state(), "node-a, whose router served it, left");
        assertEquals(s1.name(), l1.name());
        assertEquals(s1.ingress(), l1.ingress());
        assertEquals(List.of("u1"), l1.units());
        assertEquals(600, l1.milliCpus());
        assertEquals(new Distribution(Distribution.Mode.SPREAD, 2), hers.get(1).distribution());

        // quotas and capacity still count them
        assertContains(refused(open(atB, alice, 100, 1), RefusalCode.QUOTA),
            "quota: alice has 2 open session(s), the quota is 2");
        byte[] bob = token(atB, "bob", "builder");
        assertContains(refused(open(atB, bob, 600, 1), RefusalCode.CAPACITY), "u2 0.500 free of 1.000");
        // and nobody else sees or closes them
        assertEquals(List.of(), list(atB, bob));
        assertContains(refused(close(atB, bob, s1.sessionId()), RefusalCode.NOT_YOURS), "not your session");

        // the owner closes the old leader's session through the new leader: its reservation is released
        ControlMessage.Closed closed = assertInstanceOf(ControlMessage.Closed.class, close(atB, alice,
            s1.sessionId()));
        assertEquals(Map.of(), closed.counters(), "the router that served it is gone: nothing to count");
        assertEquals(List.of(s2.sessionId()), list(atB, alice).stream().map(SessionSummary::sessionId).toList());
        ControlMessage.Opened s3 = assertInstanceOf(ControlMessage.Opened.class, open(atB, alice, 400, 1));
        assertTrue(b.router().session(new SessionId(s3.sessionId())).isPresent(), "served by node-b's router");
        assertEquals(List.of("u2"), s3.units(), "u2 and u3 have 0.5 free each; the router takes u2 (by id)");
        assertEquals("node-b", c.member().get(Long.toUnsignedString(s3.sessionId())).orElseThrow().placedBy());

        // a node that is not the leader names the new one
        ControlClient atC = client(c);
        assertContains(refused(auth(atC, "alice", "wonder"), RefusalCode.NOT_LEADER), "the leader is node-b");

        // a session whose record goes (closed through another leader) is closed by the router that serves it
        c.member().remove(Long.toUnsignedString(s3.sessionId()));
        await("node-b's router closes s3", 10_000, () -> b.router().session(new SessionId(s3.sessionId())).isEmpty());

        // node-c alone has no quorum (2 of 3): it admits nothing and says why
        b.control().close();
        cluster.kill(b.member());
        await("node-c without quorum", 20_000, () -> !c.member().hasQuorum());
        assertContains(refused(auth(atC, "alice", "wonder"), RefusalCode.NOT_LEADER),
            "no quorum, node-c sees 1 of the 2 members needed");
    }
}
