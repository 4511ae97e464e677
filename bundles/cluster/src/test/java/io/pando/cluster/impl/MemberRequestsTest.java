package io.pando.cluster.impl;

import static io.pando.cluster.impl.TestCluster.await;
import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pando.cluster.MemberRequests;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Requests between real members (three in this JVM, on loopback) and the values each publishes. */
class MemberRequestsTest {

    private static final Duration T = Duration.ofSeconds(10);
    private final TestCluster cluster = new TestCluster(3);

    @AfterEach
    void stop() {
        cluster.close();
    }

    private static Throwable failure(CompletableFuture<byte[]> f) {
        ExecutionException e = assertThrows(ExecutionException.class, () -> f.get(20, TimeUnit.SECONDS));
        return e.getCause();
    }

    @Test
    void aMemberAnswersAnotherAndItselfAndFailuresSayWhy() throws Exception {
        HazelcastCluster a = cluster.start(0);
        HazelcastCluster b = cluster.start(1);
        await("two members", 20_000, () -> a.members().size() == 2 && b.members().size() == 2);
        try (AutoCloseable served = b.serve("echo", body -> ("b:" + new String(body, UTF_8)).getBytes(UTF_8));
            AutoCloseable failing = b.serve("fail", body -> {
                throw new IllegalArgumentException("no such program");
            })) {
            assertArrayEquals("b:hello".getBytes(UTF_8), a.request("node-b", "echo", "hello".getBytes(UTF_8), T)
                .get(20, TimeUnit.SECONDS));
            assertArrayEquals("b:self".getBytes(UTF_8), b.request("node-b", "echo", "self".getBytes(UTF_8), T)
                .get(20, TimeUnit.SECONDS), "a member may ask itself");
            byte[] big = new byte[MemberRequests.MAX_BYTES - 2];
            assertEquals(MemberRequests.MAX_BYTES, a.request("node-b", "echo", big, T).get(20, TimeUnit.SECONDS)
                .length);

            Throwable failed = failure(a.request("node-b", "fail", new byte[0], T));
            assertInstanceOf(IllegalStateException.class, failed);
            assertEquals("node-b: fail failed: no such program", failed.getMessage());
            Throwable unserved = failure(a.request("node-b", "nothing", new byte[0], T));
            assertEquals("node-b serves no nothing", unserved.getMessage());
            Throwable tooLongAnswer = failure(a.request("node-b", "echo", new byte[MemberRequests.MAX_BYTES], T));
            assertTrue(tooLongAnswer.getMessage().contains("more than " + MemberRequests.MAX_BYTES),
                tooLongAnswer.getMessage());
            Throwable tooLong = failure(a.request("node-b", "echo", new byte[MemberRequests.MAX_BYTES + 1], T));
            assertInstanceOf(IllegalArgumentException.class, tooLong);
            Throwable nobody = failure(a.request("node-z", "echo", new byte[0], T));
            assertEquals("no member node-z in the cluster as node-a sees it", nobody.getMessage());
            assertThrows(IllegalArgumentException.class, () -> a.request("node-b", "with space", new byte[0], T));
            assertThrows(IllegalStateException.class, () -> b.serve("echo", body -> body),
                "one handler per topic per member");
        }
        Throwable closed = failure(a.request("node-b", "echo", new byte[0], T));
        assertEquals("node-b serves no echo", closed.getMessage(), "closing the registration ends it");
    }

    @Test
    void aSlowOrDeadMemberTimesOut() throws Exception {
        HazelcastCluster a = cluster.start(0);
        HazelcastCluster b = cluster.start(1);
        await("two members", 20_000, () -> a.members().size() == 2);
        CountDownLatch release = new CountDownLatch(1);
        try (AutoCloseable slow = b.serve("slow", body -> {
            try {
                release.await(30, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return body;
        })) {
            long t0 = System.nanoTime();
            Throwable late = failure(a.request("node-b", "slow", new byte[0], Duration.ofMillis(300)));
            long ms = (System.nanoTime() - t0) / 1_000_000;
            assertInstanceOf(TimeoutException.class, late);
            assertEquals("node-b did not answer slow within 300 ms", late.getMessage());
            assertTrue(ms >= 300 && ms < 5_000, ms + " ms");
            release.countDown();
            // the late answer finds nobody waiting: nothing breaks, and the next request is answered
            assertArrayEquals(new byte[] {7}, a.request("node-b", "slow", new byte[] {7}, T).get(20, TimeUnit.SECONDS));
        }
        try (AutoCloseable echo = b.serve("echo", body -> body)) {
            cluster.kill(b);
            Throwable gone = failure(a.request("node-b", "echo", new byte[0], Duration.ofSeconds(1)));
            assertTrue(gone instanceof TimeoutException || gone instanceof IllegalArgumentException, gone.toString());
        }
    }

    @Test
    void everyMemberSeesWhatTheOthersPublishUntilTheyLeave() throws Exception {
        HazelcastCluster a = cluster.start(0);
        HazelcastCluster b = cluster.start(1);
        HazelcastCluster c = cluster.start(2);
        await("three members", 20_000, () -> c.members().size() == 3);
        a.publish("router.units", "u1,u2", Duration.ofSeconds(30));
        b.publish("router.units", "b1", Duration.ofSeconds(30));
        c.publish("other", "x", Duration.ofSeconds(30));
        Map<String, String> want = Map.of("node-a", "u1,u2", "node-b", "b1");
        for (HazelcastCluster m : new HazelcastCluster[] {a, b, c}) {
            assertEquals(want, m.published("router.units"));
        }
        b.publish("router.units", "b1,b2", Duration.ofSeconds(30));
        assertEquals("b1,b2", c.published("router.units").get("node-b"));
        a.withdraw("router.units");
        assertEquals(Map.of("node-b", "b1,b2"), c.published("router.units"));
        c.publish("short", "lived", Duration.ofSeconds(1));
        await("a value not published again expires", 10_000, () -> a.published("short").isEmpty());
        cluster.kill(b);
        await("node-b left", 30_000, () -> c.members().size() == 2);
        assertEquals(Map.of(), c.published("router.units"), "the values of a member that left are not shown");
        assertThrows(IllegalArgumentException.class, () -> a.publish("k", "v", Duration.ofMillis(10)));
        assertThrows(IllegalArgumentException.class, () -> a.published(""));
    }
}
