package io.pando.ee.sandbox.launch;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Starts sandboxes (docs/ee.md):
 *
 * <pre>
 * /bin/sh -c 'echo $$ &gt; CG/cgroup.procs …; exec "$@"' sh  bwrap …  --  java -Xmx… -cp sandbox.jar:felix.jar \
 *     io.pando.ee.sandbox.SandboxMain --socket PATH --runtime DIR --program-bundle JAR --program NAME
 * </pre>
 *
 * The shell joins the sandbox's cgroup (every hierarchy) and replaces itself with bubblewrap, which starts the JVM,
 * so that everything the sandbox runs is inside the cgroup from its first instruction. Without a usable cgroup there
 * is no shell; without bubblewrap the JVM is started directly with the real paths.
 *
 * <p>The JVM: heap half the memory limit ({@code -Xmx}), bounded metaspace, code cache, direct memory and thread
 * stacks, serial GC, one processor, {@code -XX:+ExitOnOutOfMemoryError}; container detection off (the limits are
 * given explicitly); a clean environment.
 */
public final class SandboxLauncher {

    /** The sandbox's main class. */
    public static final String MAIN_CLASS = "io.pando.ee.sandbox.SandboxMain";
    /** Bytes of output kept per sandbox. */
    public static final int OUTPUT_BYTES = 64 << 10;

    private SandboxLauncher() {
    }

    /**
     * Starts a sandbox. Returns once the process runs; it connects to the socket when its program is loaded.
     *
     * @param spec what to start
     * @return the running sandbox; {@link Sandbox#close()} releases it
     * @throws IOException if a file of the runtime is missing, bubblewrap is required but unusable, or the process
     *         cannot be started
     */
    public static Sandbox start(SandboxSpec spec) throws IOException {
        Path runtime = spec.runtime().toAbsolutePath().normalize();
        Path programJar = spec.programJar().toAbsolutePath().normalize();
        Path socket = spec.socket().toAbsolutePath().normalize();
        for (Path need : List.of(runtime.resolve("sandbox.jar"), runtime.resolve("felix.jar"))) {
            if (!Files.isRegularFile(need)) {
                throw new IOException("the sandbox runtime directory " + runtime + " lacks " + need.getFileName());
            }
        }
        if (!Files.isDirectory(runtime.resolve("bundles"))) {
            throw new IOException("the sandbox runtime directory " + runtime + " lacks bundles/");
        }
        if (!Files.isRegularFile(programJar)) {
            throw new IOException("the program jar " + programJar + " does not exist");
        }
        if (!Files.isDirectory(socket.getParent())) {
            throw new IOException("the socket's directory " + socket.getParent() + " does not exist");
        }
        if (!Files.isExecutable(spec.java())) {
            throw new IOException("no java executable at " + spec.java());
        }

        boolean bwrap = switch (spec.bubblewrap()) {
            case OFF -> false;
            case AUTO -> Bubblewrap.unavailableReason() == null;
            case ON -> {
                String why = Bubblewrap.unavailableReason();
                if (why != null) {
                    throw new IOException("bubblewrap is required for sandbox " + spec.name() + " but unusable: " + why);
                }
                yield true;
            }
        };
        String noBwrap = spec.bubblewrap() == SandboxSpec.Bubblewrap.OFF ? "bubblewrap off"
            : bwrap ? null : Bubblewrap.unavailableReason();

        Cgroups.Group group = null;
        String noCgroup = null;
        if (!spec.cgroups()) {
            noCgroup = "cgroups off";
        } else {
            Cgroups cg = Cgroups.host();
            if (!cg.available()) {
                noCgroup = cg.unavailableReason();
            } else {
                try {
                    group = cg.create(spec.name(), spec.cpus(), (long) spec.memoryMb() << 20);
                } catch (IOException | RuntimeException e) {
                    noCgroup = "cannot create cgroup " + spec.name() + ": " + e.getMessage();
                }
            }
        }

        Path tmp = null;
        try {
            Path javaHome = javaHome(spec.java());
            List<String> cmd = new ArrayList<>();
            if (group != null) {
                StringBuilder script = new StringBuilder();
                for (Path procs : group.procsFiles()) {
                    script.append("echo $$ > ").append(quote(procs.toString())).append(" || { echo ")
                        .append(quote("pando-sandbox: cannot join cgroup " + procs)).append(" >&2; exit 97; }; ");
                }
                script.append("exec \"$@\"");
                cmd.addAll(List.of("/bin/sh", "-c", script.toString(), "sh"));
            }
            Path inRuntime;
            Path inJar;
            Path inSocket;
            String tmpDir;
            String outside = "";
            if (bwrap) {
                String asIs = Unprivileged.unavailableReason();
                if (asIs == null) {
                    asIs = Unprivileged.unreadable(runtime);
                }
                if (asIs == null) {
                    asIs = Unprivileged.unreadable(programJar);
                }
                if (asIs == null) {
                    asIs = Unprivileged.unsearchableAbove(socket.getParent());
                }
                if (asIs == null) {
                    Unprivileged.handOver(socket.getParent());
                    cmd.addAll(Unprivileged.prefix());
                    outside = " as uid " + Unprivileged.UID;
                } else {
                    outside = " as uid " + Unprivileged.currentUid() + " (" + asIs + ")";
                }
                cmd.addAll(Bubblewrap.command(javaHome, runtime, programJar, socket.getParent()));
                inRuntime = Bubblewrap.INSIDE_RUNTIME;
                inJar = Bubblewrap.INSIDE_PROGRAM;
                inSocket = Bubblewrap.INSIDE_IO.resolve(socket.getFileName());
                tmpDir = "/tmp";
            } else {
                inRuntime = runtime;
                inJar = programJar;
                inSocket = socket;
                tmp = Files.createTempDirectory("pando-sandbox-");
                tmpDir = tmp.toString();
            }
            cmd.add(spec.java().toString());
            cmd.addAll(jvmOptions(spec, tmpDir));
            cmd.addAll(List.of("-cp", inRuntime.resolve("sandbox.jar") + ":" + inRuntime.resolve("felix.jar"),
                MAIN_CLASS, "--socket", inSocket.toString(), "--runtime", inRuntime.toString(),
                "--program-bundle", inJar.toString(), "--program", spec.program()));

            ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
            Map<String, String> env = pb.environment();
            env.clear();
            env.put("PATH", "/usr/bin:/bin");
            env.put("LC_ALL", "C.UTF-8");
            env.put("HOME", "/tmp");
            long launched = System.nanoTime();
            Process p = pb.start();
            String confinement = (bwrap ? "bubblewrap" + outside : "no bubblewrap (" + noBwrap + ")") + ", "
                + (group != null ? Cgroups.host().describe().replaceFirst(" \\(.*", "") + " group " + group.name()
                    + " (" + spec.cpus() + " CPU, weight " + Cgroups.weightFor(Cgroups.host().version().orElseThrow(),
                        spec.cpus()) + ", " + spec.memoryMb() + " MiB)"
                    : "no cgroup (" + noCgroup + ")");
            return new Sandbox(spec, p, List.copyOf(cmd), bwrap, group, noCgroup, tmp, confinement, launched);
        } catch (IOException | RuntimeException e) {
            if (group != null) {
                try {
                    group.close();
                } catch (IOException ce) {
                    e.addSuppressed(ce);
                }
            }
            Sandbox.deleteTree(tmp);
            throw e;
        }
    }

