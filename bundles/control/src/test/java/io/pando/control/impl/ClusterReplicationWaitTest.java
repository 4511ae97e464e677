package io.pando.control.impl;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pando.cluster.ClusterService;
import java.lang.reflect.Proxy;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

/**
 * An OPEN or CLOSE on the leader waits while the cluster copies its data after a membership change, and is refused
 * with the reason if that lasts longer than {@link ClusterControl#REPLICATION_WAIT_MS}.
 */
class ClusterReplicationWaitTest {

    private static ClusterControl control(AtomicBoolean replicated) {
        ClusterService cluster = (ClusterService) Proxy.newProxyInstance(ClusterService.class.getClassLoader(),
            new Class<?>[] {ClusterService.class}, (p, m, args) -> {
                if (m.getName().equals("replicated")) {
                    return replicated.get();
                }
                throw new UnsupportedOperationException(m.getName());
            });
        return new ClusterControl(cluster, null, null, null);
    }

    @Test
    void aWriteWaitsForTheBackupsAndGoesOnOnceTheyAreThere() throws Exception {
        AtomicBoolean replicated = new AtomicBoolean(false);
        ClusterControl c = control(replicated);
        long start = System.nanoTime();
        CompletableFuture<Void> open = CompletableFuture.runAsync(() -> c.requireReplicated("open a session"));
        Thread.sleep(200);
        assertTrue(!open.isDone(), "waiting while the data is copied");
        replicated.set(true);
        open.get(5, TimeUnit.SECONDS);
        assertTrue(System.nanoTime() - start >= 200_000_000L);
    }

    @Test
    void aWriteIsRefusedWithTheReasonWhenTheCopyLasts() {
        ClusterControl c = control(new AtomicBoolean(false));
        ClusterControl.NotLeader e = assertThrows(ClusterControl.NotLeader.class,
            () -> c.requireReplicated("close session 7"));
        assertTrue(e.getMessage().contains("cannot close session 7 now: the cluster is still copying its data"),
            e.getMessage());
    }
}
