package io.pando.cluster.impl;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import java.util.logging.Level;

/**
 * Real cluster members in this JVM, on loopback ports 5901-5999 only (probed free before use), with fast failure
 * detection. Close it to stop every member it started.
 */
final class TestCluster implements AutoCloseable {

    private static final int FIRST_PORT = 5901;
    private static final int LAST_PORT = 5999;
    private static final AtomicInteger NEXT = new AtomicInteger(FIRST_PORT);

    final List<String> addresses;
    private final List<HazelcastCluster> started = new ArrayList<>();
    private final String name;

    /**
     * @param size the number of members in the member list (and the quorum base)
     */
    TestCluster(int size) {
        List<String> a = new ArrayList<>();
        for (int i = 0; i < size; i++) {
            a.add("127.0.0.1:" + freePort());
        }
        addresses = List.copyOf(a);
        name = "test-" + addresses.get(0).substring(addresses.get(0).indexOf(':') + 1);
    }

    /** @return settings of the i-th member of the list */
    ClusterSettings settings(int i) {
        int port = Integer.parseInt(addresses.get(i).substring(addresses.get(i).indexOf(':') + 1));
        return new ClusterSettings(name, "node-" + (char) ('a' + i), Set.of("unit"), "127.0.0.1", port, addresses,
            1, 4, 2, ClusterSettings.majority(addresses.size()), 1, 30, 60, Level.WARNING, "");
    }

    /** Starts the i-th member; returns once it has joined. */
    HazelcastCluster start(int i) {
        return start(settings(i));
    }

    /** Starts a member with these settings (of one of this cluster's members); returns once it has joined. */
    HazelcastCluster start(ClusterSettings settings) {
        HazelcastCluster c = new HazelcastCluster(settings, Clock.systemUTC());
        synchronized (started) {
            started.add(c);
        }
        return c;
    }

    /** Stops a member gracefully. */
    void stop(HazelcastCluster c) {
        synchronized (started) {
            started.remove(c);
        }
        c.close();
    }

    /** Stops a member as a crash would. */
    void kill(HazelcastCluster c) {
        synchronized (started) {
            started.remove(c);
        }
        c.terminate();
    }

    @Override
    public void close() {
        List<HazelcastCluster> all;
        synchronized (started) {
            all = new ArrayList<>(started);
            started.clear();
        }
        all.parallelStream().forEach(HazelcastCluster::terminate);
    }

    private static boolean free(int port, InetAddress... on) {
        for (InetAddress a : on) {
            try (ServerSocket s = new ServerSocket(port, 1, a)) {
                // free here
            } catch (IOException busy) {
                return false; // taken by something else: try the next
            }
        }
        return true;
    }

    /** Waits until the condition holds, polling; fails with the message after the timeout. */
    static void await(String what, long timeoutMillis, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + timeoutMillis * 1_000_000;
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                fail("timed out after " + timeoutMillis + " ms waiting for: " + what);
            }
            Thread.sleep(20);
        }
    }

    /** @return a port in 5901-5999 nothing listens on now, on the loopback address */
    static int freePort() {
        return freePort(InetAddress.getLoopbackAddress());
    }

    /** @return a port in 5901-5999 nothing listens on now, on each of the addresses */
    static int freePort(InetAddress... on) {
        while (true) {
            int p = NEXT.getAndIncrement();
            if (p > LAST_PORT) {
                throw new IllegalStateException("no free port left in " + FIRST_PORT + "-" + LAST_PORT);
            }
            if (free(p, on)) {
                return p;
            }
        }
    }
}
