package io.pando.cluster.impl;

import static io.pando.cluster.impl.TestCluster.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pando.cluster.SessionRecord;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The replicated session directory on three real members. */
class SessionDirectoryTest {

    private static TestCluster cluster;
    private static List<HazelcastCluster> members;

    @BeforeAll
    static void start() throws Exception {
        cluster = new TestCluster(3);
        members = List.of(cluster.start(0), cluster.start(1), cluster.start(2));
        await("3 members", 20_000, () -> members.stream().allMatch(m -> m.members().size() == 3));
    }

    @AfterAll
    static void stop() {
        cluster.close();
    }

    @BeforeEach
    void empty() {
        for (SessionRecord r : members.get(0).list()) {
            members.get(0).remove(r.sessionId());
        }
    }

    private static SessionRecord record(String id, String placedBy, String... units) {
        return new SessionRecord(id, "alice", "aes-gcm-encrypt/1.0.0", List.of(units),
            Map.of("cpu.millis", 200L, "bandwidth.bps", 10_000_000L), placedBy, Instant.parse("2026-11-26T01:00:00Z"));
    }

    @Test
    void aRecordPlacedOnOneMemberIsReadOnEvery() {
        SessionRecord r = record("s-1", "node-a", "node-b.u1", "node-c.u1");
        assertEquals(Optional.empty(), members.get(0).putIfAbsent(r));
        for (HazelcastCluster m : members) {
            assertEquals(r, m.get("s-1").orElseThrow());
        }
        SessionRecord other = record("s-1", "node-c", "node-c.u9");
        assertEquals(Optional.of(r), members.get(2).putIfAbsent(other), "the first placement stays");
        assertEquals(List.of(r), members.get(1).list());
        assertEquals(1, members.get(1).size());
    }

    @Test
    void replaceIsCompareAndSet() {
        SessionRecord r = record("s-2", "node-a", "node-a.u1");
        members.get(0).putIfAbsent(r);
        SessionRecord moved = r.withUnits(List.of("node-b.u2"));
        assertTrue(members.get(1).replace(r, moved));
        assertFalse(members.get(2).replace(r, r.withUnits(List.of("node-c.u3"))), "stale expectation");
        assertEquals(moved, members.get(2).get("s-2").orElseThrow());
        assertThrows(IllegalArgumentException.class, () -> members.get(0).replace(moved, record("s-3", "node-a")));
        assertEquals(Optional.of(moved), members.get(2).remove("s-2"));
        assertEquals(Optional.empty(), members.get(0).get("s-2"));
        assertEquals(Optional.empty(), members.get(0).remove("s-2"));
    }

    @Test
    void concurrentPlacementsFromEveryMemberPlaceEachSessionOnce() throws Exception {
        int sessions = 200;
        int threadsPerMember = 4;
        ExecutorService pool = Executors.newFixedThreadPool(threadsPerMember * members.size());
        Map<String, AtomicInteger> wins = new ConcurrentHashMap<>();
        Map<String, SessionRecord> winners = new ConcurrentHashMap<>();
        CountDownLatch go = new CountDownLatch(1);
        List<Future<?>> done = new ArrayList<>();
        try {
            for (HazelcastCluster m : members) {
                String node = m.localMember().name();
                for (int t = 0; t < threadsPerMember; t++) {
                    String placer = node + "-t" + t;
                    done.add(pool.submit(() -> {
                        go.await();
                        for (int i = 0; i < sessions; i++) {
                            String id = "c-" + i;
                            SessionRecord mine = record(id, placer, placer + ".u" + i);
                            if (m.putIfAbsent(mine).isEmpty()) {
                                wins.computeIfAbsent(id, k -> new AtomicInteger()).incrementAndGet();
                                winners.put(id, mine);
                            }
                        }
                        return null;
                    }));
                }
            }
            go.countDown();
            for (Future<?> f : done) {
                f.get(60, TimeUnit.SECONDS);
            }
        } finally {
            pool.shutdownNow();
        }
        assertEquals(sessions, wins.size(), "every session placed");
        wins.forEach((id, n) -> assertEquals(1, n.get(), id + " placed " + n.get() + " times"));
        for (HazelcastCluster m : members) {
            assertEquals(sessions, m.size());
            for (int i = 0; i < sessions; i++) {
                String id = "c-" + i;
                assertEquals(winners.get(id), m.get(id).orElseThrow(), "the winner's record of " + id);
            }
        }
    }

    @Test
    void recordsSurviveTheLossOfAMember() throws Exception {
        // a 4th member joins for this test and is killed: its records have backups on the others
        TestCluster extra = new TestCluster(1);
        HazelcastCluster d = new HazelcastCluster(new ClusterSettings(members.get(0).settings().clusterName(),
            "node-d", java.util.Set.of(), "127.0.0.1", Integer.parseInt(extra.addresses.get(0).split(":")[1]),
            cluster.addresses, 1, 4, 2, 2, 1, 30, 60, java.util.logging.Level.WARNING, ""), java.time.Clock.systemUTC());
        try {
            await("4 members", 20_000, () -> members.get(0).members().size() == 4);
            for (int i = 0; i < 50; i++) {
                d.putIfAbsent(record("k-" + i, "node-d", "node-d.u1"));
            }
        } finally {
            d.terminate();
        }
        await("3 members", 20_000, () -> members.stream().allMatch(m -> m.members().size() == 3));
        await("records readable", 20_000, () -> members.get(1).size() == 50);
        for (int i = 0; i < 50; i++) {
            assertEquals("node-d", members.get(2).get("k-" + i).orElseThrow().placedBy());
        }
    }
}
