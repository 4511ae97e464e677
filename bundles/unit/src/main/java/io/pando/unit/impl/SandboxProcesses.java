package io.pando.unit.impl;

import io.pando.api.router.Execution;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.CompletionStage;

/** Starts sandbox processes (docs/ee.md): a child JVM, confined, that connects to a unit's socket. */
interface SandboxProcesses {

    /**
     * Starts a sandbox; returns once the process runs (it connects to {@code socket} when it is ready).
     *
     * @param name unique name of this sandbox (its cgroup's name)
     * @param programJar the program bundle
     * @param program the program's name
     * @param socket where the unit listens
     * @param limits memory and CPU share
     * @throws IOException if the process cannot be started
     */
    Handle start(String name, Path programJar, String program, Path socket, Execution limits) throws IOException;

    /** @return why sandboxes cannot run here, or null if they can */
    String unavailable();

    /** @return how sandboxes are confined here, one line (bubblewrap, cgroup version) */
    String confinement();

    /** A running sandbox process. */
    interface Handle {

        /** @return the process id */
        long pid();

        /** @return completes with the exit status when the process has ended */
        CompletionStage<Integer> onExit();

        /** Kills the process and everything it started (SIGKILL). */
        void kill();

        /** The sandbox said READY: from now on it runs under its session's limits. */
        default void ready() {
        }

        /** @return the cgroup's accounting: cpu_ns, memory_peak_bytes, oom_kills, throttled... (empty without one) */
        Map<String, Long> stats();

        /** @return the last lines the process wrote to its standard output and error */
        String output();

        /** Releases what the sandbox held (its cgroup); after the process has ended. */
        void close();
    }
}
