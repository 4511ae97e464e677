package io.pando.system;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * A CPU cap for one process (all its threads), by a cgroup of its own, and the CPU time the process used since,
 * read back from the same cgroup. The group is made under this JVM's own cgroup: cgroup v1 when the {@code cpu}
 * and {@code cpuacct} controllers are mounted (separately or together; {@code cpu.cfs_quota_us} /
 * {@code cpu.cfs_period_us}, usage from {@code cpuacct.usage}, throttling from {@code cpu.stat}), otherwise the
 * unified v2 hierarchy ({@code cpu.max}, usage and throttling from {@code cpu.stat}), which must delegate the
 * {@code cpu} controller. Needs root (or a delegated subtree).
 *
 * <p>{@link #close()} moves the process (if still alive) back to the parent group and removes the group.
 */
final class CpuCap implements AutoCloseable {

    /** The group's directories: v1 {cpu, cpuacct} (the same when combined), v2 {unified}. */
    private final List<Path> groups;
    private final boolean v2;
    private final long pid;
    final double cpus;
    final long periodUs;

    private CpuCap(List<Path> groups, boolean v2, long pid, double cpus, long periodUs) {
        this.groups = groups;
        this.v2 = v2;
        this.pid = pid;
        this.cpus = cpus;
        this.periodUs = periodUs;
    }

    /**
     * Makes the group {@code name} with a quota of {@code cpus} CPUs per period of {@code periodUs} microseconds
     * (the process runs at most {@code cpus × periodUs} in each period, then waits for the next) and moves process
     * {@code pid} into it.
     *
     * @throws IOException when no cgroup hierarchy can be used: the message says why
     */
    static CpuCap apply(String name, long pid, double cpus, long periodUs) throws IOException {
        if (!(cpus > 0) || periodUs < 1000 || periodUs > 1_000_000) {
            throw new IllegalArgumentException("a CPU cap is > 0 CPUs per period of 1 ms to 1 s, got " + cpus
                + " per " + periodUs + " us");
        }
        List<String> self = Files.readAllLines(Path.of("/proc/self/cgroup"));
        List<String[]> mounts = new ArrayList<>();
        for (String line : Files.readAllLines(Path.of("/proc/self/mountinfo"))) {
            // ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPEROPTIONS
            String[] f = line.split(" ");
            int dash = Arrays.asList(f).indexOf("-");
            if (dash > 0 && dash + 3 < f.length) {
                mounts.add(new String[] {f[3], f[4], f[dash + 1], f[dash + 3]});
            }
        }
        Path cpu = v1Group("cpu", self, mounts);
        Path cpuacct = v1Group("cpuacct", self, mounts);
        long quota = Math.max(1000, Math.round(cpus * periodUs));
        if (cpu != null && cpuacct != null) {
            List<Path> dirs = new ArrayList<>(List.of(cpu.resolve(name)));
            if (!cpuacct.equals(cpu)) {
                dirs.add(cpuacct.resolve(name));
            }
            for (Path d : dirs) {
                removeIfExists(d);
                Files.createDirectory(d);
            }
            Path g = dirs.get(0);
            Files.writeString(g.resolve("cpu.cfs_period_us"), Long.toString(periodUs));
            Files.writeString(g.resolve("cpu.cfs_quota_us"), Long.toString(quota));
            for (Path d : dirs) {
                Files.writeString(d.resolve("cgroup.procs"), Long.toString(pid));
            }
            return new CpuCap(List.copyOf(dirs), false, pid, cpus, periodUs);
        }
        Path unified = null;
        for (String line : self) {
            if (line.startsWith("0::")) {
                unified = locate(line.substring(3), mounts, "cgroup2", null);
            }
        }
        if (unified == null) {
            throw new IOException("no cgroup v1 hierarchy with the cpu and cpuacct controllers and no cgroup v2 "
                + "hierarchy is mounted");
        }
        String delegated = Files.readString(unified.resolve("cgroup.subtree_control"));
        if (!Set.of(delegated.strip().split("\\s+")).contains("cpu")) {
            throw new IOException("cgroup v2: " + unified + " does not delegate the cpu controller (cgroup."
                + "subtree_control: '" + delegated.strip() + "')");
        }
        Path g = unified.resolve(name);
        removeIfExists(g);
        Files.createDirectory(g);
        Files.writeString(g.resolve("cpu.max"), quota + " " + periodUs);
        Files.writeString(g.resolve("cgroup.procs"), Long.toString(pid));
        return new CpuCap(List.of(g), true, pid, cpus, periodUs);
    }

    private static Path v1Group(String controller, List<String> self, List<String[]> mounts) {
        for (String line : self) {
            String[] f = line.split(":", 3);
            if (f.length == 3 && Arrays.asList(f[1].split(",")).contains(controller)) {
                return locate(f[2], mounts, "cgroup", controller);
            }
        }
        return null;
    }

    /** @return where the group {@code path} (as /proc/self/cgroup names it) is visible, or null */
    private static Path locate(String path, List<String[]> mounts, String fsType, String controller) {
        for (String[] m : mounts) {
            if (!m[2].equals(fsType)) {
                continue;
            }
            if (controller != null && !Arrays.asList(m[3].split(",")).contains(controller)) {
                continue;
            }
            String root = m[0];
            if (path.equals(root) || path.startsWith(root.endsWith("/") ? root : root + "/") || root.equals("/")) {
                String rel = root.equals("/") ? path : path.substring(root.length());
                Path p = Path.of(m[1] + (rel.startsWith("/") || rel.isEmpty() ? rel : "/" + rel));
                if (Files.isDirectory(p)) {
                    return p;
                }
            }
        }
        return null;
    }

    private static void removeIfExists(Path group) throws IOException {
        if (Files.isDirectory(group)) {
            Files.delete(group); // fails with EBUSY if a process of an earlier run is still in it
        }
    }

    /** One reading of the group's counters. */
    record Usage(long nanos, long cpuNanos, long throttledPeriods, long throttledNanos) {

        /** @return CPUs used per second of wall time since {@code before} */
        double cpusSince(Usage before) {
            return (cpuNanos - before.cpuNanos) / (double) Math.max(1, nanos - before.nanos);
        }
    }

    /** @return the CPU time used by the group so far, and its throttling */
    Usage usage() throws IOException {
        long now = System.nanoTime();
        if (v2) {
            long usec = stat(groups.get(0).resolve("cpu.stat"), "usage_usec");
            return new Usage(now, usec * 1000, stat(groups.get(0).resolve("cpu.stat"), "nr_throttled"),
                stat(groups.get(0).resolve("cpu.stat"), "throttled_usec") * 1000);
        }
        Path acct = groups.get(groups.size() - 1);
        long used = Long.parseLong(Files.readString(acct.resolve("cpuacct.usage")).strip());
        Path cpuStat = groups.get(0).resolve("cpu.stat");
        return new Usage(now, used, stat(cpuStat, "nr_throttled"), stat(cpuStat, "throttled_time"));
    }

    private static long stat(Path file, String key) throws IOException {
        for (String line : Files.readAllLines(file)) {
            String[] kv = line.strip().split("\\s+");
            if (kv.length == 2 && kv[0].equals(key)) {
                return Long.parseLong(kv[1]);
            }
        }
        throw new IOException("no " + key + " in " + file);
    }

    /** @return one line: the group and its quota */
    String describe() {
        return String.format(Locale.ROOT, "%s %.3f CPU (%d us per %d us period) %s", v2 ? "cgroup v2" : "cgroup v1",
            cpus, Math.max(1000, Math.round(cpus * periodUs)), periodUs, groups);
    }

    @Override
    public void close() throws IOException {
        for (Path g : groups) {
            Path parentProcs = g.getParent().resolve("cgroup.procs");
            if (ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)) {
                try {
                    Files.writeString(parentProcs, Long.toString(pid));
                } catch (IOException e) {
                    // it ended meanwhile
                }
            }
            if (Files.isDirectory(g)) {
                Files.delete(g);
            }
        }
    }
}
