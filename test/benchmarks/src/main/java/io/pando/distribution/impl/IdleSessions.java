package io.pando.distribution.impl;

import io.pando.api.session.SessionId;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * How many idle sessions a node holds, and what each one costs: opens {@code N} sessions through the router's
 * real in-JVM path ({@link BenchRouter}), then reports the retained heap per session after a full GC, whether they
 * fit in the heap, the CPU the node spends per second while all of them are idle, and the rates at which they were
 * created and closed. Not a JMH benchmark and not run by the build:
 *
 * <pre>
 * java -Xmx2g -cp test/benchmarks/target/benchmarks.jar io.pando.distribution.impl.IdleSessions [N [UNITS [--histogram]]]
 * </pre>
 *
 * The destination runs in a child JVM (this class with {@code --destination}) so that its connections do not count
 * against the router's heap. {@code --histogram} prints the top of {@code jcmd PID GC.class_histogram} with all
 * sessions open.
 */
public final class IdleSessions {

    private static final MemoryMXBean MEMORY = ManagementFactory.getMemoryMXBean();

    private IdleSessions() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length > 0 && args[0].equals("--destination")) {
            destination();
            return;
        }
        int n = args.length > 0 ? Integer.parseInt(args[0]) : 100_000;
        int units = args.length > 1 ? Integer.parseInt(args[1]) : 1;
        boolean histogram = args.length > 2 && args[2].equals("--histogram");
        Process dest = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
            "-Xmx1g", "-Dio.netty.leakDetection.level=disabled", "-cp", System.getProperty("java.class.path"),
            IdleSessions.class.getName(), "--destination").redirectError(ProcessBuilder.Redirect.INHERIT).start();
        try (BufferedReader in = new BufferedReader(new InputStreamReader(dest.getInputStream(), StandardCharsets.UTF_8))) {
            int port = Integer.parseInt(in.readLine().trim());
            run(n, units, histogram, new InetSocketAddress("127.0.0.1", port));
        } finally {
            dest.getOutputStream().close(); // the destination ends when its stdin does
            dest.waitFor(10, TimeUnit.SECONDS);
            dest.destroyForcibly();
        }
    }

    private static void run(int n, int units, boolean histogram, InetSocketAddress destination) throws Exception {
        long max = MEMORY.getHeapMemoryUsage().getMax();
        System.out.printf("%d idle sessions, %d unit(s), heap max %d MiB, destination %s in a child JVM%n", n, units,
            max >> 20, destination);
        List<SessionId> ids = new ArrayList<>(n);
        try (BenchRouter router = new BenchRouter(units, destination)) {
            for (int i = 0; i < 1000; i++) { // warm the path up, then start from an empty node
                router.close(router.create());
            }
            long base = usedAfterGc();
            long t0 = System.nanoTime();
            long lap = t0;
            int step = Math.max(1, n / 10);
            try {
                for (int i = 1; i <= n; i++) {
                    ids.add(router.create());
                    if (i % step == 0) {
                        long now = System.nanoTime();
                        System.out.printf("  %,7d open: %,6.0f setups/s over the last %,d, heap used %,d MiB%n", i,
                            step * 1e9 / (now - lap), step, MEMORY.getHeapMemoryUsage().getUsed() >> 20);
                        lap = now;
                    }
                }
            } catch (OutOfMemoryError e) {
                int open = ids.size();
                ids = null;
                System.out.printf("DOES NOT FIT: out of heap after %,d sessions (%s)%n", open, e.getMessage());
                return;
            }
            long created = System.nanoTime() - t0;
            long used = usedAfterGc();
            double perSession = (double) (used - base) / n;
            System.out.printf("setup: %,d sessions in %.1f s: %,.0f setups/s%n", n, created / 1e9, n * 1e9 / created);
            System.out.printf("heap after GC: %,d MiB with no session, %,d MiB with %,d: %,.0f bytes per session; "
                + "%s in %,d MiB (%,.0f sessions would fill it)%n", base >> 20, used >> 20, n, perSession,
                used < max ? "FITS" : "DOES NOT FIT", max >> 20, (max - base) / perSession);
            if (histogram) {
                printHistogram();
            }
            long cpu0 = cpuNanos();
            Thread.sleep(10_000);
            System.out.printf("idle: the node used %.3f CPU (cores) over 10 s with %,d idle sessions%n",
                (cpuNanos() - cpu0) / 10e9, n);
            t0 = System.nanoTime();
            for (SessionId id : ids) {
                router.close(id);
            }
            long closed = System.nanoTime() - t0;
            System.out.printf("close: %,d sessions in %.1f s: %,.0f closes/s%n", n, closed / 1e9, n * 1e9 / closed);
        }
    }

    private static long usedAfterGc() throws InterruptedException {
        for (int i = 0; i < 3; i++) {
            System.gc();
            Thread.sleep(200);
        }
        return MEMORY.getHeapMemoryUsage().getUsed();
    }

    private static long cpuNanos() {
        return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean())
            .getProcessCpuTime();
    }

    private static void printHistogram() throws IOException, InterruptedException {
        Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "jcmd").toString(),
            Long.toString(ProcessHandle.current().pid()), "GC.class_histogram").redirectErrorStream(true).start();
        try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            r.lines().limit(40).forEach(l -> System.out.println("  " + l));
        }
        p.waitFor();
    }

    /** The child: a destination endpoint; prints its port, ends when its stdin closes. */
    private static void destination() throws IOException {
        try (BenchRouter.Destination d = new BenchRouter.Destination()) {
            System.out.println(d.address().getPort());
            System.out.flush();
            while (System.in.read() >= 0) {
                // until the parent closes our stdin
            }
        }
    }
}