    /** @return the JVM options for {@code spec} */
    static List<String> jvmOptions(SandboxSpec spec, String tmpDir) {
        int heap = spec.heapMb();
        int metaspace = Math.max(32, spec.memoryMb() / 4);
        return List.of(
            "-Xmx" + heap + "m",
            "-Xms" + Math.min(heap, 16) + "m",
            "-XX:MaxMetaspaceSize=" + metaspace + "m",
            "-XX:ReservedCodeCacheSize=24m",
            "-XX:MaxDirectMemorySize=16m",
            "-Xss512k",
            "-XX:+UseSerialGC",
            "-XX:ActiveProcessorCount=1",
            "-XX:+ExitOnOutOfMemoryError",
            "-XX:-UseContainerSupport",
            "-XX:-UsePerfData",
            "-Xshare:auto",
            "-Djava.io.tmpdir=" + tmpDir);
    }

    private static Path javaHome(Path java) throws IOException {
        Path real = java.toRealPath();
        Path bin = real.getParent();
        return bin == null || bin.getParent() == null ? real : bin.getParent();
    }

    /** @return {@code s} quoted for /bin/sh */
    static String quote(String s) {
        return "'" + s.replace("'", "'\\''") + "'";
    }

    /**
     * @return one line saying how sandboxes are confined here: bubblewrap usable or why not, and the cgroups or why
     *         none
     */
    public static String confinement() {
        String bw = Bubblewrap.unavailableReason();
        String uid = Unprivileged.unavailableReason();
        return (bw == null ? "bubblewrap " + Bubblewrap.BWRAP + (uid == null ? " as uid " + Unprivileged.UID
            : " (" + uid + ")") : "no bubblewrap (" + bw + ")") + "; " + Cgroups.host().describe();
    }

    /**
     * @return why a sandbox's bubblewrap cannot run under an unprivileged uid here (the router is not root, or
     *         {@code setpriv} or unprivileged user namespaces are missing), or null if it can (probed once per JVM)
     */
    public static String unprivilegedUnavailableReason() {
        return Unprivileged.unavailableReason();
    }

    /** @return why bubblewrap cannot be used here, or null if it can (probed once per JVM) */
    public static String bubblewrapUnavailableReason() {
        return Bubblewrap.unavailableReason();
    }
}
