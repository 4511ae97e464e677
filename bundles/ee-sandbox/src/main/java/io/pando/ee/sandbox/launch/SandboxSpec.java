package io.pando.ee.sandbox.launch;

import java.nio.file.Path;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicLong;

/**
 * What to start: one sandbox for one program, session and unit.
 *
 * @param runtime the runtime directory: {@code sandbox.jar}, {@code felix.jar}, {@code bundles/}
 * @param programJar the program bundle
 * @param program the program's name (its {@code ActiveProgram} service property {@code name})
 * @param socket the Unix domain socket the unit listens on; its directory is the one the sandbox may write
 *        ({@code PATH.seq} goes there)
 * @param cpus the cgroup's CPU quota in CPUs, &gt; 0 (default 0.5)
 * @param memoryMb the cgroup's memory limit in MiB, at least {@value #MIN_MEMORY_MB} (default 128); the heap gets
 *        half
 * @param bubblewrap whether to confine the JVM with bubblewrap
 * @param java the {@code java} executable (default: this JVM's)
 * @param name the sandbox's name: its cgroup's name, safe characters only (see {@link #sanitize})
 * @param cgroups whether to put the sandbox into a cgroup when cgroups are usable (default true)
 */
public record SandboxSpec(Path runtime, Path programJar, String program, Path socket, double cpus, int memoryMb,
    Bubblewrap bubblewrap, Path java, String name, boolean cgroups) {

    /** Default CPU quota, in CPUs. */
    public static final double DEFAULT_CPUS = 0.5;
    /** Default memory limit, MiB. */
    public static final int DEFAULT_MEMORY_MB = 128;
    /** Smallest memory limit, MiB: the JVM, Felix and SCR need about 40 MiB. */
    public static final int MIN_MEMORY_MB = 64;
    /** Longest sandbox name. */
    public static final int MAX_NAME = 100;

    private static final AtomicLong COUNTER = new AtomicLong();

    /** Whether a sandbox is confined by bubblewrap. */
    public enum Bubblewrap {
        /** Always: the start fails if bubblewrap is missing or does not work here. */
        ON,
        /** Never. */
        OFF,
        /** When {@code /usr/bin/bwrap} exists and a probe run works (probed once per JVM). */
        AUTO
    }

    /** Checks the values. */
    public SandboxSpec {
        Objects.requireNonNull(runtime, "runtime");
        Objects.requireNonNull(programJar, "programJar");
        Objects.requireNonNull(program, "program");
        Objects.requireNonNull(socket, "socket");
        Objects.requireNonNull(bubblewrap, "bubblewrap");
        Objects.requireNonNull(java, "java");
        Objects.requireNonNull(name, "name");
        if (program.isEmpty()) {
            throw new IllegalArgumentException("a program name is not empty");
        }
        if (!(cpus > 0) || cpus > 1024) {
            throw new IllegalArgumentException("cpus is in (0, 1024], got " + cpus);
        }
        if (memoryMb < MIN_MEMORY_MB || memoryMb > 1 << 20) {
            throw new IllegalArgumentException("memoryMb is in [" + MIN_MEMORY_MB + ", " + (1 << 20) + "], got "
                + memoryMb);
        }
        if (!name.equals(sanitize(name)) || name.isEmpty()) {
            throw new IllegalArgumentException("a sandbox name has 1 to " + MAX_NAME
                + " characters of [A-Za-z0-9._-] and does not start with '.', got '" + name + "'");
        }
        if (socket.getParent() == null) {
            throw new IllegalArgumentException("the socket path needs a directory: " + socket);
        }
    }

    /** @return a builder with the defaults */
    public static Builder builder() {
        return new Builder();
    }

    /** @return the heap size, MiB: half the memory limit */
    public int heapMb() {
        return memoryMb / 2;
    }

    /**
     * @param text anything, e.g. {@code pando-ee-<unit>-<session>}
     * @return {@code text} with every character outside {@code [A-Za-z0-9._-]} replaced by '_', a leading '.'
     *         replaced by '_', cut to {@value #MAX_NAME} characters: a safe cgroup and file name
     */
    public static String sanitize(String text) {
        String s = text.replaceAll("[^A-Za-z0-9._-]", "_");
        if (s.startsWith(".")) {
            s = "_" + s.substring(1);
        }
        return s.length() > MAX_NAME ? s.substring(0, MAX_NAME) : s;
    }

    /** Builds a {@link SandboxSpec}; runtime, program jar, program and socket are required. */
    public static final class Builder {
        private Path runtime;
        private Path programJar;
        private String program;
        private Path socket;
        private double cpus = DEFAULT_CPUS;
        private int memoryMb = DEFAULT_MEMORY_MB;
        private Bubblewrap bubblewrap = Bubblewrap.AUTO;
        private Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        private String name;
        private boolean cgroups = true;

        private Builder() {
        }

        /** @param v the runtime directory @return this */
        public Builder runtime(Path v) {
            runtime = v;
            return this;
        }

        /** @param v the program bundle @return this */
        public Builder programJar(Path v) {
            programJar = v;
            return this;
        }

        /** @param v the program's name @return this */
        public Builder program(String v) {
            program = v;
            return this;
        }

        /** @param v the unit's socket @return this */
        public Builder socket(Path v) {
            socket = v;
            return this;
        }

        /** @param v CPU quota in CPUs @return this */
        public Builder cpus(double v) {
            cpus = v;
            return this;
        }

        /** @param v memory limit in MiB @return this */
        public Builder memoryMb(int v) {
            memoryMb = v;
            return this;
        }

        /** @param v bubblewrap mode @return this */
        public Builder bubblewrap(Bubblewrap v) {
            bubblewrap = v;
            return this;
        }

        /** @param v the java executable @return this */
        public Builder java(Path v) {
            java = v;
            return this;
        }

        /** @param v the sandbox's name; sanitized here @return this */
        public Builder name(String v) {
            name = sanitize(v);
            return this;
        }

        /** @param v whether to use a cgroup when possible @return this */
        public Builder cgroups(boolean v) {
            cgroups = v;
            return this;
        }

        /** @return the spec; a default name is {@code pando-ee-<pid>-<n>} */
        public SandboxSpec build() {
            String n = name != null ? name
                : "pando-ee-" + ProcessHandle.current().pid() + "-" + COUNTER.incrementAndGet();
            return new SandboxSpec(runtime, programJar, program, socket, cpus, memoryMb, bubblewrap, java, n,
                cgroups);
        }
    }
}
