package io.pando.test.system;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * ARTP/1 end to end through an impairing UDP path: a real {@code pando artp send} process sends to a real
 * {@code pando artp recv} process through a proxy that drops, reorders and duplicates packets in both
 * directions. Every case must deliver every datagram exactly once and intact.
 *
 * <p>The proxy is udp-ref's {@code proxy} (C), built into target/ when its sources are found (environment
 * variable {@code PANDO_UDP_REF}, else {@code ../shared/tools/udp-ref} next to the repository), otherwise
 * {@link ImpairingProxy} with the same semantics. Reproduce a case by hand with the commands written to
 * {@code target/system-tests/<case>/*.cmd}; {@code -Dpando.seed=N} changes every case's seed.
 */
class ImpairmentMatrixIT {

    private static final Pattern LISTENING = Pattern.compile("listening on (\\S+)");
    private static final long PROCESS_TIMEOUT_S = 110;

    private static Path cliJar;
    private static Path workDir;
    private static Path cProxy;
    private static final List<String> RESULTS = Collections.synchronizedList(new ArrayList<>());

    /** One row of the matrix. */
    record Case(String name, double loss, double reorder, int gap, double dup, int count, int size, long seed) {
        @Override
        public String toString() {
            return name + String.format(Locale.ROOT, " (%d x %d B)", count, size);
        }
    }

    static Stream<Case> matrix() {
        long s = Long.getLong("pando.seed", 0);
        return Stream.of(
            new Case("clean", 0, 0, 8, 0, 2000, 2000, s + 1),
            new Case("loss-1", 1, 0, 8, 0, 2000, 2000, s + 2),
            new Case("loss-5", 5, 0, 8, 0, 2000, 2000, s + 3),
            new Case("loss-10", 10, 0, 8, 0, 2000, 1500, s + 4),
            new Case("loss-30", 30, 0, 8, 0, 500, 1500, s + 5),
            new Case("reorder-10-gap-8", 0, 10, 8, 0, 1000, 1500, s + 6),
            new Case("reorder-10-gap-32", 0, 10, 32, 0, 1000, 1500, s + 7),
            new Case("reorder-10-gap-64", 0, 10, 64, 0, 1000, 1500, s + 8),
            new Case("reorder-25-gap-8", 0, 25, 8, 0, 1000, 1500, s + 9),
            new Case("reorder-25-gap-32", 0, 25, 32, 0, 1000, 1500, s + 10),
            new Case("reorder-25-gap-64", 0, 25, 64, 0, 1000, 1500, s + 11),
            new Case("dup-1", 0, 0, 8, 1, 2000, 2000, s + 12),
            new Case("dup-1-loss-5", 5, 0, 8, 1, 2000, 2000, s + 13),
            new Case("small-loss-10-reorder-10", 10, 10, 32, 0, 3000, 64, s + 14));
    }

    @BeforeAll
    static void locate() throws Exception {
        cliJar = Path.of(System.getProperty("pando.cli.jar", "target/pando-cli.jar")).toAbsolutePath();
        assertTrue(Files.isRegularFile(cliJar), "the pando cli jar is missing: " + cliJar);
        workDir = Path.of(System.getProperty("pando.work.dir", "target/system-tests")).toAbsolutePath();
        Files.createDirectories(workDir);
        cProxy = buildReferenceProxy();
        System.out.println("[system] pando cli jar: " + cliJar);
        System.out.println("[system] impairing proxy: " + (cProxy != null
            ? "udp-ref proxy (C) " + cProxy : "Java ImpairingProxy (udp-ref sources not found or not buildable)"));
    }

    /** @return the built udp-ref proxy, or null when its sources are missing or do not build */
    private static Path buildReferenceProxy() throws IOException, InterruptedException {
        String env = System.getenv("PANDO_UDP_REF");
        Path dir = Path.of(env != null && !env.isBlank() ? env
            : System.getProperty("pando.udp-ref.dir", "../../../shared/tools/udp-ref")).toAbsolutePath().normalize();
        if (!Files.isRegularFile(dir.resolve("proxy.c")) || !Files.isRegularFile(dir.resolve("Makefile"))) {
            System.out.println("[system] no udp-ref sources in " + dir);
            return null;
        }
        Path out = workDir.resolve("udp-ref");
        Files.createDirectories(out);
        // build into target/ (the sources may be read-only): VPATH finds proxy.c, the binary lands in `out`
        Process make = new ProcessBuilder("make", "-s", "-C", out.toString(), "-f", dir.resolve("Makefile").toString(),
            "VPATH=" + dir, "proxy").redirectErrorStream(true).start();
        String log = new String(make.getInputStream().readAllBytes());
        if (!make.waitFor(120, TimeUnit.SECONDS) || make.exitValue() != 0) {
            make.destroyForcibly();
            System.out.println("[system] building udp-ref proxy failed: " + log);
            return null;
        }
        Path proxy = out.resolve("proxy");
        return Files.isExecutable(proxy) ? proxy : null;
    }

    private static int freeUdpPort() throws IOException {
        try (DatagramSocket s = new DatagramSocket(0, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    private static List<String> jvmArgs() {
        return List.of("-Dio.netty.leakDetection.level=paranoid", "-Dio.netty.leakDetection.targetRecords=8",
            "-Xmx256m", "-XX:+UseSerialGC");
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("matrix")
    void deliversEverythingExactlyOnce(Case c) throws Exception {
        Path dir = workDir.resolve(c.name());
        ChildProcess recv = null;
        ChildProcess send = null;
        ChildProcess proxyProcess = null;
        ImpairingProxy javaProxy = null;
        String proxySummary = "";
        long started = System.nanoTime();
        try {
            recv = ChildProcess.java("recv", dir, cliJar, jvmArgs(), List.of("artp", "recv",
                "--listen", "127.0.0.1:0", "--count", String.valueOf(c.count()), "--timeout", "100",
                "--idle", "30", "--json"));
            String recvAddress = recv.await(LISTENING, 30);
            int proxyPort = freeUdpPort();
            InetSocketAddress target = parse(recvAddress);
            if (cProxy != null) {
                proxyProcess = ChildProcess.start("proxy", dir, List.of(cProxy.toString(),
                    "-l", "127.0.0.1:" + proxyPort, "-d", "127.0.0.1:" + target.getPort(),
                    "-x", num(c.loss()), "-r", num(c.reorder()), "-g", String.valueOf(c.gap()), "-D", num(c.dup()),
                    "-s", String.valueOf(c.seed()), "-t", "120", "-i", "30"));
                // -i 30, not 10: ARTP backs its RTO off up to 10 s; a proxy that quits after 10 s of silence
                // would cut the path in the middle of a recovery
            } else {
                javaProxy = new ImpairingProxy(new InetSocketAddress("127.0.0.1", proxyPort), target, c.loss(),
                    c.reorder(), c.gap(), c.dup(), c.seed());
            }
            send = ChildProcess.java("send", dir, cliJar, jvmArgs(), List.of("artp", "send",
                "--to", "127.0.0.1:" + proxyPort, "--count", String.valueOf(c.count()),
                "--size", String.valueOf(c.size()), "--timeout", "90", "--json"));

            int sendExit = send.waitFor(PROCESS_TIMEOUT_S);
            int recvExit = recv.waitFor(PROCESS_TIMEOUT_S);
            if (proxyProcess != null) {
                proxyProcess.close(); // SIGKILL: its own summary is printed only on a normal stop
            }
            if (javaProxy != null) {
                proxySummary = javaProxy.summary();
            }
            double wall = (System.nanoTime() - started) / 1e9;

            Map<String, Object> r = Json.parseOrEmpty(recv.lastLine());
            Map<String, Object> s = Json.parseOrEmpty(send.lastLine());
            String row = String.format(Locale.ROOT,
                "| %-26s | %5d/%-5d | %3d | %3d | %7.3f | %6d | %6d | %5.1f | send=%d recv=%d |",
                c.name(), r.get("received") == null ? -1 : Json.num(r, "received"), c.count(),
                r.get("duplicates") == null ? -1 : Json.num(r, "duplicates"),
                r.get("corrupt") == null ? -1 : Json.num(r, "corrupt"),
                Json.dbl(r, "seconds"), s.get("retransmitted") == null ? -1 : Json.num(s, "retransmitted"),
                Json.obj(r, "artp").get("duplicates") == null ? -1 : Json.num(Json.obj(r, "artp"), "duplicates"),
                wall, sendExit, recvExit);
            RESULTS.add(row);
            System.out.println("[system] " + row + " " + proxySummary);

            String context = "\nsend: " + send.out() + send.err() + "\nrecv: " + recv.out() + recv.err()
                + "\n" + proxySummary + "\nlogs in " + dir;
            assertFalse(send.err().contains("LEAK:"), "send leaked buffers" + context);
            assertFalse(recv.err().contains("LEAK:"), "recv leaked buffers" + context);
            assertEquals(0, sendExit, "send exit status" + context);
            assertEquals(0, recvExit, "recv exit status" + context);
            assertEquals(c.count(), Json.num(r, "received"), "delivered" + context);
            assertEquals(0, Json.num(r, "duplicates"), "duplicates" + context);
            assertEquals(0, Json.num(r, "corrupt"), "corrupt" + context);
            assertEquals(c.count(), Json.num(s, "sent"), "sent" + context);
        } finally {
            for (ChildProcess p : new ChildProcess[] {send, recv, proxyProcess}) {
                if (p != null) {
                    p.close();
                }
            }
            if (javaProxy != null) {
                javaProxy.close();
            }
        }
    }

    @AfterAll
    static void summary() throws IOException {
        List<String> lines = new ArrayList<>();
        lines.add("| case                       | delivered   | dup | bad | seconds | retx   | pktdup | wall  | exit |");
        lines.add("|----------------------------|-------------|-----|-----|---------|--------|--------|-------|------|");
        lines.addAll(RESULTS);
        Files.write(workDir.resolve("matrix.md"), lines);
        lines.forEach(l -> System.out.println("[system] " + l));
    }

    private static InetSocketAddress parse(String hostPort) {
        int colon = hostPort.lastIndexOf(':');
        return new InetSocketAddress(hostPort.substring(0, colon), Integer.parseInt(hostPort.substring(colon + 1)));
    }

    private static String num(double v) {
        return v == Math.rint(v) ? String.valueOf((long) v) : String.valueOf(v);
    }
}
