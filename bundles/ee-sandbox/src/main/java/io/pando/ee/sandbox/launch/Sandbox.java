package io.pando.ee.sandbox.launch;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A started sandbox process: its process tree ({@code sh} replaced by bubblewrap, bubblewrap's init, the JVM; or
 * the JVM alone), its cgroup and its output.
 *
 * <p>Thread-safe. {@link #close()} kills what is left and removes the cgroup; call it once the sandbox is no longer
 * wanted, whether it ended by itself or not.
 */
public final class Sandbox implements AutoCloseable {

    private final SandboxSpec spec;
    private final Process process;
    private final List<String> command;
    private final boolean bubblewrap;
    private final Cgroups.Group group;
    private final String noCgroup;
    private final Path tmp;
    private final String confinement;
    private final long launchedNanos;
    private final OutputRing output = new OutputRing(SandboxLauncher.OUTPUT_BYTES);
    private final CompletableFuture<Integer> exit;
    private final Thread reader;
    private volatile boolean closed;

    Sandbox(SandboxSpec spec, Process process, List<String> command, boolean bubblewrap, Cgroups.Group group,
        String noCgroup, Path tmp, String confinement, long launchedNanos) {
        this.spec = spec;
        this.process = process;
        this.command = command;
        this.bubblewrap = bubblewrap;
        this.group = group;
        this.noCgroup = noCgroup;
        this.tmp = tmp;
        this.confinement = confinement;
        this.launchedNanos = launchedNanos;
        this.reader = new Thread(this::pump, "pando-sandbox-output-" + spec.name());
        reader.setDaemon(true);
        reader.start();
        this.exit = process.onExit().thenApply(p -> {
            if (group != null) {
                try {
                    group.stats(); // the last accounting while the group still exists
                } catch (RuntimeException e) {
                    // kept from an earlier read
                }
            }
            return p.exitValue();
        });
    }

    private void pump() {
        byte[] b = new byte[4096];
        try (InputStream in = process.getInputStream()) {
            int n;
            while ((n = in.read(b)) > 0) {
                output.write(b, 0, n);
            }
        } catch (IOException e) {
            // the process is gone
        }
    }

    /** @return the spec it was started with */
    public SandboxSpec spec() {
        return spec;
    }

    /** @return the id of the process started (bubblewrap, or the JVM without it) */
    public long pid() {
        return process.pid();
    }

    /** @return the sandbox's JVM as seen from here (under bubblewrap, a descendant in another PID namespace) */
    public Optional<ProcessHandle> jvm() {
        if (!bubblewrap) {
            return Optional.of(process.toHandle());
        }
        List<ProcessHandle> d = process.descendants().toList();
        for (ProcessHandle h : d) {
            if (h.info().command().map(c -> c.endsWith("/java")).orElse(false)) {
                return Optional.of(h);
            }
        }
        return d.isEmpty() ? Optional.empty() : Optional.of(d.get(d.size() - 1));
    }

    /** @return whether the process started is still running */
    public boolean isAlive() {
        return process.isAlive();
    }

    /**
     * Kills the sandbox with SIGKILL: every process of its tree (bubblewrap, its init, the JVM) and anything left in
     * its cgroup, so that no JVM is orphaned.
     */
    public void kill() {
        List<ProcessHandle> tree = new ArrayList<>(process.descendants().toList());
        process.destroyForcibly();
        for (int i = tree.size() - 1; i >= 0; i--) {
            tree.get(i).destroyForcibly();
        }
        if (group != null) {
            group.killAll();
        }
    }

    /** @return completes with the exit status of the process started when it has ended */
    public CompletableFuture<Integer> onExit() {
        return exit;
    }

    /** @return {@link System#nanoTime()} when the process was started (to measure the start-up time) */
    public long launchedNanos() {
        return launchedNanos;
    }

    /** @return whether bubblewrap confines the sandbox */
    public boolean bubblewrap() {
        return bubblewrap;
    }

    /** @return the sandbox's cgroup, or empty if it runs without one (see {@link #cgroupUnavailableReason()}) */
    public Optional<Cgroups.Group> cgroup() {
        return Optional.ofNullable(group);
    }

    /** @return why the sandbox has no cgroup, or null if it has one */
    public String cgroupUnavailableReason() {
        return noCgroup;
    }

    /**
     * @return the cgroup's accounting (as {@link Cgroups.Stats#toMap()}), the last one read if the group is gone,
     *         empty without a cgroup
     */
    public Map<String, Long> stats() {
        return group == null ? Map.of() : group.stats().toMap();
    }

    /** @return the last {@value SandboxLauncher#OUTPUT_BYTES} bytes the process wrote to stdout and stderr */
    public String output() {
        return output.toString();
    }

    /** @return one line: bubblewrap or not, the cgroup or why none */
    public String confinement() {
        return confinement;
    }

    /** @return the command line it was started with */
    public List<String> command() {
        return command;
    }

    /**
     * Kills what is left of the sandbox, waits for it to end (up to 2 s), removes its cgroup (its accounting stays
     * readable through {@link #stats()}) and its temporary directory. Idempotent.
     *
     * @throws IOException if the cgroup could not be removed
     */
    @Override
    public void close() throws IOException {
        if (closed) {
            return;
        }
        closed = true;
        if (process.isAlive() || process.descendants().findAny().isPresent()) {
            kill();
        }
        try {
            process.waitFor(2, TimeUnit.SECONDS);
            reader.join(500);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        try {
            if (group != null) {
                group.close();
            }
        } finally {
            deleteTree(tmp);
        }
    }

    static void deleteTree(Path dir) {
        if (dir == null) {
            return;
        }
        try (Stream<Path> walk = Files.walk(dir)) {
            walk.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            // best effort
        }
    }

    @Override
    public String toString() {
        return "sandbox " + spec.name() + " (pid " + pid() + ", " + confinement + ")";
    }
}
