package io.pando.unit.impl;

import io.pando.api.router.Execution;
import io.pando.ee.sandbox.launch.Cgroups;
import io.pando.ee.sandbox.launch.Sandbox;
import io.pando.ee.sandbox.launch.SandboxLauncher;
import io.pando.ee.sandbox.launch.SandboxSpec;
import java.io.IOException;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletionStage;

/**
 * Sandbox processes started by the launcher of {@code bundles/ee-sandbox}: bubblewrap and a cgroup where
 * available. A sandbox starts with up to one CPU (starting a JVM and its framework costs about a CPU-second) and
 * gets its session's CPU share once it is ready.
 */
final class LaunchedSandboxes implements SandboxProcesses {

    private static final Logger LOG = System.getLogger(LaunchedSandboxes.class.getName());
    /** CPU share while a sandbox starts. */
    static final double START_CPUS = 1.0;

    private final Path runtime;
    private final SandboxSpec.Bubblewrap bubblewrap;

    private LaunchedSandboxes(Path runtime, SandboxSpec.Bubblewrap bubblewrap) {
        this.runtime = runtime;
        this.bubblewrap = bubblewrap;
    }

    /**
     * @param runtime the sandbox runtime directory
     * @param bubblewrap {@code auto}, {@code on} or {@code off}
     * @throws IllegalArgumentException if {@code bubblewrap} is none of those
     */
    static LaunchedSandboxes create(Path runtime, String bubblewrap) {
        SandboxSpec.Bubblewrap b;
        try {
            b = SandboxSpec.Bubblewrap.valueOf(bubblewrap.trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("sandbox.bubblewrap is auto, on or off, got '" + bubblewrap + "'");
        }
        return new LaunchedSandboxes(runtime, b);
    }

    @Override
    public String unavailable() {
        if (!Files.isRegularFile(runtime.resolve("sandbox.jar")) || !Files.isRegularFile(runtime.resolve("felix.jar"))) {
            return "no sandbox runtime in " + runtime + " (sandbox.jar, felix.jar, bundles/)";
        }
        if (bubblewrap == SandboxSpec.Bubblewrap.ON && SandboxLauncher.bubblewrapUnavailableReason() != null) {
            return "bubblewrap is required (sandbox.bubblewrap=on) but " + SandboxLauncher.bubblewrapUnavailableReason();
        }
        return null;
    }

    @Override
    public String confinement() {
        return (bubblewrap == SandboxSpec.Bubblewrap.OFF ? "bubblewrap off by configuration; "
            : "") + SandboxLauncher.confinement();
    }

    @Override
    public Handle start(String name, Path programJar, String program, Path socket, Execution limits)
        throws IOException {
        SandboxSpec spec = SandboxSpec.builder()
            .runtime(runtime)
            .programJar(programJar)
            .program(program)
            .socket(socket)
            .cpus(Math.max(START_CPUS, limits.cpus()))
            .memoryMb(limits.memoryMb())
            .bubblewrap(bubblewrap)
            .name(SandboxSpec.sanitize(name))
            .build();
        Sandbox sb = SandboxLauncher.start(spec);
        if (sb.cgroup().isEmpty() && Cgroups.host().available()) { // never run a sandbox uncapped where caps work
            sb.kill();
            try {
                sb.onExit().get(5, java.util.concurrent.TimeUnit.SECONDS);
            } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
                LOG.log(Level.WARNING, "sandbox " + name + " did not end within 5 s of SIGKILL");
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            sb.close();
            throw new IOException("its cgroup could not be set up: " + sb.cgroupUnavailableReason());
        }
        return new Handle() {
            @Override
            public long pid() {
                return sb.pid();
            }

            @Override
            public CompletionStage<Integer> onExit() {
                return sb.onExit();
            }

            @Override
            public void kill() {
                sb.kill();
            }

            @Override
            public void ready() {
                if (limits.cpus() < START_CPUS) {
                    sb.cgroup().ifPresent(g -> {
                        try {
                            g.setCpuLimit(limits.cpus());
                        } catch (IOException e) {
                            LOG.log(Level.WARNING, "cannot set the CPU share of sandbox " + name, e);
                        }
                    });
                }
            }

            @Override
            public Map<String, Long> stats() {
                return sb.stats();
            }

            @Override
            public String output() {
                return sb.output();
            }

            @Override
            public void close() {
                try {
                    sb.close();
                } catch (IOException e) {
                    LOG.log(Level.DEBUG, "sandbox " + name + " cleanup", e);
                }
            }
        };
    }
}
