package io.pando.test.osgi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.pando.artp.ArtpConnection;
import io.pando.artp.ArtpCounter;
import io.pando.artp.ArtpEndpoint;
import io.pando.artp.ArtpHandler;
import io.pando.artp.ErrorCode;
import io.pando.artp.SessionGrant;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.FrameworkUtil;
import org.osgi.framework.Version;
import org.osgi.test.common.annotation.InjectBundleContext;
import org.osgi.test.junit5.context.BundleContextExtension;

/**
 * The ARTP bundle runs inside the framework on the native epoll transport and moves datagrams reliably, and
 * releases every buffer (Netty's paranoid leak detector reports nothing).
 */
@ExtendWith(BundleContextExtension.class)
class ArtpBundleTest {

    private static final java.util.List<String> LEAKS = new java.util.concurrent.CopyOnWriteArrayList<>();
    private static final java.util.logging.Handler LEAK_LISTENER = new java.util.logging.Handler() {
        @Override
        public void publish(java.util.logging.LogRecord r) {
            if (r.getMessage() != null && r.getMessage().contains("LEAK")) {
                LEAKS.add(r.getMessage());
            }
        }

        @Override
        public void flush() {
        }

        @Override
        public void close() {
        }
    };

    @org.junit.jupiter.api.BeforeAll
    static void listenForLeaks() {
        java.util.logging.Logger.getLogger(io.netty.util.ResourceLeakDetector.class.getName()).addHandler(LEAK_LISTENER);
    }

    @org.junit.jupiter.api.AfterEach
    void noBufferLeaked() throws InterruptedException {
        for (int round = 0; round < 3; round++) { // leaks are reported by later allocations after a GC
            System.gc();
            Thread.sleep(20);
            for (int i = 0; i < 64; i++) {
                PooledByteBufAllocator.DEFAULT.directBuffer(16).release();
            }
        }
        java.util.List<String> found = new java.util.ArrayList<>(LEAKS);
        LEAKS.clear();
        assertTrue(found.isEmpty(), () -> found.size() + " ByteBuf leak(s): " + found.get(0));
    }

    @InjectBundleContext
    BundleContext context;

    @Test
    void bundleIsActiveAndExportsItsApi() {
        Bundle artp = FrameworkUtil.getBundle(ArtpEndpoint.class);
        assertEquals("io.pando.artp", artp.getSymbolicName());
        assertEquals(Bundle.ACTIVE, artp.getState());
        String exports = artp.getHeaders().get("Export-Package");
        assertTrue(exports.contains("io.pando.artp;") && exports.contains("io.pando.artp.wire;"), exports);
        assertTrue(!exports.contains("io.pando.artp.impl"), "implementation stays private: " + exports);
        java.util.Map<String, Version> exported = new java.util.TreeMap<>();
        for (org.osgi.framework.wiring.BundleCapability cap : artp.adapt(org.osgi.framework.wiring.BundleWiring.class)
                .getCapabilities(org.osgi.framework.namespace.PackageNamespace.PACKAGE_NAMESPACE)) {
            exported.put((String) cap.getAttributes().get(org.osgi.framework.namespace.PackageNamespace.PACKAGE_NAMESPACE),
                (Version) cap.getAttributes().get(org.osgi.framework.namespace.PackageNamespace.CAPABILITY_VERSION_ATTRIBUTE));
        }
        assertEquals(java.util.Map.of("io.pando.artp", new Version(1, 3, 0), "io.pando.artp.wire", new Version(1, 0, 0)),
            exported);
    }

    @Test
    void transfersDatagramsOverEpollInsideTheFramework() throws Exception {
        int n = 5_000;
        AtomicInteger received = new AtomicInteger();
        AtomicLong bytes = new AtomicLong();
        CountDownLatch closed = new CountDownLatch(1);
        ArtpHandler sink = new ArtpHandler() {
            @Override
            public void datagram(ArtpConnection c, ByteBuf d, boolean control) {
                bytes.addAndGet(d.readableBytes());
                received.incrementAndGet();
                d.release();
            }

            @Override
            public void closed(ArtpConnection c, ErrorCode code, String reason) {
                closed.countDown();
            }
        };
        try (ArtpEndpoint server = ArtpEndpoint.builder().handler(sink)
                .acceptor((s, p) -> s == 11 ? SessionGrant.UNKEYED : null).start();
             ArtpEndpoint client = ArtpEndpoint.builder().handler((c, d, ctl) -> d.release()).start()) {
            assertEquals("epoll", server.transport(), "Netty's native transport inside OSGi");
            ArtpConnection c = client.connect(server.localAddress(), 11, null).toCompletableFuture()
                .get(10, TimeUnit.SECONDS);
            for (int i = 0; i < n; i++) {
                ByteBuf b = PooledByteBufAllocator.DEFAULT.directBuffer(3000);
                b.writeLong(i).writeZero(2992);
                c.send(b);
                while (!c.isWritable()) {
                    Thread.sleep(1);
                }
            }
            c.close().toCompletableFuture().get(30, TimeUnit.SECONDS);
            assertTrue(closed.await(10, TimeUnit.SECONDS));
            assertEquals(n, received.get());
            assertEquals(3000L * n, bytes.get());
            assertEquals(n, server.stats().get(ArtpCounter.DATAGRAMS_DELIVERED));
        }
    }
}
