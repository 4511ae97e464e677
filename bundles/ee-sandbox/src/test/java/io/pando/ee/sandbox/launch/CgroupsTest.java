package io.pando.ee.sandbox.launch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Cgroup detection from /proc/self/cgroup and mountinfo, on made-up hosts. */
class CgroupsTest {

    @Test
    void detectsHybridV1UnderTheProcessOwnGroups(@TempDir Path root) throws Exception {
        Path fs = root.resolve("fs");
        Files.createDirectories(fs.resolve("cpu,cpuacct/svc"));
        Files.createDirectories(fs.resolve("memory/svc/app"));
        Path cgroup = Files.writeString(root.resolve("cgroup"), String.join("\n",
            "5:memory:/svc/app", "3:cpu,cpuacct:/svc", "1:name=systemd:/", "0::/"));
        Path mountinfo = Files.writeString(root.resolve("mountinfo"), String.join("\n",
            "31 23 0:28 / " + fs + " rw,relatime - tmpfs tmpfs rw,mode=755",
            "32 31 0:29 / " + fs + "/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct",
            "35 31 0:32 / " + fs + "/memory rw,relatime - cgroup cgroup rw,memory",
            "41 31 0:38 / " + fs + "/unified rw,relatime - cgroup2 cgroup2 rw"));
        Cgroups c = Cgroups.detect(cgroup, mountinfo, false);
        assertTrue(c.available(), c.unavailableReason());
        assertEquals(Cgroups.Version.V1, c.version().orElseThrow());
        assertTrue(c.describe().contains("memory " + fs.resolve("memory/svc/app")), c.describe());
        assertTrue(c.describe().contains("cpu " + fs.resolve("cpu,cpuacct/svc")), c.describe());
    }

    @Test
    void mapsAGroupPathUnderAMountRoot(@TempDir Path root) throws Exception {
        Path fs = root.resolve("memory");
        Files.createDirectories(fs.resolve("app"));
        Files.createDirectories(root.resolve("cpu"));
        Files.createDirectories(root.resolve("cpuacct"));
        // a container that sees /docker/abc as its hierarchy root, mounted at fs
        Path cgroup = Files.writeString(root.resolve("cgroup"), String.join("\n",
            "5:memory:/docker/abc/app", "3:cpu:/", "2:cpuacct:/"));
        Path mountinfo = Files.writeString(root.resolve("mountinfo"), String.join("\n",
            "35 31 0:32 /docker/abc " + fs + " rw - cgroup cgroup rw,memory",
            "36 31 0:33 / " + root.resolve("cpu") + " rw - cgroup cgroup rw,cpu",
            "37 31 0:34 / " + root.resolve("cpuacct") + " rw - cgroup cgroup rw,cpuacct"));
        Cgroups c = Cgroups.detect(cgroup, mountinfo, false);
        assertTrue(c.available(), c.unavailableReason());
        assertTrue(c.describe().contains("memory " + fs.resolve("app")), c.describe());
    }

    @Test
    void detectsV2WithDelegationAndExplainsWithout(@TempDir Path root) throws Exception {
        Path fs = root.resolve("cg");
        Path group = Files.createDirectories(fs.resolve("router.slice"));
        Files.writeString(group.resolve("cgroup.controllers"), "cpuset cpu io memory pids\n");
        Files.writeString(group.resolve("cgroup.subtree_control"), "cpu memory\n");
        Path cgroup = Files.writeString(root.resolve("cgroup"), "0::/router.slice\n");
        Path mountinfo = Files.writeString(root.resolve("mountinfo"),
            "30 23 0:26 / " + fs + " rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n");
        Cgroups c = Cgroups.detect(cgroup, mountinfo, false);
        assertTrue(c.available(), c.unavailableReason());
        assertEquals(Cgroups.Version.V2, c.version().orElseThrow());

        Files.writeString(group.resolve("cgroup.controllers"), "pids\n");
        Cgroups none = Cgroups.detect(cgroup, mountinfo, false);
        assertFalse(none.available());
        assertTrue(none.unavailableReason().contains("not cpu and memory"), none.unavailableReason());
        assertTrue(none.unavailableReason().contains("cgroup v1: no cgroup v1 hierarchy with the cpu controller"),
            none.unavailableReason());
    }

