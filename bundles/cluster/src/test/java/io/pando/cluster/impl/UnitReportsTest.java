package io.pando.cluster.impl;

import static io.pando.cluster.impl.TestCluster.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pando.api.unit.UnitId;
import io.pando.api.unit.UnitLoad;
import io.pando.cluster.UnitReport;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Every node reports its own units; every member sees them all, and loses them when the node goes. */
class UnitReportsTest {

    private static final int INTERVAL = 200;
    private final TestCluster cluster = new TestCluster(3);

    @AfterEach
    void stop() {
        cluster.close();
    }

    private HazelcastCluster start(int i) {
        return cluster.start(cluster.settings(i).withUnitReportMillis(INTERVAL));
    }

    private static List<String> names(HazelcastCluster m) {
        return m.units().stream().map(r -> r.member() + "/" + r.load().unit().value()).toList();
    }

    @Test
    void everyMemberSeesTheLocalUnitsOfEveryNodeOnce() throws Exception {
        HazelcastCluster a = start(0);
        HazelcastCluster b = start(1);
        HazelcastCluster c = start(2);
        TestUnit u1 = new TestUnit("u1", "local");
        a.addUnit(u1);
        a.addUnit(new TestUnit("u2", "local"));
        b.addUnit(new TestUnit("b1", "local"));
        a.addUnit(new TestUnit("b1", "127.0.0.1:17510/17511")); // b's unit as a's remote unit: b reports it
        List<String> all = List.of("node-a/u1", "node-a/u2", "node-b/b1");
        for (HazelcastCluster m : List.of(a, b, c)) {
            await("the three units seen by " + m.settings().memberName(), 20_000, () -> names(m).equals(all));
        }
        assertEquals(Duration.ofMillis(INTERVAL), c.reportInterval());

        UnitReport r = c.units().get(0);
        assertEquals("node-a", r.member());
        assertEquals(a.localMember().id(), r.memberId());
        assertEquals("drr", r.scheduler());
        assertEquals(List.of("aes-gcm-encrypt", "passthrough"), List.copyOf(r.programs()));
        assertEquals(0.25, r.load().cpu());
        assertEquals(4096, r.load().bufferCapacity());

        u1.sessions = 7; // a live load: the next report carries it
        await("u1's new load on node-c", 10_000, () -> c.units().get(0).load().sessions() == 7);
    }

    @Test
    void unitsGoWithTheirUnitAndWithTheirMember() throws Exception {
        HazelcastCluster a = start(0);
        HazelcastCluster b = start(1);
        HazelcastCluster c = start(2);
        TestUnit u2 = new TestUnit("u2", "local");
        a.addUnit(new TestUnit("u1", "local"));
        a.addUnit(u2);
        b.addUnit(new TestUnit("b1", "local"));
        c.addUnit(new TestUnit("c1", "local"));
        await("four units on node-c", 20_000, () -> names(c).size() == 4);

        a.removeUnit(u2); // withdrawn at once, not left to expire
        long t0 = System.nanoTime();
        await("u2 gone on node-c", 2 * INTERVAL, () -> !names(c).contains("node-a/u2"));
        System.out.printf("a removed unit disappeared from another member's view in %.0f ms%n",
            (System.nanoTime() - t0) / 1e6);

        cluster.kill(b); // crash: b's report is neither withdrawn nor refreshed
        await("node-b's unit gone on node-a", 20_000, () -> names(a).equals(List.of("node-a/u1", "node-c/c1")));
        cluster.stop(c); // graceful
        await("node-c's unit gone on node-a", 20_000, () -> names(a).equals(List.of("node-a/u1")));
    }

    @Test
    void aUnitThatCannotReportIsSkippedAndTheOthersStillReport() throws Exception {
        HazelcastCluster a = start(0);
        HazelcastCluster b = start(1);
        TestUnit broken = new TestUnit("u1", "local");
        broken.failure = new IllegalStateException("unit u1 is stopping");
        a.addUnit(broken);
        a.addUnit(new TestUnit("u2", "local"));
        await("u2 reported", 20_000, () -> names(b).equals(List.of("node-a/u2")));
        Thread.sleep(a.reportLifetime().toMillis() + INTERVAL); // u2 refreshed all along, u1 never written
        assertEquals(List.of("node-a/u2"), names(b));
        broken.failure = null;
        await("u1 reports again", 10_000, () -> names(b).equals(List.of("node-a/u1", "node-a/u2")));
    }

    @Test
    void aReportRoundTripsAndCorruptOnesAreRefused() {
        UnitReport r = UnitReport.of("5b0c", "node-a", new UnitLoad(UnitId.of("u1"),
            Instant.parse("2026-11-26T05:00:00.123456789Z"), 0.5, 10, 20, 3, 4), "fifo", Set.of("z", "a"));
        byte[] bytes = Records.encode(r);
        assertEquals(r, Records.decodeUnit(bytes));
        assertEquals(List.of("a", "z"), List.copyOf(Records.decodeUnit(bytes).programs()));

        var truncated = assertThrows(IllegalArgumentException.class,
            () -> Records.decodeUnit(Arrays.copyOf(bytes, bytes.length - 1)));
        assertTrue(truncated.getMessage().contains("truncated"), truncated.getMessage());
        byte[] badLoad = bytes.clone();
        int cpu = 2 + 2 + 4 + 2 + 6 + 2 + 2 + 8 + 4; // type, version, memberId, member, unit, instant
        badLoad[cpu] = 0x40; // cpu 2.0..., outside [0, 1]
        var e = assertThrows(IllegalArgumentException.class, () -> Records.decodeUnit(badLoad));
        assertTrue(e.getMessage().contains("cpu"), e.getMessage());
        var session = assertThrows(IllegalArgumentException.class, () -> Records.decodeSession(bytes));
        assertTrue(session.getMessage().contains("type 3"), session.getMessage());
        var name = assertThrows(IllegalArgumentException.class, () -> UnitReport.of("id", "node a",
            r.load(), "fifo", Set.of()));
        assertTrue(name.getMessage().contains("member must be"), name.getMessage());
    }
}
