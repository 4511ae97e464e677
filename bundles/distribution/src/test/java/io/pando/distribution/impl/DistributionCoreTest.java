package io.pando.distribution.impl;

import io.pando.artp.testing.Configs;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.pando.api.policy.LoadBalancingPolicy;
import io.pando.api.router.PolicyRole;
import io.pando.api.router.RouterException;
import io.pando.api.router.SessionInfo;
import io.pando.api.router.SessionRequest;
import io.pando.api.session.SessionId;
import io.pando.api.session.SessionState;
import io.pando.api.unit.UnitId;
import io.pando.artp.ArtpConfig;
import io.pando.artp.ArtpConnection;
import io.pando.artp.ArtpEndpoint;
import io.pando.artp.ArtpException;
import io.pando.artp.ControlBlock;
import io.pando.artp.ErrorCode;
import io.pando.link.SessionEvents;
import io.pando.policies.impl.RoundRobinPolicy;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The distribution unit as plain Java: a real {@link DistributionCore} with its ARTP ingress on loopback, a real
 * ARTP sender, in-memory units and an aggregation unit whose open() completes.
 */
class DistributionCoreTest {

    private static final InetSocketAddress DESTINATION = new InetSocketAddress("127.0.0.1", 9);

    private final List<String> log = new CopyOnWriteArrayList<>();
    private final List<AutoCloseable> closing = new ArrayList<>();
    private TestAggregation aggregation;

    @AfterEach
    void closeEverything() throws Exception {
        for (int i = closing.size() - 1; i >= 0; i--) {
            closing.get(i).close();
        }
    }

    // ---- fixtures

    private DistributionCore core(ArtpConfig config, TestUnit... units) {
        aggregation = new TestAggregation(log);
        DistributionCore core = new DistributionCore(new InetSocketAddress("127.0.0.1", 0), "", RoundRobinPolicy.NAME,
            1 << 20, aggregation, config);
        closing.add(core::stop);
        core.addPolicy(RoundRobinPolicy.NAME, new RoundRobinPolicy(Configs.of(RoundRobinPolicy.Config.class, Map.of())));
        for (TestUnit u : units) {
            core.addUnit(u);
        }
        return core;
    }

    private TestUnit unit(String id) {
        return new TestUnit(id, log);
    }

    private ArtpEndpoint sender() {
        return sender(ArtpConfig.defaults());
    }

    private ArtpEndpoint sender(ArtpConfig config) {
        ArtpEndpoint e = ArtpEndpoint.builder().config(config).handler((c, d, ctl) -> d.release()).start();
        closing.add(e);
        return e;
    }

    private static ArtpConnection connect(ArtpEndpoint sender, SessionInfo info) throws Exception {
        return sender.connect(info.ingress(), info.id().value(), null).toCompletableFuture().get(5, TimeUnit.SECONDS);
    }

    static SessionRequest request(String name, int units) {
        return new SessionRequest(name, "passthrough", DESTINATION, units, Optional.empty(), Optional.empty(), Map.of());
    }

    static ByteBuf datagram(long index, int size) {
        ByteBuf b = PooledByteBufAllocator.DEFAULT.directBuffer(size);
        b.writeLong(index);
        for (int i = 8; i < size; i++) {
            b.writeByte((int) (index + i));
        }
        return b;
    }

    static ByteBuf control(long marker) {
        ByteBuf b = PooledByteBufAllocator.DEFAULT.directBuffer();
        ControlBlock.writeLong(b, ControlBlock.SYNC, marker);
        ControlBlock.writeEnd(b);
        return b;
    }

    static void send(ArtpConnection c, int from, int to, int size) throws InterruptedException {
        for (int i = from; i < to; i++) {
            c.send(datagram(i, size));
            while (!c.isWritable()) {
                Thread.sleep(1);
            }
        }
    }

