package io.pando.unit.impl;

import java.io.IOException;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

/**
 * What a unit's sandboxes share: the process starter, a short base directory for their sockets (a Unix socket
 * path has at most 107 bytes), the directory of program jars, and a thread for the slow work (packing a jar,
 * starting a process, deleting a directory) that must not run on the unit's loop.
 */
final class SandboxHost {

    private static final Logger LOG = System.getLogger(SandboxHost.class.getName());

    private final SandboxProcesses processes;
    private final Path base;
    private final Path jars;
    private final ExecutorService slow;

    /**
     * @param processes starts sandbox processes
     * @param jars where program jars are kept for sandboxes
     * @param unit the unit's id (names the threads)
     */
    SandboxHost(SandboxProcesses processes, Path jars, String unit) throws IOException {
        this.processes = processes;
        this.base = shortBase();
        this.jars = Files.createDirectories(jars);
        ThreadPoolExecutor ex = new ThreadPoolExecutor(1, 4, 30, TimeUnit.SECONDS, new LinkedBlockingQueue<>(), r -> {
            Thread t = new Thread(r, "pando-unit-" + unit + "-sandbox");
            t.setDaemon(true);
            return t;
        });
        this.slow = ex;
    }

    /** Longest socket path this host makes: a Unix socket path has at most 107 bytes. */
    static final int MAX_SOCKET_PATH = 100;

    /**
     * A directory for sockets (and each sandbox's rings and seq file) with a short path: /dev/shm (memory: the
     * rings' pages are never written back to a disk), else /tmp (Karaf points java.io.tmpdir into its data
     * directory, which may be deep), else java.io.tmpdir.
     */
    private static Path shortBase() throws IOException {
        Path base = null;
        for (String d : new String[] {"/dev/shm", "/tmp"}) {
            Path p = Path.of(d);
            if (base == null && Files.isDirectory(p) && Files.isWritable(p)) {
                try {
                    // others may pass through (not list): a sandbox started under uid 65534 reaches its own directory
                    base = Files.createTempDirectory(p, "pando-ee-", java.nio.file.attribute.PosixFilePermissions
                        .asFileAttribute(java.nio.file.attribute.PosixFilePermissions.fromString("rwx--x--x")));
                } catch (IOException e) {
                    LOG.log(Level.DEBUG, "cannot use " + d + " for sandbox sockets", e);
                }
            }
        }
        if (base == null) {
            base = Files.createTempDirectory("pando-ee-");
        }
        int longest = base.toString().length() + "/xxxxxxx-00000/ee.sock.seq".length();
        if (longest > MAX_SOCKET_PATH) {
            throw new IOException("the sandbox socket directory " + base + " is too deep for Unix socket paths ("
                + longest + " > " + MAX_SOCKET_PATH + " bytes)");
        }
        return base;
    }

    SandboxProcesses processes() {
        return processes;
    }

    Path jarDirectory() {
        return jars;
    }

    /**
     * @return a name for one sandbox, safe for a cgroup and a file name; a random suffix keeps it unique even next
     *     to groups an earlier router process could not remove
     */
    String sandboxName(String unit, String session, int incarnation) {
        String suffix = Long.toString(java.util.concurrent.ThreadLocalRandom.current().nextLong() >>> 28, 36);
        return ("pando-ee-" + unit + "-" + session + "-" + incarnation + "-" + suffix).replaceAll("[^A-Za-z0-9._-]",
            "_");
    }

    /**
     * Slow thread: waits up to {@code graceMillis} for a sandbox to exit by itself, kills it (and everything it
     * started), waits for the end and releases its cgroup.
     */
    void finish(SandboxProcesses.Handle h, long graceMillis) {
        java.util.concurrent.CompletableFuture<Integer> exit = h.onExit().toCompletableFuture();
        try {
            if (graceMillis > 0) {
                exit.get(graceMillis, TimeUnit.MILLISECONDS);
            }
        } catch (java.util.concurrent.TimeoutException | java.util.concurrent.ExecutionException e) {
            // still running (or its end could not be observed): killed below
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        h.kill();
        try {
            exit.get(5, TimeUnit.SECONDS);
        } catch (java.util.concurrent.TimeoutException | java.util.concurrent.ExecutionException e) {
            LOG.log(Level.WARNING, "a sandbox did not end within 5 s of SIGKILL");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        h.close();
    }

    /** @return a fresh directory for one sandbox's socket */
    Path newDirectory(String name) throws IOException {
        Path d = base.resolve(Integer.toString(name.hashCode() & 0x7fffffff, 36) + "-" + System.nanoTime() % 100_000);
        Files.createDirectories(d);
        return d;
    }

    /** Runs slow work off the unit's loop. */
    void launch(Runnable task) {
        try {
            slow.execute(task);
        } catch (java.util.concurrent.RejectedExecutionException e) {
            LOG.log(Level.DEBUG, "sandbox host stopped; task dropped", e);
        }
    }

    void stop() {
        slow.shutdown(); // sandboxes being finished are killed and their cgroups removed first
        try {
            slow.awaitTermination(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        try (var walk = Files.walk(base)) {
            walk.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            LOG.log(Level.DEBUG, "cannot remove " + base, e);
        }
    }
}
