package io.pando.system;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Acceptance 4 of the control unit issue: a session the control unit admitted gets the CPU share it reserved while
 * another admitted session on the same unit is over-eager (docs/control.md, "What a CPU share guarantees").
 *
 * <p>One Karaf node from the assembly ({@code pando-all} with unit u1 only, so that both sessions share it) with the
 * control unit ({@code unit.cpu.capacity = 1.0}). A CPU-heavy program {@code share-burn} (a fixed amount of integer
 * work per datagram, then the datagram unchanged) is uploaded, so the router runs it in {@code process} sandboxes,
 * each in its own cgroup (v1 here; v2 works the same). Alice opens session A with {@value #A_CPUS} core and streams
 * {@value #A_COUNT} datagrams as fast as the router takes them: first alone, then — with a fresh session A, back to
 * back — while bob's session B ({@value #B_CPUS} core, also admitted on u1) floods the same program with as much as
 * ARTP lets through. A must deliver every datagram once, and its sandbox's cgroup must account at least
 * {@value #MIN_SHARE} of the reserved share as CPU time while it is busy, alone and against B; B must stay within
 * its own cap. Every figure (delivered rate, cgroup CPU in cores, the cgroups' weights, the load average) is printed
 * with the prefix {@code [share]}; the assertion is deliberately loose (the machine is shared).
 *
 * <p>The CPU a sandbox used is read from its cgroup ({@code cpuacct.usage} in v1, {@code cpu.stat} usage_usec in v2)
 * every 100 ms by this test, not through the console (each console call is a JVM start, which would compete).
 *
 * <p>Ports: SSH 18900, ingress 18901, control 18902, JMX 18903-18904, egress 18905, receivers 18910-18919. Work files
 * are under {@code target/system-tests/share}. Run alone with {@code ./mvnw -o -pl test/system verify
 * -Dit.test=ReservedShareIT} after building the assembly.
 */
class ReservedShareIT {

    private static final String HOST = "127.0.0.1";
    private static final int SSH = 18900;
    private static final int INGRESS = 18901;
    private static final int CONTROL = 18902;
    private static final int RMI = 18903;
    private static final int EGRESS = 18905;
    private static final int A_ALONE_RECEIVER = 18910;
    private static final int A_WITH_B_RECEIVER = 18911;
    private static final int B_RECEIVER = 18912;

    private static final String PROGRAM = "share-burn";
    /**
     * Rounds of integer work per datagram: about 20 ms of one core on the development machine, so that half a core
     * needs only 25 datagrams/s: the sandbox, not the router's data path (which no reservation covers), is what
     * limits A.
     */
    private static final int ROUNDS = 8_000_000;
    private static final String A_CPUS = "0.5";
    private static final String B_CPUS = "0.5";
    private static final int A_COUNT = 300;
    private static final int B_COUNT = 1_000_000;
    private static final int SIZE = 200;
    private static final int INTERVAL_MS = 100;
    private static final int QUOTA_KB = 64;
    /** A's cgroup must account at least this fraction of its reserved share while it is busy. */
    private static final double MIN_SHARE = 0.8;

    private static final String ALICE_PASSWORD = "alice-share";
    private static final String BOB_PASSWORD = "bob-share";

    private static final AtomicInteger CALLS = new AtomicInteger();
    private static final List<String> TABLE = new ArrayList<>();
    private static KarafNode node;
    private static Path cliDir;
    private static Path jar;

    @BeforeAll
    static void startNodeWithOneUnitAndTheControlUnit() throws Exception {
        node = KarafNode.create("share", SSH, INGRESS);
        node.managementPorts(RMI, RMI + 1);
        Path etc = node.home.resolve("etc");
        // a session's buffer quota of 64 KiB (about 300 of these datagrams): the flood B holds that much on the unit
        // once its sender is paused by back-pressure, and closing B (in order) then takes seconds, not minutes
        Path distribution = etc.resolve("io.pando.distribution.cfg");
        Files.writeString(distribution, Files.readString(distribution) + "session.quota.kb = " + QUOTA_KB + "\n");
        Files.writeString(etc.resolve("io.pando.aggregation.cfg"), "egress.host = " + HOST + "\negress.port = "
            + EGRESS + "\n");
        Files.writeString(etc.resolve("io.pando.control.cfg"), "# written by ReservedShareIT\n"
            + "host = " + HOST + "\n"
            + "port = " + CONTROL + "\n"
            + "realm = karaf\n"
            + "unit.cpu.capacity = 1.0\n");
        Path users = etc.resolve("users.properties");
        Files.writeString(users, Files.readString(users) + "alice = " + ALICE_PASSWORD + "\nbob = " + BOB_PASSWORD
            + "\n");
        cliDir = node.work.resolve("cli");
        Files.createDirectories(cliDir);
        Files.writeString(cliDir.resolve("alice.password"), ALICE_PASSWORD + "\n");
        Files.writeString(cliDir.resolve("bob.password"), BOB_PASSWORD + "\n");

        KarafNode.Readiness units = KarafNode.Readiness.LOCAL_UNITS;
        node.start(new KarafNode.Readiness(units.command(), units.ready(), units.what(), 300, units.stallSeconds()));
        // one unit, so that both sessions are placed on u1: deleting u2's factory configuration stops that unit
        Matcher u2 = Pattern.compile("(?m)^Pid:\\s+(\\S+)").matcher(node.consoleOk("config:list '(unit.id=u2)'").out());
        assertTrue(u2.find(), "config:list shows unit u2's configuration");
        node.consoleOk("config:delete " + u2.group(1));
        assertEquals(List.of("u1"), node.awaitUnits(List.of("u1"), 60), "the node runs unit u1 only");
        node.consoleOk("feature:install pando-control");
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (!node.log().contains("control unit listening on") && System.nanoTime() < deadline) {
            Thread.sleep(250);
        }
        assertTrue(node.log().contains("control unit listening on"), "the control unit listens: see "
            + node.home.resolve("data/log/karaf.log"));

        jar = ProgramBundle.build(node.work.resolve("programs/burn"), "share.burn", PROGRAM, "share.burn",
            ProgramBundle.source("share.burn", "private long acc;",
                "long h = acc + in.data().remaining();\n"
                    + "for (int r = 0; r < " + ROUNDS + "; r++) {\n"
                    + "    h = h * 6364136223846793005L + r;\n"
                    + "    h ^= h >>> 29;\n"
                    + "}\n"
                    + "acc = h;"));
        KarafNode.Console installed = node.console("pando:program-install --json " + jar);
        assertEquals(0, installed.exit(), "the program is installed" + installed.describe());
    }

    @AfterAll
    static void stopNode() throws Exception {
        if (!TABLE.isEmpty()) {
            System.out.println("[share] | phase | session | reserved | delivered/s | cgroup CPU (cores) | share of "
                + "reservation | weight | throttled/periods | load average |");
            System.out.println("[share] |-------|---------|----------|-------------|--------------------|---------"
                + "-------------|--------|-------------------|--------------|");
            TABLE.forEach(r -> System.out.println("[share] " + r));
        }
        if (node == null) {
            return;
        }
        node.close();
        String log = node.log();
        assertFalse(log.contains("LEAK:"), "the node leaked buffers: see " + node.home.resolve("data/log/karaf.log"));
    }

    @Test
    void anAdmittedSessionGetsItsReservedShareWhileAnotherFloods() throws Exception {
        Assumptions.assumeTrue(Files.isDirectory(Path.of("/sys/fs/cgroup")), "no cgroups on this host");

        // A alone
        Busy alone = runA("a-alone", A_ALONE_RECEIVER, null);

        // A again, while B floods: B first, until its sandbox is busy
        try (ArtpStream b = ArtpStream.receive(node, "b-flood", B_RECEIVER, B_COUNT, null, 0)) {
            Opened ob = open("bob", B_RECEIVER, B_CPUS);
            CpuMeter bCpu = CpuMeter.of(ob.id);
            b.send(ob.id, SIZE, 0, ob.key);
            bCpu.awaitBusy(60);
            Busy withB = runA("a-with-b", A_WITH_B_RECEIVER, bCpu);
            double bCores = withB.otherCores;
            row("A + B", "B (floods)", B_CPUS, Double.NaN, bCores, bCpu.weight(), bCpu.throttling());
            assertTrue(bCores <= Double.parseDouble(B_CPUS) * 1.1, "B stays within its cap of " + B_CPUS
                + " core: it used " + bCores);
            b.sender().close(); // the flood ends; closing B delivers what its quota holds first
            close("bob", ob.id);
            System.out.printf(Locale.ROOT, "[share] A delivered %.0f/s alone and %.0f/s with B (%.2f); its cgroup "
                    + "used %.3f and %.3f cores of the %s reserved%n", alone.rate, withB.rate, withB.rate / alone.rate,
                alone.cores, withB.cores, A_CPUS);
        }
    }

    /** Opens a session A for alice, streams A_COUNT datagrams through it, measures, closes it. */
    private static Busy runA(String label, int port, CpuMeter other) throws Exception {
        try (ArtpStream a = ArtpStream.receive(node, label, port, A_COUNT, null, INTERVAL_MS)) {
            Opened oa = open("alice", port, A_CPUS);
            CpuMeter aCpu = CpuMeter.of(oa.id);
            Thread.sleep(2000); // the sandbox JVM starts (about a second): not part of what A's datagrams cost
            a.send(oa.id, SIZE, 0, oa.key);
            List<double[]> samples = new ArrayList<>(); // {t, A ns, other ns}
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(170);
            while (a.receiver().isAlive() && System.nanoTime() < deadline) {
                samples.add(new double[] {System.nanoTime(), aCpu.nanos(), other == null ? 0 : other.nanos()});
                Thread.sleep(INTERVAL_MS);
            }
            ArtpStream.Result r = a.finish(30);
            r.assertDeliveredExactlyOnce();
            Busy busy = Busy.of(samples, steadyRate(r));
            double reserved = Double.parseDouble(A_CPUS);
            row(other == null ? "A alone" : "A + B", "A", A_CPUS, busy.rate, busy.cores, aCpu.weight(),
                aCpu.throttling());
            close("alice", oa.id);
            assertTrue(busy.cores >= MIN_SHARE * reserved, label + ": A's cgroup accounted " + String.format(
                Locale.ROOT, "%.3f", busy.cores) + " cores while busy, less than " + MIN_SHARE + " of the " + A_CPUS
                + " reserved" + (other == null ? "" : " (B used " + busy.otherCores + ")") + "; load " + load());
            return busy;
        }
    }

    private static void row(String phase, String session, String reserved, double rate, double cores, long weight,
        String throttled) {
        TABLE.add(String.format(Locale.ROOT, "| %s | %s | %s | %s | %.3f | %.2f | %d | %s | %s |", phase, session,
            reserved, Double.isNaN(rate) ? "-" : String.format(Locale.ROOT, "%.0f", rate), cores,
            cores / Double.parseDouble(reserved), weight, throttled, load()));
    }

    /**
     * What a session's sandbox used while busy: CPU in cores over the samples after its first second of work and
     * before its last CPU change (the sender's start and the tail are not steady), and the other sandbox's over the
     * same time.
     */
    private record Busy(double rate, double cores, double otherCores) {

        static Busy of(List<double[]> samples, double rate) {
            int first = -1;
            int last = -1;
            for (int i = 1; i < samples.size(); i++) {
                if (samples.get(i)[1] > samples.get(i - 1)[1] + 1e6) { // 1 ms of CPU in a sample: working
                    if (first < 0) {
                        first = i - 1;
                    }
                    last = i;
                }
            }
            assertTrue(first >= 0 && last > first, "the session's sandbox never used CPU: " + samples.size()
                + " samples");
            // skip the first second (JIT, the sender's start) and the last half second (the tail of the queue)
            int from = Math.min(first + 1000 / INTERVAL_MS, last - 1);
            int to = Math.max(from + 1, last - 500 / INTERVAL_MS);
            double[] s = samples.get(from);
            double[] e = samples.get(to);
            double wall = e[0] - s[0];
            assertTrue(wall >= 2e9, "the busy window is only " + wall / 1e9 + " s: raise A_COUNT");
            return new Busy(rate, (e[1] - s[1]) / wall, (e[2] - s[2]) / wall);
        }
    }

    /**
     * Reads the CPU time of one session's sandbox from its cgroup.
     *
     * @param usageFile v1 {@code cpuacct.usage} or v2 {@code cpu.stat} of the group
     * @param weightFile v1 {@code cpu.shares} or v2 {@code cpu.weight} of the group
     * @param v2 whether the group is in the unified hierarchy
     */
    private record CpuMeter(Path usageFile, Path weightFile, boolean v2) {

        /** Waits (up to 30 s) for the cgroup of session {@code id}'s sandbox on u1 and opens it. */
        static CpuMeter of(String id) throws Exception {
            String prefix = "pando-ee-u1-" + id + "-";
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (System.nanoTime() < deadline) {
                for (Path root : List.of(Path.of("/sys/fs/cgroup/cpuacct"), Path.of("/sys/fs/cgroup/cpu,cpuacct"),
                    Path.of("/sys/fs/cgroup"))) {
                    Path group = find(root, prefix);
                    if (group != null) {
                        boolean v2 = Files.exists(group.resolve("cpu.stat")) && !Files.exists(group.resolve(
                            "cpuacct.usage"));
                        Path weightDir = v2 ? group : Path.of("/sys/fs/cgroup/cpu").resolve(group.getFileName());
                        if (!Files.isDirectory(weightDir)) {
                            weightDir = group;
                        }
                        return new CpuMeter(v2 ? group.resolve("cpu.stat") : group.resolve("cpuacct.usage"),
                            weightDir.resolve(v2 ? "cpu.weight" : "cpu.shares"), v2);
                    }
                }
                Thread.sleep(100);
            }
            throw new AssertionError("no cgroup " + prefix + "* of session " + id + "'s sandbox within 30 s (does "
                + "the sandbox run without a cgroup? see " + node.home.resolve("data/log/karaf.log") + ")");
        }

        private static Path find(Path root, String prefix) throws IOException {
            if (!Files.isDirectory(root)) {
                return null;
            }
            try (Stream<Path> dirs = Files.walk(root, 4)) {
                return dirs.filter(d -> d.getFileName() != null && d.getFileName().toString().startsWith(prefix))
                    .findFirst().orElse(null);
            }
        }

        /** @return CPU time used so far, ns */
        long nanos() throws IOException {
            String text = Files.readString(usageFile).strip();
            if (!v2) {
                return Long.parseLong(text);
            }
            for (String l : text.split("\\R")) {
                if (l.startsWith("usage_usec ")) {
                    return Long.parseLong(l.substring(11).strip()) * 1000;
                }
            }
            throw new IOException("no usage_usec in " + usageFile);
        }

        long weight() {
            try {
                return Long.parseLong(Files.readString(weightFile).strip());
            } catch (IOException | NumberFormatException e) {
                return -1;
            }
        }

        /** @return "throttled/periods" of the group's CFS quota so far (how often the cap bound it) */
        String throttling() {
            try {
                Map<String, String> kv = new java.util.HashMap<>();
                for (String l : Files.readAllLines(weightFile.resolveSibling("cpu.stat"))) {
                    String[] f = l.strip().split("\\s+");
                    if (f.length == 2) {
                        kv.put(f[0], f[1]);
                    }
                }
                return kv.getOrDefault("nr_throttled", "?") + "/" + kv.getOrDefault("nr_periods", "?");
            } catch (IOException e) {
                return "?";
            }
        }

        /** Waits until the sandbox uses CPU steadily (half a second of samples with work in each). */
        void awaitBusy(long seconds) throws Exception {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
            long before = nanos();
            int busy = 0;
            while (busy < 5) {
                assertTrue(System.nanoTime() < deadline, "the flooding session's sandbox never got busy");
                Thread.sleep(INTERVAL_MS);
                long now = nanos();
                busy = now - before > 5_000_000 ? busy + 1 : 0;
                before = now;
            }
        }
    }

    private record Opened(String id, String key) {
    }

    private static Opened open(String user, int port, String cpus) throws Exception {
        SystemProcess p = session(user, "open", "--program", PROGRAM, "--to", HOST + ":" + port, "--units", "1",
            "--cpus", cpus, "--cpu-budget", "200000", "--json");
        Map<String, Object> o = JsonValue.object(p.lastLine());
        return new Opened(JsonValue.str(o, "session"), JsonValue.str(o, "key"));
    }

    private static void close(String user, String id) throws Exception {
        session(user, "close", "--session", id, "--timeout", "120");
    }

    /** {@code pando session SUB --control HOST:CONTROL --user USER --password-file ARGS}, which must succeed. */
    private static SystemProcess session(String user, String sub, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("session", sub, "--control", HOST + ":" + CONTROL, "--user", user,
            "--password-file", cliDir.resolve(user + ".password").toString()));
        cmd.addAll(List.of(args));
        String label = String.format(Locale.ROOT, "%02d-%s-%s", CALLS.incrementAndGet(), user, sub);
        try (SystemProcess p = node.pando(label, cliDir, cmd)) {
            assertEquals(0, p.waitFor(150), label + p.describe());
            return p;
        }
    }

    /**
     * @return the mean rate over whole intervals from 1 s after the first datagram on, without the last (partial)
     *         one: the first second is the sender's JVM and the sandbox's JIT warming up
     */
    private static double steadyRate(ArtpStream.Result r) {
        List<Object> intervals = JsonValue.list(r.recv(), "intervals");
        int from = 1000 / INTERVAL_MS;
        int to = intervals.size() - 1;
        assertTrue(to - from >= 10, "the stream lasted less than 2 s: raise A_COUNT (" + intervals + ")");
        double sum = 0;
        for (int i = from; i < to; i++) {
            sum += ((Number) intervals.get(i)).doubleValue();
        }
        return sum * 1000.0 / INTERVAL_MS / (to - from);
    }

    private static String load() {
        try {
            return Files.readString(Path.of("/proc/loadavg")).strip();
        } catch (IOException e) {
            return "?";
        }
    }
}