    static void await(BooleanSupplier condition, String what) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                fail("timed out waiting for " + what);
            }
            Thread.sleep(1);
        }
    }

    static int total(SessionId id, TestUnit... units) {
        int n = 0;
        for (TestUnit u : units) {
            TestUnit.Channel c = u.channel(id);
            n += c == null ? 0 : c.count();
        }
        return n;
    }

    // ---- the packet path

    @Test
    void datagramsAreNumberedPerSessionAndSplitRoundRobin() throws Exception {
        TestUnit u1 = unit("u1");
        TestUnit u2 = unit("u2");
        DistributionCore core = core(ArtpConfig.defaults(), u1, u2);
        SessionInfo a = core.createSession(request("a", 2));
        SessionInfo b = core.createSession(request("b", 0));
        assertEquals(SessionState.ACTIVE, a.state());
        assertEquals(List.of(u1.id, u2.id), a.units());
        assertEquals(List.of(u1.id, u2.id), b.units(), "0 units: every unit");
        assertEquals(RoundRobinPolicy.NAME, a.loadBalancing());
        assertEquals(core.ingressAddress(), a.ingress());
        ArtpEndpoint sender = sender();
        ArtpConnection ca = connect(sender, a);
        ArtpConnection cb = connect(sender, b);
        int n = 2_000;
        int m = 600;
        Thread tb = new Thread(() -> {
            try {
                send(cb, 0, m, 300);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        tb.start();
        send(ca, 0, n, 100);
        tb.join();
        ca.close().toCompletableFuture().get(10, TimeUnit.SECONDS);
        cb.close().toCompletableFuture().get(10, TimeUnit.SECONDS);
        await(() -> total(a.id(), u1, u2) == n && total(b.id(), u1, u2) == m, "every datagram at a unit");
        checkNumbering(a.id(), n, 100, u1, u2);
        checkNumbering(b.id(), m, 300, u1, u2);
        Map<String, Long> counters = core.session(a.id()).orElseThrow().counters();
        assertEquals(n, counters.get("datagrams_in"));
        assertEquals(100L * n, counters.get("bytes_in"));
        assertEquals(0, counters.get("policy_errors"));
        assertEquals(0, counters.get("pauses"));
        assertEquals(0, counters.get("results_in"), "the aggregation unit's counters are included");
        Map<String, Long> stats = core.stats();
        assertEquals(n + m, stats.get("datagrams_in"));
        assertEquals(0, stats.get("policy_missing"));
        assertEquals(2, stats.get("sessions_open"));
        assertEquals(2, stats.get("ingress_connections_opened"));
    }

    @Test
    void createAnswersWithTheNewSessionsIngressCountersWithoutAskingTheOtherRoles() throws Exception {
        List<TestUnit> units = List.of(unit("u1"), unit("u2"));
        DistributionCore router = core(ArtpConfig.defaults(), units.toArray(new TestUnit[0]));
        SessionInfo info = router.createSession(request("fresh", 2));
        assertEquals(0, aggregation.sessionReads.get(), "no trip to the aggregation unit");
        for (TestUnit u : units) {
            assertEquals(0, u.channel(info.id()).counterReads.get(), () -> "a trip to unit " + u.id);
        }
        assertFalse(info.counters().isEmpty());
        info.counters().forEach((k, v) -> assertEquals(0L, v, () -> k + " of a session nobody reached yet"));
        assertEquals(Map.of(), info.unitCounters());
        assertEquals(Map.of(), info.reorder());
        List<UnitId> ids = units.stream().map(u -> u.id).toList();
        assertEquals(ids, info.units());

        SessionInfo now = router.session(info.id()).orElseThrow(); // every counter, from every role
        assertTrue(now.counters().keySet().containsAll(info.counters().keySet()), now.counters()::toString);
        assertEquals(0, now.counters().get("results_in"));
        assertEquals(Set.copyOf(ids), now.unitCounters().keySet());
        assertEquals(Map.of("out_of_order", 0L), now.reorder());
    }

    @Test
    void theIngressConnectionCapRefusesSendersWithTheReasonCountedAndShown() throws Exception {
        DistributionCore core = core(ArtpConfig.builder().maxConnections(1).build(), unit("u1"));
        SessionInfo a = core.createSession(request("a", 1));
        SessionInfo b = core.createSession(request("b", 1));
        assertEquals(1, core.stats().get("ingress_max_connections"));
        connect(sender(), a);
        CompletionException e = assertThrows(CompletionException.class,
            () -> sender().connect(b.ingress(), b.id().value(), null).toCompletableFuture().join());
        ArtpException refused = (ArtpException) e.getCause();
        assertEquals(ErrorCode.SERVER_BUSY, refused.code());
        assertTrue(refused.getMessage().contains("maximum of 1 connections"), refused.getMessage());
        Map<String, Long> stats = core.stats();
        assertEquals(1, stats.get("ingress_connection_limit"), stats::toString);
        assertEquals(1, stats.get("ingress_connections"), stats::toString);
        assertEquals(10_000, DistributionUnit.artpConfig(10_000).maxConnections);
        IllegalArgumentException bad = assertThrows(IllegalArgumentException.class,
            () -> DistributionUnit.artpConfig(0));
        assertEquals("artp.max.connections must be in [1, 16777216], got 0", bad.getMessage());
    }

    /** Sequences 0..n-1 exactly once over the units, strictly alternating units, every datagram intact. */
    private static void checkNumbering(SessionId id, int n, int size, TestUnit... units) {
        BitSet sequences = new BitSet();
        BitSet indices = new BitSet();
        for (TestUnit u : units) {
            List<TestUnit.Delivery> ds = u.channel(id).deliveries();
            assertEquals(n / units.length, ds.size(), "round robin gives each unit its share");
            long previous = -1;
            for (TestUnit.Delivery d : ds) {
                assertFalse(d.control());
                assertTrue(d.sequence() > previous, "a unit gets its datagrams in ingress order");
                if (previous >= 0) {
                    assertEquals(units.length, d.sequence() - previous, "round robin: every other sequence");
                }
                previous = d.sequence();
                assertFalse(sequences.get((int) d.sequence()), "sequence " + d.sequence() + " twice");
                sequences.set((int) d.sequence());
                long index = ByteBuffer.wrap(d.data()).getLong();
                assertFalse(indices.get((int) index), "datagram " + index + " twice");
                indices.set((int) index);
                assertEquals(size, d.data().length);
                for (int i = 8; i < size; i++) {
                    assertEquals((byte) (index + i), d.data()[i]);
                }
            }
        }
        assertEquals(n, sequences.cardinality());
        assertEquals(n, sequences.nextClearBit(0), "sequences 0..n-1");
        assertEquals(n, indices.cardinality());
    }

    @Test
    void controlDatagramsReachEveryUnitOfTheSession() throws Exception {
        TestUnit u1 = unit("u1");
        TestUnit u2 = unit("u2");
        TestUnit u3 = unit("u3");
        DistributionCore core = core(ArtpConfig.defaults(), u1, u2, u3);
        SessionInfo info = core.createSession(request("ctl", 3));
        ArtpConnection c = connect(sender(), info);
        c.send(datagram(0, 50));
        c.sendControl(control(77));
        c.send(datagram(1, 50));
        c.close().toCompletableFuture().get(10, TimeUnit.SECONDS);
        await(() -> total(info.id(), u1, u2, u3) == 5, "2 datagrams and the control on 3 units");
        byte[] expected = new byte[16];
        ByteBuffer.wrap(expected).putShort((short) ControlBlock.SYNC).putShort((short) 8).putLong(77);
        long controlSequence = -2;
        for (TestUnit u : List.of(u1, u2, u3)) {
            List<TestUnit.Delivery> controls = u.channel(info.id()).deliveries().stream()
                .filter(TestUnit.Delivery::control).toList();
            assertEquals(1, controls.size(), "unit " + u.id + " gets the control datagram");
            assertTrue(Arrays.equals(Arrays.copyOf(expected, 12), Arrays.copyOf(controls.get(0).data(), 12)));
            assertEquals(16, controls.get(0).data().length);
            if (controlSequence == -2) {
                controlSequence = controls.get(0).sequence();
            }
            assertEquals(controlSequence, controls.get(0).sequence(), "the same datagram everywhere");
        }
        assertEquals(1, core.session(info.id()).orElseThrow().counters().get("control_in"));
    }

    @Test
    void controlAProgramSendsGoesToTheOtherUnitsWithoutASequence() throws Exception {
        TestUnit u1 = unit("u1");
        TestUnit u2 = unit("u2");
        TestUnit u3 = unit("u3");
        DistributionCore core = core(ArtpConfig.defaults(), u1, u2, u3);
        SessionInfo info = core.createSession(request("peers", 3));
        u2.events.get(info.id()).control(u2.id, control(5)); // ownership passes
        for (TestUnit u : List.of(u1, u3)) {
            List<TestUnit.Delivery> ds = u.channel(info.id()).deliveries();
            assertEquals(1, ds.size());
            assertTrue(ds.get(0).control());
            assertEquals(io.pando.link.UnitChannel.NO_SEQUENCE, ds.get(0).sequence());
        }
        assertEquals(0, u2.channel(info.id()).count(), "not back to the unit it came from");
    }

    @Test
    void controlAProgramSendsAboutAFlowReachesTheOtherUnitsOnThatFlow() throws Exception {
        TestUnit u1 = unit("u1");
        TestUnit u2 = unit("u2");
        DistributionCore core = core(ArtpConfig.defaults(), u1, u2);
        SessionRequest twoFlows = new SessionRequest("flow-control", "passthrough", DESTINATION, 2, Optional.empty(),
            Optional.empty(), Map.of(), io.pando.api.router.Execution.DEFAULT,
            List.of(new io.pando.api.session.Flow(io.pando.api.session.FlowId.of(7), "video", DESTINATION)));
        SessionInfo info = core.createSession(twoFlows);
        u1.events.get(info.id()).control(u1.id, 7, control(5)); // ownership passes
        List<TestUnit.Delivery> ds = u2.channel(info.id()).deliveries();
        assertEquals(1, ds.size());
        assertTrue(ds.get(0).control());
        assertEquals(7, ds.get(0).flow(), "on the flow the program named");
        assertEquals(0, u1.channel(info.id()).count(), "not back to the unit it came from");
    }

    @Test
    void controlAfterTheSessionClosedIsReleasedNotForwarded() throws Exception {
        TestUnit u1 = unit("u1");
        TestUnit u2 = unit("u2");
        DistributionCore core = core(ArtpConfig.defaults(), u1, u2);
        SessionInfo info = core.createSession(request("late-control", 2));
        SessionEvents events = u1.events.get(info.id());
        core.closeSession(info.id());
        ByteBuf late = control(9);
        events.control(u1.id, late); // u1 was still finishing its last datagram
        assertEquals(0, late.refCnt(), "released");
        assertEquals(0, u2.channel(info.id()).late, "a closed unit channel gets nothing more");
    }

    @Test
    void aSessionWhoseUnitStoppedStillClosesEverywhereElse() throws Exception {
        TestUnit u1 = unit("u1");
        TestUnit u2 = unit("u2");
        DistributionCore core = core(ArtpConfig.defaults(), u1, u2);
        SessionInfo info = core.createSession(request("orphan", 2));
        core.removeUnit(u2);
        u2.stoppedFailure = new java.util.concurrent.RejectedExecutionException("event executor terminated");
        try {
            core.closeSession(info.id());
        } catch (RuntimeException e) {
            // reporting the stopped unit is fine; leaving the rest open is not
        }
        assertTrue(u1.channel(info.id()).closed, "the other unit's channel is closed");
        assertEquals(List.of(info.id()), aggregation.closed, "the egress is closed");
        assertEquals(Optional.empty(), core.session(info.id()));
        assertTrue(core.sessions().isEmpty());
        core.createSession(request("orphan", 1)); // the name is free again
    }

    // ---- keyed sessions

    private static byte[] key(int seed) {
        byte[] k = new byte[32];
        for (int i = 0; i < k.length; i++) {
            k[i] = (byte) (seed * 31 + i);
        }
        return k;
    }

    /** A sender that gives up after two INITs (at 0 and 0.5 s, failing at 1.5 s) instead of six (31.5 s). */
    private ArtpEndpoint impatientSender() {
        return sender(ArtpConfig.builder().handshakeAttempts(2).build());
    }

    /** Connects with {@code key} (null: unkeyed) and expects ARTP to give up: the ingress never answered. */
    private static void refused(ArtpEndpoint sender, SessionInfo info, byte[] key) throws Exception {
        CompletableFuture<ArtpConnection> f = sender.connect(info.ingress(), info.id().value(), key)
            .toCompletableFuture();
        ExecutionException e = assertThrows(ExecutionException.class, () -> f.get(10, TimeUnit.SECONDS));
        assertTrue(e.getCause() instanceof ArtpException, String.valueOf(e.getCause()));
        assertTrue(e.getCause().getMessage().contains("no answer to INIT after 2 attempts"), e.getCause().getMessage());
    }

    @Test
    void aKeyedSessionTakesOnlySendersThatKnowItsKey() throws Exception {
        TestUnit u1 = unit("u1");
        DistributionCore core = core(ArtpConfig.defaults(), u1);
        SessionInfo info = core.createSession(request("keyed", 1).withKey(key(1)));
        assertTrue(info.keyed());
        assertTrue(core.sessions().get(0).keyed());
        long authFailedBefore = core.stats().get("ingress_auth_failed");
        assertEquals(0, authFailedBefore);

        ArtpConnection owner = sender().connect(info.ingress(), info.id().value(), key(1)).toCompletableFuture()
            .get(5, TimeUnit.SECONDS);
        assertTrue(owner.isKeyed());
        send(owner, 0, 300, 120);
        owner.close().toCompletableFuture().get(10, TimeUnit.SECONDS);
        await(() -> total(info.id(), u1) == 300, "the key holder's datagrams at the unit");
        checkAllOnce(info.id(), 300, u1);
        assertEquals(0, core.stats().get("ingress_auth_failed"), "the key holder's packets all authenticate");

        ArtpEndpoint stranger = impatientSender();
        refused(stranger, info, null); // knows the session id, not the key
        assertEquals(2, core.stats().get("ingress_auth_failed"), "both unkeyed INITs dropped and counted");
        refused(stranger, info, key(2)); // another key
        assertEquals(4, core.stats().get("ingress_auth_failed"), "both INITs under the wrong key dropped and counted");

        Map<String, Long> stats = core.stats();
        assertEquals(1, stats.get("ingress_connections_opened"), "only the key holder ever got a connection");
        assertEquals(0, stats.get("ingress_handshake_rejected"), "refused by authentication, not by the acceptor");
        assertEquals(300, total(info.id(), u1), "nothing of theirs reached the unit");
        Map<String, Long> counters = core.session(info.id()).orElseThrow().counters();
        assertEquals(300, counters.get("datagrams_in"));
        assertEquals(0, counters.get("connections"));
        assertTrue(core.closeSession(info.id()).keyed(), "the final report says keyed too");
    }

    @Test
    void anUnkeyedSessionTakesAnySenderButNoKeyedOne() throws Exception {
        TestUnit u1 = unit("u1");
        DistributionCore core = core(ArtpConfig.defaults(), u1);
        SessionInfo info = core.createSession(request("open", 1));
        assertFalse(info.keyed());
        ArtpConnection c = connect(sender(), info);
        assertFalse(c.isKeyed());
        send(c, 0, 10, 50);
        c.close().toCompletableFuture().get(10, TimeUnit.SECONDS);
        await(() -> total(info.id(), u1) == 10, "the unkeyed sender's datagrams");
        refused(impatientSender(), info, key(3)); // a keyed handshake for an unkeyed session is a mismatch
        assertEquals(2, core.stats().get("ingress_auth_failed"));
        assertEquals(10, total(info.id(), u1));
    }

    @Test
    void twoKeyedSessionsDoNotShareKeys() throws Exception {
        TestUnit u1 = unit("u1");
        DistributionCore core = core(ArtpConfig.defaults(), u1);
        SessionInfo a = core.createSession(request("a", 1).withKey(key(5)));
        SessionInfo b = core.createSession(request("b", 1).withKey(key(6)));
        refused(impatientSender(), b, key(5)); // a's key does not open b
        ArtpConnection cb = sender().connect(b.ingress(), b.id().value(), key(6)).toCompletableFuture()
            .get(5, TimeUnit.SECONDS);
        send(cb, 0, 5, 40);
        cb.close().toCompletableFuture().get(10, TimeUnit.SECONDS);
        await(() -> total(b.id(), u1) == 5, "b's own sender");
        assertEquals(0, total(a.id(), u1));
        assertEquals(2, core.stats().get("ingress_auth_failed"));
    }

    // ---- back-pressure

    @Test
    void congestionPausesTheSenderUntilEveryUnitIsClear() throws Exception {
        TestUnit u1 = unit("u1");
        TestUnit u2 = unit("u2");
        DistributionCore core = core(ArtpConfig.builder().datagramWindow(32).build(), u1, u2);
        SessionInfo info = core.createSession(request("cong", 2));
        ArtpEndpoint sender = sender();
        ArtpConnection c = connect(sender, info);
        SessionEvents events = u1.events.get(info.id());
        events.congestion(u1.id, true); // from the test thread, as a unit's thread would
        await(() -> core.session(info.id()).orElseThrow().counters().get("pauses") == 1, "the ingress paused");
        int n = 500;
        for (int i = 0; i < n; i++) {
            c.send(datagram(i, 200));
        }
        Thread.sleep(300);
        int whilePaused = total(info.id(), u1, u2);
        assertTrue(whilePaused <= 32, "no more than the credit advertised before the pause: " + whilePaused);
        assertTrue(c.pendingBytes() > 0, "the sender holds the rest");

        ArtpConnection late = connect(sender, info); // a sender joining a congested session is paused at once
        for (int i = n; i < n + 100; i++) {
            late.send(datagram(i, 200));
        }
        u2.events.get(info.id()).congestion(u2.id, true);
        events.congestion(u1.id, false); // u2 is still congested
        Thread.sleep(300);
        int stillPaused = total(info.id(), u1, u2);
        assertTrue(stillPaused <= 64, "both senders at their credit: " + stillPaused);
        Map<String, Long> counters = core.session(info.id()).orElseThrow().counters();
        assertEquals(1, counters.get("congested_units"));
        assertEquals(2, counters.get("connections"));
        assertEquals(2, counters.get("pauses"));

        u2.events.get(info.id()).congestion(u2.id, false);
        await(() -> total(info.id(), u1, u2) == n + 100, "everything once every unit is clear");
        assertEquals(0, core.session(info.id()).orElseThrow().counters().get("congested_units"));
        assertTrue(core.stats().get("ingress_receive_pauses") >= 2);
        assertEquals(0, core.stats().get("ingress_flow_control"), "the senders kept to their credit");
        c.close().toCompletableFuture().get(10, TimeUnit.SECONDS);
        late.close().toCompletableFuture().get(10, TimeUnit.SECONDS);
        checkAllOnce(info.id(), n + 100, u1, u2);
    }

    private static void checkAllOnce(SessionId id, int n, TestUnit... units) {
        BitSet indices = new BitSet();
        BitSet sequences = new BitSet();
        for (TestUnit u : units) {
            for (TestUnit.Delivery d : u.channel(id).deliveries()) {
                int index = (int) ByteBuffer.wrap(d.data()).getLong();
                assertFalse(indices.get(index), "datagram " + index + " twice");
                indices.set(index);
                sequences.set((int) d.sequence());
            }
        }
        assertEquals(n, indices.cardinality());
        assertEquals(n, sequences.nextClearBit(0));
    }

    // ---- sessions

    @Test
    void createSessionRefusesBadRequestsWithMessagesAndChangesNothing() throws Exception {
        DistributionCore empty = core(ArtpConfig.defaults());
        RouterException none = assertThrows(RouterException.class, () -> empty.createSession(request("x", 1)));
        assertTrue(none.getMessage().startsWith("no unit is running on this node"), none.getMessage());

        TestUnit u1 = unit("u1");
        TestUnit u2 = unit("u2");
        DistributionCore core = core(ArtpConfig.defaults(), u1, u2);
        IllegalArgumentException program = assertThrows(IllegalArgumentException.class,
            () -> core.createSession(new SessionRequest("x", "nope", DESTINATION, 1, Optional.empty(),
                Optional.empty(), Map.of())));
        assertEquals("no active program 'nope' is registered; registered: [passthrough]", program.getMessage());
        IllegalArgumentException many = assertThrows(IllegalArgumentException.class,
            () -> core.createSession(request("x", 3)));
        assertEquals("asked for 3 units; 2 run: [u1, u2]", many.getMessage());
        IllegalArgumentException policy = assertThrows(IllegalArgumentException.class,
            () -> core.createSession(new SessionRequest("x", "passthrough", DESTINATION, 1, Optional.of("magic"),
                Optional.empty(), Map.of())));
        assertEquals("no load-balancing policy 'magic'; registered: [round-robin]", policy.getMessage());
        assertTrue(aggregation.opened.isEmpty(), "bad input is refused before anything is opened");

        SessionInfo a = core.createSession(request("a", 1));
        IllegalArgumentException dup = assertThrows(IllegalArgumentException.class,
            () -> core.createSession(request("a", 1)));
        assertEquals("a session named 'a' is open (id " + a.id() + ")", dup.getMessage());

        aggregation.onOpen = p -> CompletableFuture.failedFuture(
            new IllegalStateException("cannot reach the destination " + p.destination()));
        RouterException unreachable = assertThrows(RouterException.class, () -> core.createSession(request("b", 2)));
        assertEquals("session b refused: cannot reach the destination " + DESTINATION, unreachable.getMessage());
        assertEquals(1, aggregation.closed.size(), "the half-opened egress is closed again");
        aggregation.onOpen = p -> CompletableFuture.completedFuture(null);

        int opensBefore = u1.channels.size() + u2.channels.size();
        u2.openFailure = new IllegalStateException("unit u2: the buffer pool cannot reserve 1048576 bytes");
        RouterException full = assertThrows(RouterException.class, () -> core.createSession(request("c", 2)));
        assertEquals("session c refused: unit u2: the buffer pool cannot reserve 1048576 bytes", full.getMessage());
        assertEquals(opensBefore + 1, u1.channels.size() + u2.channels.size(), "opened on u1 only");
        SessionId c = aggregation.opened.get(aggregation.opened.size() - 1).id();
        assertTrue(u1.channel(c).closed, "and closed there again");
        assertEquals(2, aggregation.closed.size());
        u2.openFailure = null;

        assertEquals(List.of("a"), core.sessions().stream().map(SessionInfo::name).toList());
        assertEquals(1, core.stats().get("sessions_created"));
        ArtpEndpoint sender = sender();
        CompletionException refused = assertThrows(CompletionException.class,
            () -> sender.connect(core.ingressAddress(), c.value(), null).toCompletableFuture().join());
        assertEquals(ErrorCode.UNKNOWN_SESSION, ((ArtpException) refused.getCause()).code(),
            "a refused session takes no sender");
    }

    @Test
    void everyChosenUnitValidatesTheSessionBeforeAnythingOpens() throws Exception {
        TestUnit u1 = unit("u1");
        TestUnit u2 = unit("u2");
        DistributionCore core = core(ArtpConfig.defaults(), u1, u2);
        u1.programs = java.util.Set.of("passthrough", "aes-gcm-encrypt");
        IllegalArgumentException missing = assertThrows(IllegalArgumentException.class,
            () -> core.createSession(new SessionRequest("x", "aes-gcm-encrypt", DESTINATION, 2, Optional.empty(),
                Optional.empty(), Map.of())));
        assertEquals("no active program 'aes-gcm-encrypt' on unit u2; registered: [passthrough]",
            missing.getMessage(), "registered on one unit of the two is not enough");
        u1.validator = parameters -> {
            if (!parameters.containsKey("key")) {
                throw new IllegalArgumentException("aes-gcm-encrypt: parameter 'key' is required");
            }
        };
        IllegalArgumentException rejected = assertThrows(IllegalArgumentException.class,
            () -> core.createSession(new SessionRequest("y", "aes-gcm-encrypt", DESTINATION, 1, Optional.empty(),
                Optional.empty(), Map.of())));
        assertEquals("aes-gcm-encrypt: parameter 'key' is required", rejected.getMessage());
        assertTrue(aggregation.opened.isEmpty(), "nothing opened: " + log);
        assertTrue(u1.channels.isEmpty() && u2.channels.isEmpty());
        assertTrue(core.sessions().isEmpty());
        log.clear();
        SessionInfo ok = core.createSession(new SessionRequest("z", "aes-gcm-encrypt", DESTINATION, 1,
            Optional.empty(), Optional.empty(), Map.of("key", "00")));
        assertEquals(List.of(u1.id), ok.units());
        assertEquals(List.of("validate u1", "aggregation open", "open u1"), log);
    }

    @Test
    void policiesAreSelectedPerRole() throws Exception {
        TestUnit u1 = unit("u1");
        TestUnit u2 = unit("u2");
        DistributionCore core = core(ArtpConfig.defaults(), u1, u2);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
            () -> core.selectPolicy(PolicyRole.LOAD_BALANCING, "magic"));
        assertEquals("no load-balancing policy 'magic'; registered: [round-robin]", e.getMessage());
        core.selectPolicy(PolicyRole.SCHEDULER, "drr");
        assertEquals(List.of("drr"), u1.schedulers);
        assertEquals(List.of("drr"), u2.schedulers);
        core.selectPolicy(PolicyRole.AGGREGATION, "pass-through");
        assertEquals("pass-through", aggregation.strategy());
        assertThrows(IllegalArgumentException.class, () -> core.selectPolicy(PolicyRole.AGGREGATION, "nope"));
        assertEquals(Map.of(PolicyRole.LOAD_BALANCING, "round-robin", PolicyRole.SCHEDULER, "drr",
            PolicyRole.AGGREGATION, "pass-through"), core.selectedPolicies());
        assertEquals(2, core.stats().get("policy_switches"));
    }

    @Test
    void aMissingOrWrongPolicyFallsBackToRoundRobinAndIsCounted() throws Exception {
        TestUnit u1 = unit("u1");
        TestUnit u2 = unit("u2");
        DistributionCore core = core(ArtpConfig.defaults(), u1, u2);
        LoadBalancingPolicy wrong = (d, s, candidates, loads) -> UnitId.of("elsewhere");
        core.addPolicy("wrong", wrong);
        SessionInfo own = core.createSession(new SessionRequest("own", "passthrough", DESTINATION, 2,
            Optional.of("wrong"), Optional.empty(), Map.of()));
        assertEquals("wrong", own.loadBalancing());
        SessionInfo router = core.createSession(request("router", 2));
        ArtpEndpoint sender = sender();
        ArtpConnection c1 = connect(sender, own);
        send(c1, 0, 100, 64);
        c1.close().toCompletableFuture().get(10, TimeUnit.SECONDS);
        await(() -> total(own.id(), u1, u2) == 100, "every datagram of 'own'");
        assertEquals(50, u1.channel(own.id()).count(), "the fallback still spreads evenly");
        assertEquals(100, core.session(own.id()).orElseThrow().counters().get("policy_errors"));

        core.selectPolicy(PolicyRole.LOAD_BALANCING, "wrong");
        core.removePolicy("wrong", wrong); // the selected policy goes away
        ArtpConnection c2 = connect(sender, router);
        send(c2, 0, 100, 64);
        c2.close().toCompletableFuture().get(10, TimeUnit.SECONDS);
        await(() -> total(router.id(), u1, u2) == 100, "every datagram of 'router'");
        assertEquals(50, u2.channel(router.id()).count());
        assertEquals(100, core.stats().get("policy_missing"));
    }

    @Test
    void closeSessionDrainsInOrderAndReportsTheSession() throws Exception {
        TestUnit u1 = unit("u1");
        TestUnit u2 = unit("u2");
        DistributionCore core = core(ArtpConfig.defaults(), u1, u2);
        SessionInfo info = core.createSession(request("drain", 2));
        ArtpEndpoint sender = sender();
        ArtpConnection c = connect(sender, info);
        int n = 1_000;
        send(c, 0, n, 500); // no close: the router closes the sender's connection
        await(() -> c.pendingBytes() == 0, "the ingress acknowledged everything");
        log.clear();
        SessionInfo last = core.closeSession(info.id());
        assertEquals(SessionState.CLOSED, last.state());
        assertEquals(n, total(info.id(), u1, u2), "everything acknowledged reached a unit");
        assertEquals(0, u1.channel(info.id()).late + u2.channel(info.id()).late, "nothing after a unit's close");
        checkAllOnce(info.id(), n, u1, u2);
        // the units close after the ingress stopped, the egress after every unit drained
        assertEquals("aggregation close", log.get(log.size() - 1), log::toString);
        assertEquals(List.of("close u1", "close u2"), log.subList(0, 2), log::toString);
        assertTrue(log.indexOf("closed u1") < log.indexOf("aggregation close"));
        assertTrue(log.indexOf("closed u2") < log.indexOf("aggregation close"));
        assertEquals(n, last.counters().get("datagrams_in"));
        assertEquals(500L * n, last.counters().get("bytes_in"));
        assertEquals(42, last.counters().get("datagrams_out"), "the egress's final counters");
        assertEquals(Map.of(u1.id, Map.of("datagrams_in", (long) n / 2), u2.id, Map.of("datagrams_in", (long) n / 2)),
            last.unitCounters());
        assertEquals(Map.of("out_of_order", 0L), last.reorder());
        await(() -> c.state() == io.pando.artp.ConnectionState.CLOSED, "the sender's connection closed");

        assertEquals(Optional.empty(), core.session(info.id()));
        assertTrue(core.sessions().isEmpty());
        NoSuchElementException again = assertThrows(NoSuchElementException.class, () -> core.closeSession(info.id()));
        assertEquals("no session " + info.id(), again.getMessage());
        CompletionException refused = assertThrows(CompletionException.class,
            () -> sender.connect(core.ingressAddress(), info.id().value(), null).toCompletableFuture().join());
        assertEquals(ErrorCode.UNKNOWN_SESSION, ((ArtpException) refused.getCause()).code());
        assertEquals(1, core.stats().get("sessions_closed"));
        SessionInfo reused = core.createSession(request("drain", 1));
        assertEquals("drain", reused.name(), "a closed session's name is free again");
    }

    @Test
    void closingASessionWhileItsSenderSendsLosesNothingTheSenderHadQueued() throws Exception {
        TestUnit u1 = unit("u1");
        TestUnit u2 = unit("u2");
        DistributionCore core = core(ArtpConfig.defaults(), u1, u2);
        SessionInfo info = core.createSession(request("live", 2));
        // a short send queue: what the sender still holds when the router closes is drained, and that is quick
        ArtpConnection c = connect(sender(ArtpConfig.builder().sendWaterMarks(16 << 10, 64 << 10).build()), info);
        int[] accepted = {0};
        Thread sending = new Thread(() -> {
            for (int i = 0; ; i++) {
                try {
                    c.send(datagram(i, 300));
                } catch (IllegalStateException closed) {
                    return; // the router closed the connection: the datagram was released
                }
                accepted[0] = i + 1;
                if (i % 64 == 0) {
                    Thread.yield();
                }
                while (!c.isWritable() && c.state() == io.pando.artp.ConnectionState.ESTABLISHED) {
                    try {
                        Thread.sleep(1);
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            }
        });
        sending.start();
        await(() -> total(info.id(), u1, u2) > 2_000, "traffic");
        long t0 = System.nanoTime();
        SessionInfo last = core.closeSession(info.id());
        long tookMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
        sending.join(10_000);
        assertFalse(sending.isAlive());
        assertTrue(tookMillis < 5_000, "an orderly close, not a timeout: " + tookMillis + " ms");
        int n = accepted[0];
        assertEquals(n, total(info.id(), u1, u2), "every datagram the sender queued before the close");
        assertEquals(n, last.counters().get("datagrams_in"));
        checkAllOnce(info.id(), n, u1, u2);
        assertEquals(0, u1.channel(info.id()).late + u2.channel(info.id()).late);
    }

    // ---- flows

    static SessionRequest twoFlows(String name, int units) {
        return new SessionRequest(name, "passthrough", DESTINATION, units, Optional.empty(), Optional.empty(),
            Map.of(), io.pando.api.router.Execution.DEFAULT, List.of(
                new io.pando.api.session.Flow(io.pando.api.session.FlowId.of(1), "audio",
                    new InetSocketAddress("127.0.0.1", 11)),
                new io.pando.api.session.Flow(io.pando.api.session.FlowId.of(7), "video",
                    new InetSocketAddress("127.0.0.1", 12))));
    }

    /** A flow datagram (docs/artp.md 9.3) of {@code flow} carrying datagram {@code index}. */
    static ByteBuf flowDatagram(long flow, long index, int size) {
        ByteBuf b = PooledByteBufAllocator.DEFAULT.directBuffer(ControlBlock.FLOW_PREFIX + size);
        ControlBlock.writeFlowPrefix(b, flow);
        ByteBuf d = datagram(index, size);
        b.writeBytes(d);
        d.release();
        return b;
    }

    @Test
    void flowDatagramsAreDataOfTheirFlowNumberedWithTheRest() throws Exception {
        TestUnit u1 = unit("u1");
        TestUnit u2 = unit("u2");
        DistributionCore core = core(ArtpConfig.defaults(), u1, u2);
        SessionInfo info = core.createSession(twoFlows("flows", 2));
        assertEquals(List.of(0L, 1L, 7L), aggregation.opened.get(0).flows().stream().map(f -> f.id().value()).toList(),
            "the plan carries the request's flows, flow 0 added");
        ArtpConnection c = connect(sender(), info);
        int n = 300;
        for (int i = 0; i < n; i++) {
            switch (i % 3) {
                case 0 -> c.send(datagram(i, 40));
                case 1 -> c.sendControl(flowDatagram(1, i, 40));
                default -> c.sendControl(flowDatagram(7, i, 40));
            }
            while (!c.isWritable()) {
                Thread.sleep(1);
            }
        }
        c.sendControl(flowDatagram(5, 10_000, 40)); // a flow the session lacks
        c.sendControl(flowDatagram(0, n, 40)); // flow 0 tagged explicitly: still flow 0
        ByteBuf aboutVideo = PooledByteBufAllocator.DEFAULT.directBuffer();
        ControlBlock.writeLong(aboutVideo, ControlBlock.SYNC, 3);
        aboutVideo.writeShort(ControlBlock.FLOW).writeShort(4).writeInt(7);
        ControlBlock.writeEnd(aboutVideo);
        c.sendControl(aboutVideo);
        ByteBuf aboutUnknown = PooledByteBufAllocator.DEFAULT.directBuffer();
        aboutUnknown.writeShort(ControlBlock.FLOW).writeShort(4).writeInt(9);
        ControlBlock.writeEnd(aboutUnknown);
        aboutUnknown.writeLong(1);
        c.sendControl(aboutUnknown);
        c.sendControl(control(4)); // no FLOW field: about flow 0
        c.close().toCompletableFuture().get(10, TimeUnit.SECONDS);
        await(() -> total(info.id(), u1, u2) == n + 1 + 2 * 2, "data on one unit, control on both");
        BitSet sequences = new BitSet();
        Map<Long, Long> controlFlows = new java.util.TreeMap<>();
        for (TestUnit u : List.of(u1, u2)) {
            for (TestUnit.Delivery d : u.channel(info.id()).deliveries()) {
                if (d.control()) {
                    controlFlows.merge(d.flow(), 1L, Long::sum);
                    continue;
                }
                assertEquals(40, d.data().length, "the flow prefix is gone");
                long index = ByteBuffer.wrap(d.data()).getLong();
                assertEquals(index == n ? 0 : new long[] {0, 1, 7}[(int) (index % 3)], d.flow(), "datagram " + index);
                for (int i = 8; i < 40; i++) {
                    assertEquals((byte) (index + i), d.data()[i]);
                }
                assertFalse(sequences.get((int) d.sequence()));
                sequences.set((int) d.sequence());
            }
        }
        assertEquals(n + 1, sequences.cardinality());
        assertEquals(n + 1, sequences.nextClearBit(0), "one sequence over every flow");
        assertEquals(Map.of(0L, 2L, 7L, 2L), controlFlows, "control information about the flow its FLOW names");
        Map<String, Long> counters = core.session(info.id()).orElseThrow().counters();
        assertEquals(2, counters.get("unknown_flow"));
        assertEquals(n / 3 + 1 + 1, counters.get("flow_0_datagrams_in"));
        assertEquals(n / 3, counters.get("flow_1_datagrams_in"));
        assertEquals(n / 3 + 1, counters.get("flow_7_datagrams_in"));
        assertEquals(n + 1 + 2, counters.get("datagrams_in"));
        assertEquals(2, counters.get("control_in"));
        assertEquals(2, core.stats().get("unknown_flow"));
        assertEquals(List.of(0L, 1L, 7L), core.closeSession(info.id()).counters().keySet().stream()
            .filter(k -> k.startsWith("flow_")).map(k -> Long.parseLong(k.split("_")[1])).sorted().toList());
    }

    @Test
    void aSingleFlowSessionTakesNoFlowDatagramOfAnotherFlow() throws Exception {
        TestUnit u1 = unit("u1");
        DistributionCore core = core(ArtpConfig.defaults(), u1);
        SessionInfo info = core.createSession(request("one", 1));
        ArtpConnection c = connect(sender(), info);
        c.sendControl(flowDatagram(1, 1, 20));
        c.send(datagram(2, 20));
        c.close().toCompletableFuture().get(10, TimeUnit.SECONDS);
        await(() -> total(info.id(), u1) == 1, "the flow 0 datagram");
        Thread.sleep(50);
        assertEquals(1, total(info.id(), u1));
        assertEquals(0, u1.channel(info.id()).deliveries().get(0).flow());
        Map<String, Long> counters = core.session(info.id()).orElseThrow().counters();
        assertEquals(1, counters.get("unknown_flow"));
        assertFalse(counters.containsKey("flow_0_datagrams_in"), "per-flow counters only with several flows");
    }
}
