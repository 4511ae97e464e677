package io.pando.ee.sandbox.it;

import io.pando.ee.sandbox.testing.ProgramJars;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.pando.ee.sandbox.it.TestUnit.Datagram;
import io.pando.ee.sandbox.it.TestUnit.Result;
import io.pando.ee.sandbox.launch.Cgroups;
import io.pando.ee.sandbox.launch.SandboxLauncher;
import io.pando.ee.sandbox.launch.SandboxSpec;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The sandbox confined: bubblewrap (namespaces, uid, file system) and cgroups (CPU quota, memory limit,
 * accounting, cleanup), each checked from outside. Skipped, with the reason printed, where the host cannot.
 */
class ConfinementIT {

    private static final ProgramJars.Spec ECHO = ProgramJars.program("test.Echo", "ctx.emit(in.flow(), in.data());", "")
        .name("echo").symbolicName("test.echo");

    /** Burns CPU for the number of wall milliseconds the datagram says. */
    private static final ProgramJars.Spec BURN = ProgramJars.program("test.Burn",
        "long until = System.nanoTime() + Long.parseLong(text(in)) * 1_000_000L; long x = 0;"
            + " while (System.nanoTime() < until) { x += until ^ x; }"
            + " ctx.emit(in.flow(), bytes(Long.toString(x & 1)));", "").name("burn").symbolicName("test.burn");

    private static boolean bubblewrapUsable() {
        String why = SandboxLauncher.bubblewrapUnavailableReason();
        if (why != null) {
            System.out.println("[sandbox] SKIPPED bubblewrap test: " + why);
        }
        return why == null;
    }

    private static boolean cgroupsUsable() {
        Cgroups cg = Cgroups.host();
        if (!cg.available()) {
            System.out.println("[sandbox] SKIPPED cgroup test: " + cg.unavailableReason());
        }
        return cg.available();
    }