    @Test
    void hostDetectionNeverFails() {
        Cgroups c = Cgroups.host();
        assertTrue(c.available() || c.unavailableReason() != null);
        System.out.println("[sandbox] cgroups here: " + c.describe());
    }

    @Test
    void weightIsProportionalToTheReservedShareWithinTheKernelRange() {
        assertEquals(1024, Cgroups.weightFor(Cgroups.Version.V1, 0.5));
        assertEquals(2048, Cgroups.weightFor(Cgroups.Version.V1, 1.0));
        assertEquals(410, Cgroups.weightFor(Cgroups.Version.V1, 0.2));
        assertEquals(1229, Cgroups.weightFor(Cgroups.Version.V1, 0.6));
        assertEquals(20, Cgroups.weightFor(Cgroups.Version.V1, 0.01));
        assertEquals(2, Cgroups.weightFor(Cgroups.Version.V1, 0.0001));
        assertEquals(131_072, Cgroups.weightFor(Cgroups.Version.V1, 64));
        assertEquals(262_144, Cgroups.weightFor(Cgroups.Version.V1, 200));
        assertEquals(100, Cgroups.weightFor(Cgroups.Version.V2, 0.5));
        assertEquals(2, Cgroups.weightFor(Cgroups.Version.V2, 0.01));
        assertEquals(1, Cgroups.weightFor(Cgroups.Version.V2, 0.0001));
        assertEquals(10_000, Cgroups.weightFor(Cgroups.Version.V2, 64));
    }

    /** On this host's real cgroups (when this process may create groups): the cap and the weight as the kernel holds them. */
    @Test
    void aRealGroupGetsItsCapAndItsWeight() throws Exception {
        Cgroups c = Cgroups.host();
        Assumptions.assumeTrue(c.available(), () -> "no usable cgroups here: " + c.unavailableReason());
        Cgroups.Version v = c.version().orElseThrow();
        String name = "pando-test-weight-" + ProcessHandle.current().pid();
        try (Cgroups.Group small = c.create(name + "-a", 0.2, 64L << 20);
             Cgroups.Group large = c.create(name + "-b", 0.6, 64L << 20)) {
            String capFile = v == Cgroups.Version.V1 ? "cpu.cfs_quota_us" : "cpu.max";
            Path smallCpu = small.distinctDirs().stream().filter(d -> Files.exists(d.resolve(capFile))).findFirst()
                .orElseThrow(() -> new AssertionError("no " + capFile + " in " + small.distinctDirs()));
            if (v == Cgroups.Version.V1) {
                assertEquals("20000", Files.readString(smallCpu.resolve("cpu.cfs_quota_us")).strip());
            } else {
                assertEquals("20000 100000", Files.readString(smallCpu.resolve("cpu.max")).strip());
            }
            long a = small.stats().cpuWeight();
            long b = large.stats().cpuWeight();
            assertEquals(Cgroups.weightFor(v, 0.2), a);
            assertEquals(Cgroups.weightFor(v, 0.6), b);
            assertEquals(a, small.stats().toMap().get("cpu_weight"));
            System.out.println("[sandbox] " + c.describe() + ": 0.2 CPU weighs " + a + ", 0.6 CPU " + b);
        }
    }

    @Test
    void sanitizesNames() {
        assertEquals("pando-ee-u1-s_42_x", SandboxSpec.sanitize("pando-ee-u1-s/42 x"));
        assertEquals("_hidden", SandboxSpec.sanitize(".hidden"));
        assertEquals(SandboxSpec.MAX_NAME, SandboxSpec.sanitize("a".repeat(300)).length());
    }
}
