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
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Migration, drain and the session balancer at the distribution unit: a real {@link DistributionCore} with its
 * ARTP ingress and a real sender, over in-memory units that record what they get, hand over what they counted and
 * report the loads a test sets.
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
        List<SessionInfo> four = fourSessions(core);
        SessionInfo a = four.get(0);
        SessionInfo d = four.get(3);
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

    /** @return sessions a, b, c, d of one unit each, placed on u1, u2, u3, u1 (fewest sessions first) */
    private static List<SessionInfo> fourSessions(DistributionCore core) {
        List<SessionInfo> four = new ArrayList<>();
        for (String name : List.of("a", "b", "c", "d")) {
            four.add(core.createSession(request(name, 1)));
        }
        assertEquals(List.of(List.of(U1), List.of(U2), List.of(U3), List.of(U1)),
            four.stream().map(SessionInfo::units).toList());
        return four;
    }

    // ---- the session balancer

    private static final long SECOND = 1_000_000_000L;
    private static final SessionBalancer.Settings BALANCER = new SessionBalancer.Settings(Duration.ofSeconds(1),
        0.85, 3, 0.1, Duration.ofSeconds(30));

    /** One balancer round {@code t} seconds in, after each session's CPU time grew by its share of a second. */
    private static Optional<MigrationInfo> round(SessionBalancer b, int t, Map<TestUnit.Channel, Double> shares) {
        shares.forEach((c, share) -> c.cpuNanos += (long) (share * SECOND));
        return b.round(t * SECOND);
    }

    @Test
    void theBalancerMovesTheBusiestSessionOffAUnitThatStaysOverloadedAndLosesNothing() throws Exception {
        DistributionCore core = core();
        List<SessionInfo> four = fourSessions(core);
        SessionInfo a = four.get(0);
        SessionInfo d = four.get(3);
        ArtpConnection sender = connect(d);
        send(sender, 0, 300, 100);
        await(() -> u1.channel(d.id()).count() == 300, "u1 has the first part");
        u1.cpu = 0.95;
        u2.cpu = 0.30;
        u3.cpu = 0.10;
        Map<TestUnit.Channel, Double> shares = Map.of(u1.channel(a.id()), 0.2, u1.channel(d.id()), 0.6);
        SessionBalancer b = new SessionBalancer(core, BALANCER);
        assertEquals(Optional.empty(), round(b, 0, shares));
        assertEquals(Optional.empty(), round(b, 1, shares), "overloaded for two rounds: not yet");
        MigrationInfo m = round(b, 2, shares).orElseThrow();
        // d (0.6 of u1) to u3: max(0.95 - 0.6, 0.1 + 0.6) = 0.7; to u2 it would be 0.9, no better than 0.85
        assertEquals(List.of(d.id(), U1, U3), List.of(m.session(), m.from(), m.to()));
        assertEquals(List.of(U1), core.session(a.id()).orElseThrow().units(), "one session per round");
        send(sender, 300, 600, 100);
        await(() -> u3.channel(d.id()).count() == 300, "u3 has the rest");
        assertEquals(300, u1.channel(d.id()).count(), "nothing more to u1");
        List<TestUnit.Delivery> rest = u3.channel(d.id()).deliveries();
        for (int i = 0; i < 300; i++) {
            assertEquals(300 + i, rest.get(i).sequence());
        }
        assertEquals(Optional.empty(), round(b, 3, Map.of()), "the source's count starts again");
        Map<String, Long> c = b.counters();
        assertEquals(1, c.get("balancer_moves"));
        assertEquals(4, c.get("balancer_rounds"));
        assertEquals(0, c.get("balancer_refusals"));
        assertEquals(1, core.stats().get("migrations"));
    }

    @Test
    void theBalancerDoesNotMoveAnOverloadAroundNorActOnASpike() throws Exception {
        DistributionCore core = core();
        SessionInfo a = core.createSession(request("a", 1));
        core.createSession(request("b", 1));
        core.createSession(request("c", 1));
        SessionBalancer b = new SessionBalancer(core, BALANCER);
        u1.cpu = 0.95; // all of it session a: on u2 or u3 it would be as overloaded
        u2.cpu = 0.95; // a spike of two rounds
        Map<TestUnit.Channel, Double> shares = Map.of(u1.channel(a.id()), 0.9);
        for (int t = 0; t < 6; t++) {
            if (t == 2) {
                u2.cpu = 0.1;
            }
            assertEquals(Optional.empty(), round(b, t, shares), "round " + t);
        }
        assertEquals(List.of(U1), core.session(a.id()).orElseThrow().units());
        assertEquals(4, b.counters().get("balancer_overloaded_unmoved"), "u1 from its third round on");
        assertEquals(0, core.stats().get("migrations"));
    }

    @Test
    void theBalancerTriesTheNextTargetWhenTheRouterRefusesOneAndKeepsAMovedSessionWhereItWent() throws Exception {
        DistributionCore core = core();
        List<SessionInfo> four = fourSessions(core);
        SessionInfo a = four.get(0);
        SessionInfo bs = four.get(1);
        SessionInfo c = four.get(2);
        SessionInfo d = four.get(3);
        u3.programs = Set.of("other");
        u1.cpu = 0.95;
        u2.cpu = 0.20;
        u3.cpu = 0.10;
        SessionBalancer b = new SessionBalancer(core, BALANCER);
        Map<TestUnit.Channel, Double> shares = Map.of(u1.channel(a.id()), 0.2, u1.channel(d.id()), 0.5);
        round(b, 0, shares);
        round(b, 1, shares);
        MigrationInfo m = round(b, 2, shares).orElseThrow();
        assertEquals(List.of(d.id(), U2), List.of(m.session(), m.to()), "u3 lacks the program: u2 next");
        assertEquals(1, b.counters().get("balancer_refusals"));

        // now u2 is overloaded, mostly by d, which has just moved and stays: b goes instead
        u3.programs = Set.of("passthrough");
        u1.cpu = 0.45;
        u2.cpu = 0.95;
        Map<TestUnit.Channel, Double> later = Map.of(u2.channel(d.id()), 0.6, u2.channel(bs.id()), 0.3);
        round(b, 3, later);
        round(b, 4, later);
        MigrationInfo n = round(b, 5, later).orElseThrow();
        assertEquals(List.of(bs.id(), U2, U3), List.of(n.session(), n.from(), n.to()),
            "d stays within its cooldown; b goes to the least loaded unit that helps");
        assertEquals(List.of(U2), core.session(d.id()).orElseThrow().units());
        assertEquals(List.of(U3, U3), List.of(core.session(c.id()).orElseThrow().units().get(0),
            core.session(bs.id()).orElseThrow().units().get(0)));
    }

    @Test
    void balancerSettingsOutsideTheirRangesAreRefusedByName() {
        assertMessage(IllegalArgumentException.class, "balancer.overload must be in (0, 1], got 1.5",
            () -> DistributionUnit.balancerSettings(Configs.of(DistributionUnit.Config.class,
                Map.of("balancer_overload", 1.5))));
        assertMessage(IllegalArgumentException.class, "balancer.interval.ms", () -> DistributionUnit.balancerSettings(
            Configs.of(DistributionUnit.Config.class, Map.of("balancer_interval_ms", -1L))));
        assertMessage(IllegalArgumentException.class, "balancer.sustain", () -> DistributionUnit.balancerSettings(
            Configs.of(DistributionUnit.Config.class, Map.of("balancer_sustain", 0))));
        assertMessage(IllegalArgumentException.class, "balancer.margin", () -> DistributionUnit.balancerSettings(
            Configs.of(DistributionUnit.Config.class, Map.of("balancer_margin", 1.0))));
        assertMessage(IllegalArgumentException.class, "balancer.cooldown.s", () -> DistributionUnit.balancerSettings(
            Configs.of(DistributionUnit.Config.class, Map.of("balancer_cooldown_s", 100_000L))));
        SessionBalancer.Settings d = DistributionUnit.balancerSettings(Configs.of(DistributionUnit.Config.class,
            Map.of()));
        assertEquals(SessionBalancer.Settings.DEFAULTS, d);
        assertFalse(DistributionUnit.balancerSettings(Configs.of(DistributionUnit.Config.class,
            Map.of("balancer_interval_ms", 0L))).enabled());
    }

    private static void assertMessage(Class<? extends RuntimeException> type, String part, Runnable call) {
        RuntimeException e = assertThrows(type, call::run);
        assertTrue(e.getMessage().contains(part), e.getMessage());
    }
}
