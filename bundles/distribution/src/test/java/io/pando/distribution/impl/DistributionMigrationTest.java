package io.pando.distribution.impl;

import static io.pando.distribution.impl.DistributionCoreTest.await;
import static io.pando.distribution.impl.DistributionCoreTest.request;
import static io.pando.distribution.impl.DistributionCoreTest.send;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pando.api.router.DrainInfo;
import io.pando.api.router.MigrationInfo;
import io.pando.api.router.RouterException;
import io.pando.api.router.SessionInfo;
import io.pando.api.session.SessionId;
import io.pando.api.unit.UnitId;
import io.pando.artp.ArtpConfig;
import io.pando.artp.ArtpConnection;
import io.pando.artp.ArtpEndpoint;
import io.pando.artp.testing.Configs;
import io.pando.link.SessionHandover;
import io.pando.policies.impl.RoundRobinPolicy;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Migration and drain at the distribution unit: a real {@link DistributionCore} with its ARTP ingress and a real
 * sender, over in-memory units that record what they get and hand over what they counted.
 */
class DistributionMigrationTest {

    private static final UnitId U1 = UnitId.of("u1");
    private static final UnitId U2 = UnitId.of("u2");
    private static final UnitId U3 = UnitId.of("u3");

    private final List<String> log = new CopyOnWriteArrayList<>();
    private final List<AutoCloseable> closing = new ArrayList<>();
    private final TestUnit u1 = new TestUnit("u1", log);
    private final TestUnit u2 = new TestUnit("u2", log);
    private final TestUnit u3 = new TestUnit("u3", log);

    @AfterEach
    void closeEverything() throws Exception {
        for (int i = closing.size() - 1; i >= 0; i--) {
            closing.get(i).close();
        }
    }

    private DistributionCore core() {
        DistributionCore core = new DistributionCore(new InetSocketAddress("127.0.0.1", 0), "", RoundRobinPolicy.NAME,
            1 << 20, new TestAggregation(log), ArtpConfig.defaults());
        closing.add(core::stop);
        core.addPolicy(RoundRobinPolicy.NAME, new RoundRobinPolicy(Configs.of(RoundRobinPolicy.Config.class, Map.of())));
        for (TestUnit u : List.of(u1, u2, u3)) {
            core.addUnit(u);
        }
        return core;
    }

    private ArtpConnection connect(SessionInfo info) throws Exception {
        ArtpEndpoint e = ArtpEndpoint.builder().handler((c, d, ctl) -> d.release()).start();
        closing.add(e);
        return e.connect(info.ingress(), info.id().value(), null).toCompletableFuture().get(5, TimeUnit.SECONDS);
    }

    @Test
    void theTargetGetsEveryLaterDatagramAndTheStateInTheRightOrder() throws Exception {
        DistributionCore core = core();
        SessionInfo info = core.createSession(request("m", 1));
        assertEquals(List.of(U1), info.units());
        ArtpConnection sender = connect(info);
        send(sender, 0, 500, 100);
        await(() -> u1.channel(info.id()).count() == 500, "u1 has the first half");
        log.clear();

        MigrationInfo m = core.migrateSession(info.id(), U1, U2);
        assertEquals(List.of("validate u2", "open u2", "open-for-handover u2", "handover u1", "take-over u2",
            "close u1", "closed u1"), List.copyOf(log), "open, switch, hand over, take over, then close the source");
        assertEquals(U1, m.from());
        assertEquals(U2, m.to());
        assertEquals(9, m.stateBytes());
        assertEquals(1, m.timers());
        assertTrue(m.handover().toNanos() > 0);
        SessionHandover h = u2.channel(info.id()).takenOver;
        assertEquals(500, ByteBuffer.wrap(h.state().get("n")).getLong(), "u2 got what u1 counted");

        send(sender, 500, 1_000, 100);
        await(() -> u2.channel(info.id()).count() == 500, "u2 has the second half");
        List<TestUnit.Delivery> second = u2.channel(info.id()).deliveries();
        for (int i = 0; i < 500; i++) {
            assertEquals(500 + i, second.get(i).sequence(), "the ingress sequence goes on");
        }
        assertEquals(500, u1.channel(info.id()).count(), "nothing more went to u1");
        SessionInfo now = core.session(info.id()).orElseThrow();
        assertEquals(List.of(U2), now.units());
        assertEquals(1, now.counters().get("migrations"));
        assertEquals(1, core.stats().get("migrations"));
        assertEquals(0, core.stats().get("migrations_failed"));
    }