    private static long echo(Harness.Running r, int n) throws Exception {
        List<Datagram> batch = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            batch.add(Datagram.of(i, "hello " + i));
        }
        r.unit.send(TestUnit.batch(batch));
        List<Result> res = r.results(n).stream().flatMap(List::stream).toList();
        for (int i = 0; i < n; i++) {
            assertEquals("hello " + i, res.get(i).ops().get(0).text());
        }
        return n;
    }

    @Test
    void startTimeWithAndWithoutBubblewrap() throws Exception {
        boolean bwrap = SandboxLauncher.bubblewrapUnavailableReason() == null;
        long[] plain = new long[3];
        long[] wrapped = new long[3];
        for (int i = 0; i < 3; i++) {
            try (Harness.Running r = Harness.start(ECHO)) {
                r.init("echo", 0, Map.of(), Map.of());
                plain[i] = r.readyNanos / 1_000_000;
                r.unit.send(TestUnit.shutdown());
                r.exit(Duration.ofSeconds(10));
            }
            if (bwrap) {
                try (Harness.Running r = Harness.start(ECHO, b -> b.bubblewrap(SandboxSpec.Bubblewrap.ON))) {
                    r.init("echo", 0, Map.of(), Map.of());
                    wrapped[i] = r.readyNanos / 1_000_000;
                    r.unit.send(TestUnit.shutdown());
                    r.exit(Duration.ofSeconds(10));
                }
            }
        }
        if (Cgroups.host().available()) {
            try (Harness.Running r = Harness.start(ECHO, b -> b.cgroups(true).bubblewrap(SandboxSpec.Bubblewrap.AUTO))) {
                r.init("echo", 0, Map.of(), Map.of());
                System.out.printf("[sandbox] start with the defaults (%s): launch→READY %d ms, %d ms of CPU%n",
                    r.sandbox.confinement(), r.readyNanos / 1_000_000, r.sandbox.stats().get("cpu_ns") / 1_000_000);
            }
        }
        System.out.printf("[sandbox] start time launch→READY, 3 runs: plain %s ms; bubblewrap %s%n",
            java.util.Arrays.toString(plain), bwrap ? java.util.Arrays.toString(wrapped) + " ms"
                : "skipped (" + SandboxLauncher.bubblewrapUnavailableReason() + ")");
        System.out.println("[sandbox] confinement here: " + SandboxLauncher.confinement());
    }

    @Test
    void bubblewrapConfinesTheJvm() throws Exception {
        assumeTrue(bubblewrapUsable(), "bubblewrap unusable here");
        try (Harness.Running r = Harness.start(ECHO, b -> b.bubblewrap(SandboxSpec.Bubblewrap.ON))) {
            TestUnit.Ready ready = r.init("echo", 10_000, Map.of(), Map.of());
            assertTrue(r.sandbox.bubblewrap());
            echo(r, 20);
            ProcessHandle jvm = r.sandbox.jvm().orElseThrow();
            long pid = jvm.pid();
            Path proc = Path.of("/proc", Long.toString(pid));
            // its own namespaces
            for (String ns : List.of("net", "user", "pid", "mnt", "ipc", "uts")) {
                assertNotEquals(Files.readSymbolicLink(Path.of("/proc/self/ns", ns)),
                    Files.readSymbolicLink(proc.resolve("ns").resolve(ns)), ns + " namespace shared");
            }
            // uid 65534 inside, mapped to one outside uid only: 65534 too when the router is root (setpriv)
            String uidMap = Files.readString(proc.resolve("uid_map")).strip();
            assertTrue(uidMap.matches("65534\\s+\\d+\\s+1"), uidMap);
            String status = Files.readString(proc.resolve("status"));
            String uids = status.lines().filter(l -> l.startsWith("Uid:")).findFirst().orElseThrow();
            String unprivileged = SandboxLauncher.unprivilegedUnavailableReason();
            if (unprivileged == null) {
                assertTrue(uids.matches("Uid:\\s+65534\\s+65534\\s+65534\\s+65534"), uids);
                assertTrue(uidMap.matches("65534\\s+65534\\s+1"), uidMap);
                assertTrue(r.sandbox.confinement().startsWith("bubblewrap as uid 65534"), r.sandbox.confinement());
            } else {
                System.out.println("[sandbox] not under an unprivileged uid: " + unprivileged);
            }
            // in its PID namespace the JVM is not pid 1's parent's child here: it reports its inner pid
            assertTrue(ready.pid() < 10, "pid inside the namespace: " + ready.pid());
            // its file system: no /etc/shadow, no /sys, no /root, a private /tmp; the program jar read-only
            Path root = proc.resolve("root");
            assertFalse(Files.exists(root.resolve("etc/shadow")), "/etc/shadow visible");
            assertFalse(Files.exists(root.resolve("sys/fs/cgroup")), "/sys visible");
            assertFalse(Files.exists(root.resolve("root")), "/root visible");
            assertTrue(Files.exists(root.resolve("pando/program.jar")));
            String mounts = Files.readString(proc.resolve("mountinfo"));
            assertTrue(mounts.lines().anyMatch(l -> l.contains(" /pando/program.jar ") && l.contains(" ro,")), mounts);
            assertTrue(mounts.lines().anyMatch(l -> l.contains(" /tmp ") && l.contains("tmpfs")), mounts);
            // no capabilities
            assertTrue(status.lines().anyMatch(l -> l.matches("CapEff:\\s+0+")), status);
            System.out.println("[sandbox] bubblewrap: JVM pid " + pid + " (inside " + ready.pid() + "), " + uids
                .replaceAll("\\s+", " ") + " outside, uid_map '" + uidMap + "', net " + Files.readSymbolicLink(proc.resolve("ns/net")) + " vs ours "
                + Files.readSymbolicLink(Path.of("/proc/self/ns/net")));
            r.unit.send(TestUnit.shutdown());
            assertEquals(0, r.exit(Duration.ofSeconds(10)), r.output());
        }
    }

    @Test
    void bubblewrapKillLeavesNoOrphanJvm() throws Exception {
        assumeTrue(bubblewrapUsable(), "bubblewrap unusable here");
        try (Harness.Running r = Harness.start(ECHO, b -> b.bubblewrap(SandboxSpec.Bubblewrap.ON))) {
            r.init("echo", 0, Map.of(), Map.of());
            ProcessHandle jvm = r.sandbox.jvm().orElseThrow();
            r.sandbox.kill();
            r.exit(Duration.ofSeconds(5));
            jvm.onExit().get(5, java.util.concurrent.TimeUnit.SECONDS);
            assertFalse(jvm.isAlive(), "the JVM outlived its sandbox");
        }
    }

    @Test
    void cgroupCapsCpuAndMemoryAndIsRemoved() throws Exception {
        assumeTrue(cgroupsUsable(), "cgroups unusable here");
        List<Path> dirs;
        try (Harness.Running r = Harness.start(BURN, b -> b.cgroups(true).cpus(0.2).memoryMb(96)
            .bubblewrap(SandboxSpec.Bubblewrap.AUTO))) {
            TestUnit.Ready ready = r.init("burn", 0, Map.of(), Map.of());
            Cgroups.Group g = r.sandbox.cgroup().orElseThrow(() -> new AssertionError(
                "no cgroup: " + r.sandbox.cgroupUnavailableReason()));
            dirs = g.distinctDirs();
            dirs.forEach(d -> assertTrue(Files.isDirectory(d), d + " missing"));
            assertTrue(g.pids().contains(r.sandbox.jvm().orElseThrow().pid()), "the JVM is in the group");
            Cgroups.Stats before = g.stats();
            System.out.printf("[sandbox] start under a 0.2 CPU quota (%s): launch→READY %d ms (JVM %d ms), %d ms of "
                    + "CPU, memory %.1f MiB%n", r.sandbox.confinement(), r.readyNanos / 1_000_000,
                ready.startupMillis(), before.cpuNanos() / 1_000_000, before.memoryBytes() / 1048576.0);

            long wall0 = System.nanoTime();
            r.unit.send(TestUnit.batch(List.of(Datagram.of(1, "1500"))));
            r.results(1);
            long wall = System.nanoTime() - wall0;
            Cgroups.Stats after = g.stats();
            double cpuPerSecond = (double) (after.cpuNanos() - before.cpuNanos()) / wall;
            System.out.printf("[sandbox] cgroup CPU cap 0.2: %.3f CPU-s per wall second over %d ms; throttled %d "
                    + "periods (%d ms); memory peak %.1f MiB of %.1f MiB limit%n", cpuPerSecond, wall / 1_000_000,
                after.throttledPeriods(), after.throttledNanos() / 1_000_000, after.memoryPeakBytes() / 1048576.0,
                after.memoryLimitBytes() / 1048576.0);
            assertTrue(cpuPerSecond <= 0.25, "CPU per second: " + cpuPerSecond);
            assertTrue(cpuPerSecond >= 0.1, "the program did burn: " + cpuPerSecond);
            assertTrue(after.throttledPeriods() > 0, "throttled");
            assertEquals(96L << 20, after.memoryLimitBytes());
            assertTrue(after.memoryPeakBytes() > 0 && after.memoryPeakBytes() <= after.memoryLimitBytes(),
                "peak " + after.memoryPeakBytes());
            Map<String, Long> map = r.sandbox.stats();
            assertTrue(map.containsKey("cpu_ns") && map.containsKey("memory_peak_bytes"), map.toString());
            r.unit.send(TestUnit.shutdown());
            assertEquals(0, r.exit(Duration.ofSeconds(20)), r.output());
        }
        for (Path d : dirs) {
            assertFalse(Files.exists(d), d + " left behind");
        }
    }
}
