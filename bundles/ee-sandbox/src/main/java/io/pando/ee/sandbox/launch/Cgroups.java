package io.pando.ee.sandbox.launch;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * The cgroups this process may create sandboxes' groups in: detected under the process's own cgroup (from
 * {@code /proc/self/cgroup} and {@code /proc/self/mountinfo}), cgroup v1 (separate or combined {@code cpu},
 * {@code cpuacct} and {@code memory} hierarchies; preferred on a hybrid host when they are mounted) or v2 (a
 * unified hierarchy whose group delegates {@code cpu} and {@code memory} to its children).
 *
 * <p>When they cannot be used (not mounted, read-only, not permitted, v2 without delegation),
 * {@link #unavailableReason()} says why and sandboxes run without: the caller reports it.
 *
 * <p>Thread-safe; {@link #host()} detects once per JVM.
 */
public final class Cgroups {

    /** A cgroup hierarchy layout. */
    public enum Version {
        /** Separate hierarchies per controller. */
        V1,
        /** The unified hierarchy. */
        V2
    }

    private static final long CFS_PERIOD_US = 100_000;
    private static volatile Cgroups host;

    private final Version version;
    private final String unavailable;
    /** v1: controller (cpu, cpuacct, memory) → the process's own group of that hierarchy; v2: "unified" → it. */
    private final Map<String, Path> parents;

    private Cgroups(Version version, String unavailable, Map<String, Path> parents) {
        this.version = version;
        this.unavailable = unavailable;
        this.parents = parents;
    }

    /** @return the cgroups of this process, detected (and probed by creating a group) once per JVM */
    public static Cgroups host() {
        Cgroups c = host;
        if (c == null) {
            synchronized (Cgroups.class) {
                c = host;
                if (c == null) {
                    c = detect(Path.of("/proc/self/cgroup"), Path.of("/proc/self/mountinfo"), true);
                    host = c;
                }
            }
        }
        return c;
    }

    /**
     * Detects the cgroups described by the given files.
     *
     * @param procSelfCgroup a {@code /proc/PID/cgroup} file
     * @param mountinfo a {@code /proc/PID/mountinfo} file
     * @param probe whether to check, by creating and removing a group, that groups can be created
     * @return what was found; never null
     */
    public static Cgroups detect(Path procSelfCgroup, Path mountinfo, boolean probe) {
        List<String> cgroupLines;
        List<String> mountLines;
        try {
            cgroupLines = Files.readAllLines(procSelfCgroup);
            mountLines = Files.readAllLines(mountinfo);
        } catch (IOException e) {
            return unavailable("cannot read " + procSelfCgroup + " or " + mountinfo + ": " + e);
        }
        List<Mount> mounts = new ArrayList<>();
        for (String line : mountLines) {
            Mount m = Mount.parse(line);
            if (m != null) {
                mounts.add(m);
            }
        }
        String v1Problem;
        Map<String, Path> v1 = new LinkedHashMap<>();
        v1Problem = null;
        for (String controller : List.of("cpu", "cpuacct", "memory")) {
            Path dir = v1Group(controller, cgroupLines, mounts);
            if (dir == null) {
                v1Problem = "no cgroup v1 hierarchy with the " + controller + " controller is mounted";
                break;
            }
            if (!Files.isDirectory(dir)) {
                v1Problem = "this process's " + controller + " cgroup " + dir + " is not visible";
                break;
            }
            v1.put(controller, dir);
        }
        Cgroups found;
        if (v1Problem == null) {
            found = new Cgroups(Version.V1, null, Map.copyOf(v1));
        } else {
            String v2Problem = null;
            Path unified = v2Group(cgroupLines, mounts);
            if (unified == null) {
                v2Problem = "no cgroup v2 hierarchy is mounted";
            } else if (!Files.isDirectory(unified)) {
                v2Problem = "this process's cgroup " + unified + " is not visible";
            } else {
                v2Problem = v2Delegation(unified);
            }
            if (v2Problem != null) {
                return unavailable("cgroup v1: " + v1Problem + "; cgroup v2: " + v2Problem);
            }
            found = new Cgroups(Version.V2, null, Map.of("unified", unified));
        }
        if (probe) {
            String problem = found.probe();
            if (problem != null) {
                return unavailable(problem);
            }
        }
        return found;
    }

    private static Cgroups unavailable(String reason) {
        return new Cgroups(null, reason, Map.of());
    }

    /** @return the group of this process in the v1 hierarchy carrying {@code controller}, or null */
    private static Path v1Group(String controller, List<String> cgroupLines, List<Mount> mounts) {
        for (String line : cgroupLines) {
            String[] f = line.split(":", 3);
            if (f.length < 3 || f[1].isEmpty()) {
                continue;
            }
            Set<String> controllers = new HashSet<>(Arrays.asList(f[1].split(",")));
            if (!controllers.contains(controller)) {
                continue;
            }
            for (Mount m : mounts) {
                if (m.fsType.equals("cgroup") && m.superOptions.containsAll(controllers)) {
                    return m.locate(f[2]);
                }
            }
        }
        return null;
    }

    /** @return the group of this process in the unified hierarchy, or null */
    private static Path v2Group(List<String> cgroupLines, List<Mount> mounts) {
        for (String line : cgroupLines) {
            if (line.startsWith("0::")) {
                for (Mount m : mounts) {
                    if (m.fsType.equals("cgroup2")) {
                        return m.locate(line.substring(3));
                    }
                }
            }
        }
        return null;
    }

    /** @return why {@code dir} cannot give cpu and memory to child groups, or null if it can */
    private static String v2Delegation(Path dir) {
        try {
            Set<String> available = words(dir.resolve("cgroup.controllers"));
            if (!available.containsAll(Set.of("cpu", "memory"))) {
                return dir + " has controllers " + available + ", not cpu and memory";
            }
            Set<String> delegated = words(dir.resolve("cgroup.subtree_control"));
            if (!delegated.containsAll(Set.of("cpu", "memory"))) {
                try {
                    Files.writeString(dir.resolve("cgroup.subtree_control"), "+cpu +memory");
                } catch (IOException e) {
                    return dir + " does not delegate cpu and memory to child groups (cgroup.subtree_control: "
                        + delegated + ") and enabling them failed: " + e.getMessage()
                        + " (a group with processes cannot; run the router in a leaf group of a delegated subtree)";
                }
            }
            return null;
        } catch (IOException e) {
            return "cannot read the controllers of " + dir + ": " + e;
        }
    }

    private static Set<String> words(Path file) throws IOException {
        String s = Files.readString(file).strip();
        return s.isEmpty() ? Set.of() : new HashSet<>(Arrays.asList(s.split("\\s+")));
    }

    /** @return why no group can be created, or null */
    private String probe() {
        String name = "pando-probe-" + ProcessHandle.current().pid() + "-" + System.nanoTime() % 1_000_000;
        for (Path parent : new LinkedHashSet<>(parents.values())) {
            Path d = parent.resolve(name);
            try {
                Files.createDirectory(d);
            } catch (IOException e) {
                return "cannot create a cgroup under " + parent + ": " + e.getMessage()
                    + (e.getMessage() != null && e.getMessage().contains("ermission") ? " (not root?)" : "");
            }
            try {
                Files.delete(d);
            } catch (IOException e) {
                return "cannot remove the probe cgroup " + d + ": " + e.getMessage();
            }
        }
        return null;
    }

    /** @return whether groups can be created */
    public boolean available() {
        return unavailable == null;
    }

    /** @return why groups cannot be created, or null if they can */
    public String unavailableReason() {
        return unavailable;
    }

    /** @return the layout in use, or empty if unavailable */
    public Optional<Version> version() {
        return Optional.ofNullable(version);
    }

    /** @return one line: the version and where groups are created, or why none can be */
    public String describe() {
        if (version == null) {
            return "no cgroups: " + unavailable;
        }
        return version == Version.V1
            ? "cgroup v1 (cpu " + parents.get("cpu") + ", cpuacct " + parents.get("cpuacct") + ", memory "
                + parents.get("memory") + ")"
            : "cgroup v2 (" + parents.get("unified") + ")";
    }

    /**
     * Creates a group for one sandbox, with its limits set.
     *
     * @param name the group's name, as {@link SandboxSpec#sanitize} makes it
     * @param cpus the CPU quota in CPUs (0.5 = half of one CPU), &gt; 0
     * @param memoryBytes the memory limit
     * @return the group; {@link Group#close()} removes it
     * @throws IOException if the group cannot be created or configured (what was created is removed)
     * @throws IllegalStateException if cgroups are unavailable
     */
    public Group create(String name, double cpus, long memoryBytes) throws IOException {
        if (version == null) {
            throw new IllegalStateException("cgroups are unavailable: " + unavailable);
        }
        if (!name.equals(SandboxSpec.sanitize(name))) {
            throw new IllegalArgumentException("not a valid cgroup name: '" + name + "'");
        }
        Map<String, Path> dirs = new LinkedHashMap<>();
        for (Map.Entry<String, Path> e : parents.entrySet()) {
            dirs.put(e.getKey(), e.getValue().resolve(name));
        }
        Group g = new Group(name, version, dirs);
        try {
            for (Path d : g.distinctDirs()) {
                Files.createDirectory(d);
                g.created.add(d);
            }
            g.setCpuLimit(cpus);
            g.setMemoryLimit(memoryBytes);
        } catch (IOException | RuntimeException e) {
            g.close();
            throw e;
        }
        return g;
    }

    /**
     * v1 {@code cpu.shares} per reserved CPU: twice the weight of a default group or of one nice-0 thread (1024), so
     * that a sandbox of the default share (half a CPU) weighs what a default group weighs.
     */
    public static final long V1_SHARES_PER_CPU = 2 * 1024;
    /** v2 {@code cpu.weight} per reserved CPU: twice the weight of a default group (100). */
    public static final long V2_WEIGHT_PER_CPU = 2 * 100;

    /**
     * The CPU weight of a group reserved {@code cpus}: proportional to the reservation, so that groups share a
     * contended CPU in proportion to what they reserved (0.2 and 0.6 CPU: 1 : 3), and a reserved CPU weighs what two
     * busy nice-0 threads (or default groups) weigh: a group of {@code c} CPUs keeps its {@code c} against up to
     * {@code 2 (1 - c)} such competitors on its CPU. Not more, because the groups are created inside the router's own
     * cgroup, where a heavier sandbox would take the CPU from the router's own threads (the data path of every
     * session; a sandbox restarting after a crash burns a CPU-second starting its JVM). The group's quota (its cap)
     * bounds what the weight can take from others: never more than the reservation. Clamped to the kernel's range:
     * v1 {@code cpu.shares} 2048 per CPU in [2, 262144], v2 {@code cpu.weight} 200 per CPU in [1, 10000].
     *
     * @param version the layout
     * @param cpus the reserved CPUs, &gt; 0
     * @return the value for {@code cpu.shares} (v1) or {@code cpu.weight} (v2)
     */
    public static long weightFor(Version version, double cpus) {
        return version == Version.V1 ? Math.max(2, Math.min(262_144, Math.round(cpus * V1_SHARES_PER_CPU)))
            : Math.max(1, Math.min(10_000, Math.round(cpus * V2_WEIGHT_PER_CPU)));
    }

    /**
     * Accounting read back from a group. A value the kernel does not offer is -1.
     *
     * @param cpuNanos CPU time used by the group's processes
     * @param memoryBytes memory in use now
     * @param memoryPeakBytes most memory used at once
     * @param memoryLimitBytes the memory limit
     * @param oomKills processes killed by the OOM killer in the group
     * @param memoryLimitHits times the memory limit was hit (v1 {@code memory.failcnt}, v2 {@code max} events)
     * @param throttledPeriods CFS periods in which the group was throttled
     * @param throttledNanos time the group was throttled
     * @param cpuWeight the group's CPU weight (v1 {@code cpu.shares}, v2 {@code cpu.weight})
     */
    public record Stats(long cpuNanos, long memoryBytes, long memoryPeakBytes, long memoryLimitBytes, long oomKills,
        long memoryLimitHits, long throttledPeriods, long throttledNanos, long cpuWeight) {

        /**
         * @return the known values by name: {@code cpu_ns}, {@code memory_bytes}, {@code memory_peak_bytes},
         *         {@code memory_limit_bytes}, {@code oom_kills}, {@code memory_limit_hits}, {@code throttled},
         *         {@code throttled_ns}, {@code cpu_weight}
         */
        public Map<String, Long> toMap() {
            Map<String, Long> m = new LinkedHashMap<>();
            put(m, "cpu_ns", cpuNanos);
            put(m, "memory_bytes", memoryBytes);
            put(m, "memory_peak_bytes", memoryPeakBytes);
            put(m, "memory_limit_bytes", memoryLimitBytes);
            put(m, "oom_kills", oomKills);
            put(m, "memory_limit_hits", memoryLimitHits);
            put(m, "throttled", throttledPeriods);
            put(m, "throttled_ns", throttledNanos);
            put(m, "cpu_weight", cpuWeight);
            return m;
        }

        private static void put(Map<String, Long> m, String k, long v) {
            if (v >= 0) {
                m.put(k, v);
            }
        }
    }

    /** One sandbox's group: a directory per v1 hierarchy, or one v2 directory. */
    public static final class Group implements AutoCloseable {
        private final String name;
        private final Version version;
        private final Map<String, Path> dirs;
        private final List<Path> created = new ArrayList<>();
        private volatile Stats last;
        private boolean closed;

        private Group(String name, Version version, Map<String, Path> dirs) {
            this.name = name;
            this.version = version;
            this.dirs = dirs;
        }

        /** @return the group's name */
        public String name() {
            return name;
        }

        /** @return the group's directories, one per hierarchy */
        public List<Path> distinctDirs() {
            return List.copyOf(new LinkedHashSet<>(dirs.values()));
        }

        /** @return the {@code cgroup.procs} files a process writes its pid to in order to join the group */
        public List<Path> procsFiles() {
            return distinctDirs().stream().map(d -> d.resolve("cgroup.procs")).toList();
        }

        /**
         * Sets the CPU share: the quota (a cap of {@code cpus} per CFS period) and the weight the group competes
         * with when the CPUs are contended ({@link #weightFor}): the cap keeps the group from taking more than
         * {@code cpus}, the weight lets it get that much against other work.
         *
         * @param cpus CPUs (0.5 = half of one CPU per period), &gt; 0
         */
        public void setCpuLimit(double cpus) throws IOException {
            if (!(cpus > 0) || cpus > 1024) {
                throw new IllegalArgumentException("a CPU quota is in (0, 1024] CPUs, got " + cpus);
            }
            long quota = Math.max(1000, Math.round(cpus * CFS_PERIOD_US));
            long weight = weightFor(version, cpus);
            if (version == Version.V1) {
                Path cpu = dirs.get("cpu");
                Files.writeString(cpu.resolve("cpu.cfs_period_us"), Long.toString(CFS_PERIOD_US));
                Files.writeString(cpu.resolve("cpu.cfs_quota_us"), Long.toString(quota));
                Files.writeString(cpu.resolve("cpu.shares"), Long.toString(weight));
            } else {
                Path u = dirs.get("unified");
                Files.writeString(u.resolve("cpu.max"), quota + " " + CFS_PERIOD_US);
                Files.writeString(u.resolve("cpu.weight"), Long.toString(weight));
            }
        }

        /** Sets the memory limit (and, where the kernel offers it, forbids swap beyond it). */
        public void setMemoryLimit(long bytes) throws IOException {
            if (bytes < 1 << 20) {
                throw new IllegalArgumentException("a memory limit is at least 1 MiB, got " + bytes);
            }
            if (version == Version.V1) {
                Path mem = dirs.get("memory");
                Files.writeString(mem.resolve("memory.limit_in_bytes"), Long.toString(bytes));
                tryWrite(mem.resolve("memory.memsw.limit_in_bytes"), Long.toString(bytes));
            } else {
                Path u = dirs.get("unified");
                Files.writeString(u.resolve("memory.max"), Long.toString(bytes));
                tryWrite(u.resolve("memory.swap.max"), "0");
            }
        }

        private static void tryWrite(Path file, String value) {
            if (Files.isWritable(file)) {
                try {
                    Files.writeString(file, value);
                } catch (IOException e) {
                    // optional (swap accounting off, or not permitted): the memory limit alone applies
                }
            }
        }

        /**
         * @return the group's accounting now; after {@link #close()}, the last one read before the group was
         *         removed
         */
        public Stats stats() {
            synchronized (this) {
                if (closed) {
                    Stats s = last;
                    return s == null ? new Stats(-1, -1, -1, -1, -1, -1, -1, -1, -1) : s;
                }
            }
            Stats s = version == Version.V1 ? statsV1() : statsV2();
            last = s;
            return s;
        }

        private Stats statsV1() {
            Path cpu = dirs.get("cpu");
            Path mem = dirs.get("memory");
            Map<String, Long> cpuStat = keyValues(cpu.resolve("cpu.stat"));
            Map<String, Long> oom = keyValues(mem.resolve("memory.oom_control"));
            return new Stats(
                number(dirs.get("cpuacct").resolve("cpuacct.usage")),
                number(mem.resolve("memory.usage_in_bytes")),
                number(mem.resolve("memory.max_usage_in_bytes")),
                number(mem.resolve("memory.limit_in_bytes")),
                oom.getOrDefault("oom_kill", -1L),
                number(mem.resolve("memory.failcnt")),
                cpuStat.getOrDefault("nr_throttled", -1L),
                cpuStat.getOrDefault("throttled_time", -1L),
                number(cpu.resolve("cpu.shares")));
        }

        private Stats statsV2() {
            Path u = dirs.get("unified");
            Map<String, Long> cpuStat = keyValues(u.resolve("cpu.stat"));
            Map<String, Long> events = keyValues(u.resolve("memory.events"));
            long usage = cpuStat.getOrDefault("usage_usec", -1L);
            long throttled = cpuStat.getOrDefault("throttled_usec", -1L);
            return new Stats(
                usage < 0 ? -1 : usage * 1000,
                number(u.resolve("memory.current")),
                number(u.resolve("memory.peak")),
                number(u.resolve("memory.max")),
                events.getOrDefault("oom_kill", -1L),
                events.getOrDefault("max", -1L),
                cpuStat.getOrDefault("nr_throttled", -1L),
                throttled < 0 ? -1 : throttled * 1000,
                number(u.resolve("cpu.weight")));
        }

        /** @return the ids of the processes in the group (any hierarchy) */
        public List<Long> pids() {
            Set<Long> pids = new LinkedHashSet<>();
            for (Path p : procsFiles()) {
                try {
                    for (String l : Files.readAllLines(p)) {
                        if (!l.isBlank()) {
                            pids.add(Long.parseLong(l.strip()));
                        }
                    }
                } catch (IOException | NumberFormatException e) {
                    // gone or unreadable: nothing to list
                }
            }
            return List.copyOf(pids);
        }

        /** Sends SIGKILL to every process in the group. */
        public void killAll() {
            for (long pid : pids()) {
                ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
            }
        }

        /**
         * Removes the group: reads its accounting a last time, kills what is left in it and removes its directories,
         * retrying for up to a second while the kernel still counts exiting processes. Idempotent.
         *
         * @throws IOException if a directory could not be removed in time
         */
        @Override
        public void close() throws IOException {
            synchronized (this) {
                if (closed) {
                    return;
                }
            }
            if (!created.isEmpty()) {
                try {
                    stats();
                } catch (RuntimeException e) {
                    // the last accounting is lost; removal matters more
                }
            }
            synchronized (this) {
                closed = true;
            }
            IOException failure = null;
            long deadline = System.nanoTime() + 1_000_000_000L;
            for (Path d : created) {
                while (true) {
                    try {
                        Files.deleteIfExists(d);
                        break;
                    } catch (IOException e) {
                        if (System.nanoTime() - deadline > 0) {
                            failure = new IOException("cannot remove cgroup " + d + " (processes left: "
                                + pids() + "): " + e.getMessage(), e);
                            break;
                        }
                        killAll();
                        try {
                            Thread.sleep(10);
                        } catch (InterruptedException ie) {
                            Thread.currentThread().interrupt();
                            failure = new IOException("interrupted while removing cgroup " + d, ie);
                            break;
                        }
                    }
                }
            }
            if (failure != null) {
                throw failure;
            }
        }

        @Override
        public String toString() {
            return name + " " + distinctDirs();
        }
    }

    private static long number(Path file) {
        try {
            String s = Files.readString(file).strip();
            return s.equals("max") ? Long.MAX_VALUE : Long.parseLong(s);
        } catch (NoSuchFileException e) {
            return -1;
        } catch (IOException | NumberFormatException e) {
            return -1;
        }
    }

    private static Map<String, Long> keyValues(Path file) {
        Map<String, Long> m = new LinkedHashMap<>();
        try {
            for (String l : Files.readAllLines(file)) {
                String[] kv = l.strip().split("\\s+");
                if (kv.length == 2) {
                    try {
                        m.put(kv[0], Long.parseLong(kv[1]));
                    } catch (NumberFormatException e) {
                        // not a counter
                    }
                }
            }
        } catch (IOException e) {
            // absent: empty
        }
        return m;
    }

    /** One line of /proc/self/mountinfo, the fields cgroup detection needs. */
    record Mount(String root, Path mountPoint, String fsType, Set<String> superOptions) {

        static Mount parse(String line) {
            int sep = line.indexOf(" - ");
            if (sep < 0) {
                return null;
            }
            String[] before = line.substring(0, sep).split(" ");
            String[] after = line.substring(sep + 3).split(" ");
            if (before.length < 5 || after.length < 3) {
                return null;
            }
            return new Mount(unescape(before[3]), Path.of(unescape(before[4])), after[0],
                new HashSet<>(Arrays.asList(after[2].toLowerCase(Locale.ROOT).split(","))));
        }

        /** @return the directory of the group {@code path} (as /proc/PID/cgroup names it) under this mount */
        Path locate(String path) {
            String rel = path;
            if (!root.equals("/") && (path.equals(root) || path.startsWith(root + "/"))) {
                rel = path.substring(root.length());
            }
            rel = rel.replaceAll("^/+", "");
            return rel.isEmpty() ? mountPoint : mountPoint.resolve(rel);
        }

        private static String unescape(String s) {
            StringBuilder b = new StringBuilder(s.length());
            for (int i = 0; i < s.length(); i++) {
                char c = s.charAt(i);
                if (c == '\\' && i + 3 < s.length() && s.substring(i + 1, i + 4).matches("[0-7]{3}")) {
                    b.append((char) Integer.parseInt(s.substring(i + 1, i + 4), 8));
                    i += 3;
                } else {
                    b.append(c);
                }
            }
            return b.toString();
        }
    }
}