    @Test
    void refusalsSayWhyAndChangeNothing() throws Exception {
        DistributionCore core = core();
        SessionInfo one = core.createSession(request("one", 1));
        SessionInfo two = core.createSession(request("two", 2));
        assertEquals(List.of(U2, U3), two.units());
        log.clear();
        assertThrows(NoSuchElementException.class, () -> core.migrateSession(new SessionId(99), U1, U2));
        assertThrows(NoSuchElementException.class, () -> core.migrateSession(one.id(), U1, UnitId.of("u9")));
        assertMessage(IllegalArgumentException.class, "does not serve", () -> core.migrateSession(one.id(), U2, U3));
        assertMessage(IllegalArgumentException.class, "already serves", () -> core.migrateSession(two.id(), U2, U3));
        assertMessage(IllegalArgumentException.class, "both", () -> core.migrateSession(one.id(), U1, U1));
        u2.programs = Set.of("other");
        assertMessage(IllegalArgumentException.class, "lacks the program 'passthrough'",
            () -> core.migrateSession(one.id(), U1, U2));
        u2.programs = Set.of("passthrough");
        u3.migrates = false;
        assertMessage(IllegalArgumentException.class, "cannot hand sessions over",
            () -> core.migrateSession(one.id(), U1, U3));
        assertEquals(List.of(), List.copyOf(log), "nothing was opened or handed over");
        assertEquals(List.of(U1), core.session(one.id()).orElseThrow().units());
        assertEquals(0, core.stats().get("migrations"));
    }

    @Test
    void aSecondMigrationOfTheSessionIsRefusedWhileOneRuns() throws Exception {
        DistributionCore core = core();
        SessionInfo info = core.createSession(request("m", 1));
        u1.handoverGate = new CompletableFuture<>();
        CompletableFuture<MigrationInfo> first = CompletableFuture.supplyAsync(() -> core.migrateSession(info.id(), U1, U2));
        await(() -> log.contains("handover u1"), "the first migration waiting for u1");
        assertMessage(IllegalStateException.class, "already running", () -> core.migrateSession(info.id(), U1, U3));
        u1.handoverGate.complete(null);
        assertEquals(U2, first.get(5, TimeUnit.SECONDS).to());
        assertEquals(U3, core.migrateSession(info.id(), U2, U3).to(), "the next one runs once it is over");
    }

    @Test
    void aFailedHandOverStillLosesNoDatagramAndSaysTheStateWasLost() throws Exception {
        DistributionCore core = core();
        SessionInfo info = core.createSession(request("m", 1));
        u1.handoverFailure = new IllegalStateException("unit u1 has stopped");
        RouterException e = assertThrows(RouterException.class, () -> core.migrateSession(info.id(), U1, U2));
        assertTrue(e.getMessage().contains("WITHOUT its program state") && e.getMessage().contains("has stopped"),
            e.getMessage());
        assertEquals(SessionHandover.EMPTY, u2.channel(info.id()).takenOver, "u2 does not hold datagrams forever");
        assertEquals(List.of(U2), core.session(info.id()).orElseThrow().units());
        assertEquals(1, core.stats().get("migrations_failed"));
    }

    @Test
    void drainMovesEverySessionToTheLeastLoadedUnitAndPlacesNothingNewThere() throws Exception {
        DistributionCore core = core();
        SessionInfo a = core.createSession(request("a", 1));
        SessionInfo b = core.createSession(request("b", 1));
        SessionInfo c = core.createSession(request("c", 1));
        SessionInfo d = core.createSession(request("d", 1));
        assertEquals(List.of(List.of(U1), List.of(U2), List.of(U3), List.of(U1)),
            List.of(a.units(), b.units(), c.units(), d.units()));
        DrainInfo drain = core.drainUnit(U1);
        assertEquals(Map.of(), drain.notMigrated());
        assertEquals(List.of(a.id(), d.id()), drain.migrated().stream().map(MigrationInfo::session).toList());
        assertEquals(Set.of(U2, U3), Set.copyOf(drain.migrated().stream().map(MigrationInfo::to).toList()),
            "each to the least loaded unit at the time");
        for (SessionInfo s : core.sessions()) {
            assertFalse(s.units().contains(U1), s.toString());
        }
        assertMessage(IllegalArgumentException.class, "drained: [u1]", () -> core.createSession(request("e", 3)));
        assertEquals(List.of(U2, U3), core.createSession(request("f", 0)).units(), "every unit that takes sessions");
        assertEquals(1L, core.units().get(0).counters().get("drained"));
        assertEquals(1L, core.stats().get("units_drained"));
        assertThrows(NoSuchElementException.class, () -> core.drainUnit(UnitId.of("u9")));
        assertTrue(core.undrainUnit(U1));
        assertFalse(core.undrainUnit(U1));
        assertEquals(List.of(U1), core.createSession(request("g", 1)).units());
    }

    private static void assertMessage(Class<? extends RuntimeException> type, String part, Runnable call) {
        RuntimeException e = assertThrows(type, call::run);
        assertTrue(e.getMessage().contains(part), e.getMessage());
    }
}
