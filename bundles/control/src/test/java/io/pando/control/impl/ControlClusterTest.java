package io.pando.control.impl;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
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

    /** Node i, reporting unit u(i+1), whose router uses the units u1, u2 and u3 (node-a) or none (the others). */
    private Node node(int i) throws IOException {
        return i == 0 ? node(i, "u1", "u2", "u3") : node(i, new String[0]);
    }

    /** Node i, reporting unit u(i+1), whose router uses these units. */
    private Node node(int i, String... routerUnits) throws IOException {
        HazelcastCluster member = cluster.start(i);
        ClusterNodes.Unit unit = ClusterNodes.unit(member, "u" + (i + 1), 0.1);
        FakeRouter router = new FakeRouter(1000L * (i + 1), routerUnits);
        ClusterControl view = new ClusterControl(member, member, member, member);
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

    private static void awaitRouters(Node n, Map<String, String> routers) throws InterruptedException {
        await(n.member().localMember().name() + " sees the routers " + routers, 20_000,
            () -> n.member().published(ClusterControl.ROUTER_UNITS).equals(routers));
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
        awaitRouters(a, Map.of("node-a", "u1,u2,u3", "node-b", "", "node-c", ""));

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
        synchronized (b.router()) { // node-b's router takes over the units of node-b and node-c
            b.router().units.put(UnitId.of("u2"), 0.1);
            b.router().units.put(UnitId.of("u3"), 0.1);
        }
        awaitRouters(b, Map.of("node-b", "u2,u3", "node-c", ""));

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

    @Test
    void theLeaderPlacesSessionsOnOtherMembersRoutersWhichServeThemOnAfterItDies() throws Exception {
        Node a = node(0, "u1"); // the leader; each node's router uses the node's own unit
        Node b = node(1, "u2");
        Node c = node(2, "u3");
        for (Node n : List.of(a, b, c)) {
            awaitUnits(n, List.of("u1", "u2", "u3"));
        }
        awaitRouters(a, Map.of("node-a", "u1", "node-b", "u2", "node-c", "u3"));
        ControlClient atA = client(a);
        byte[] alice = token(atA, "alice", "wonder");

        // another member's router, the one serving the fewest sessions first: node-b, then node-c
        ControlMessage.Opened s1 = assertInstanceOf(ControlMessage.Opened.class, open(atA, alice, 300, 1));
        ControlMessage.Opened s2 = assertInstanceOf(ControlMessage.Opened.class, open(atA, alice, 300, 1));
        assertEquals(List.of("u2"), s1.units());
        assertEquals(List.of("u3"), s2.units());
        SessionId id1 = new SessionId(s1.sessionId());
        SessionId id2 = new SessionId(s2.sessionId());
        assertTrue(b.router().session(id1).isPresent(), "s1 on node-b's router");
        assertTrue(c.router().session(id2).isPresent(), "s2 on node-c's router");
        assertTrue(a.router().sessions().isEmpty(), "nothing on the leader's router");
        assertArrayEquals(b.router().requests.get(id1).key().orElseThrow().bytes(), s1.sessionKey().orElseThrow(),
            "the owner gets the key node-b's router checks");
        SessionRecord r1 = a.member().get(Long.toUnsignedString(s1.sessionId())).orElseThrow();
        assertEquals("node-b", r1.placedBy());
        assertEquals("alice", r1.owner());
        assertEquals(300L, r1.reservations().get("cpu.millis"));
        assertEquals(List.of(ControlCore.REMOTE, ControlCore.REMOTE), list(atA, alice).stream()
            .map(SessionSummary::state).toList());

        // a refusal of the member's router reaches the user with its reason; the reservation goes with it
        byte[] bob = token(atA, "bob", "builder");
        ControlMessage.Reply noProgram = atA.call(new ControlMessage.Open(atA.nextRequestId(), bob, "no-such",
            Optional.empty(), Map.of(), DEST, List.of(), new Resources(100, 0, 0, 0, -1), Distribution.over(1)), T);
        assertContains(refused(noProgram, RefusalCode.INVALID), "'s router: no active program 'no-such'");
        assertEquals(0, a.control().core.reservations());
        // u2 and u3 have 0.7 free each, u1 1.0: a session of 0.8 can go only to the leader's own router
        ControlMessage.Opened s3 = assertInstanceOf(ControlMessage.Opened.class, open(atA, bob, 800, 1));
        assertTrue(a.router().session(new SessionId(s3.sessionId())).isPresent(), "s3 on node-a's router");
        assertInstanceOf(ControlMessage.Closed.class, close(atA, bob, s3.sessionId()));

        // the leader dies: the sessions on the other routers go on; the next leader knows them and their owner
        await("the directory replicated", 60_000, () -> ClusterNodes.replicated(a.member()));
        a.control().close();
        cluster.kill(a.member());
        await("node-b leads", 20_000, () -> b.member().isLeader());
        assertTrue(b.router().session(id1).isPresent() && c.router().session(id2).isPresent(),
            "both sessions still served");
        ControlClient atB = client(b);
        byte[] again = token(atB, "alice", "wonder");
        List<SessionSummary> hers = list(atB, again);
        assertEquals(List.of(s1.sessionId(), s2.sessionId()), hers.stream().map(SessionSummary::sessionId).toList());
        assertEquals("active", hers.get(0).state(), "served by the new leader's own router");
        assertEquals(ControlCore.REMOTE, hers.get(1).state());
        // the owner closes s2 through the new leader: node-c's router closes it
        ControlMessage.Closed closed = assertInstanceOf(ControlMessage.Closed.class, close(atB, again,
            s2.sessionId()));
        assertEquals(s2.sessionId(), closed.sessionId());
        await("node-c's router closes s2", 10_000, () -> c.router().session(id2).isEmpty());
        // and a new session goes to node-c (the other member), not to the new leader's router
        ControlMessage.Opened s4 = assertInstanceOf(ControlMessage.Opened.class, open(atB, again, 300, 1));
        assertTrue(c.router().session(new SessionId(s4.sessionId())).isPresent(), "s4 on node-c's router");
    }
}
