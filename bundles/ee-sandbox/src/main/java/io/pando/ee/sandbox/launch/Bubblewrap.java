package io.pando.ee.sandbox.launch;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;

/**
 * The bubblewrap confinement of a sandbox (docs/ee.md): new user, PID, network, IPC, UTS, cgroup and mount
 * namespaces; uid and gid 65534; every capability dropped; read-only binds of the system directories and the JDK
 * (plus what the JDK links to outside them, e.g. {@code /etc/java-17-openjdk}); a private {@code /proc},
 * {@code /dev} and {@code /tmp}; the runtime directory and the program jar read-only at fixed paths; the socket's
 * directory the one writable bind. {@code /sys} is not there at all (JDK 17 crashes in its container detection when
 * it sees {@code /sys/fs/cgroup} from inside).
 */
final class Bubblewrap {

    /** Where bubblewrap is expected. */
    static final Path BWRAP = Path.of("/usr/bin/bwrap");
    /** The runtime directory, inside. */
    static final Path INSIDE_RUNTIME = Path.of("/pando/runtime");
    /** The program jar, inside. */
    static final Path INSIDE_PROGRAM = Path.of("/pando/program.jar");
    /** The socket's directory, inside. */
    static final Path INSIDE_IO = Path.of("/pando/io");
    /** The uid and gid inside ("nobody"). */
    static final int NOBODY = 65534;

    private static final List<String> SYSTEM_DIRS = List.of("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32");
    private static final List<String> SYSTEM_FILES = List.of("/etc/ld.so.cache", "/etc/ld.so.conf",
        "/etc/ld.so.conf.d", "/etc/localtime", "/etc/nsswitch.conf");
    private static final Probe PROBE = new Probe(Bubblewrap::probe);

    private Bubblewrap() {
    }

    /**
     * @return why bubblewrap cannot be used here, or null if it can: {@value #BWRAP} exists and runs
     *         {@code /bin/true} in the sandbox's namespaces (probed once per JVM)
     */
    static String unavailableReason() {
        return PROBE.reason();
    }

    private static String probe() {
        if (!Files.isExecutable(BWRAP)) {
            return BWRAP + " is not installed";
        }
        return Probe.run(probeCommand(), "bubblewrap probe");
    }

    /** @return a bubblewrap command line in the sandbox's namespaces that runs {@code /bin/true} */
    static List<String> probeCommand() {
        List<String> cmd = new ArrayList<>(base());
        cmd.addAll(systemBinds(null));
        cmd.add("/bin/true");
        return cmd;
    }

    private static List<String> base() {
        return List.of(BWRAP.toString(), "--unshare-all", "--die-with-parent", "--new-session",
            "--uid", Integer.toString(NOBODY), "--gid", Integer.toString(NOBODY), "--cap-drop", "ALL",
            "--hostname", "pando-sandbox");
    }

    /** @return the binds of /usr, the merged-/usr links or directories, the dynamic linker's files and the JDK */
    private static List<String> systemBinds(Path javaHome) {
        List<String> a = new ArrayList<>(List.of("--ro-bind", "/usr", "/usr"));
        for (String d : SYSTEM_DIRS) {
            Path p = Path.of(d);
            try {
                if (Files.isSymbolicLink(p)) {
                    a.addAll(List.of("--symlink", Files.readSymbolicLink(p).toString(), d));
                } else if (Files.isDirectory(p)) {
                    a.addAll(List.of("--ro-bind", d, d));
                }
            } catch (IOException e) {
                // unreadable link: leave it out
            }
        }
        for (String f : SYSTEM_FILES) {
            if (Files.exists(Path.of(f))) {
                a.addAll(List.of("--ro-bind", f, f));
            }
        }
        if (javaHome != null) {
            for (Path p : jdkBinds(javaHome)) {
                a.addAll(List.of("--ro-bind", p.toString(), p.toString()));
            }
        }
        return a;
    }

    /**
     * @return what the JDK at {@code javaHome} needs bound besides /usr: the JDK itself if it lies elsewhere, and
     *         the targets of its symbolic links outside /usr (Debian links {@code lib/jvm.cfg} and {@code conf/}
     *         into {@code /etc/java-17-openjdk}): a target in an {@code /etc/java*} directory is bound as that
     *         directory, any other target as itself (so {@code lib/security/cacerts} brings one file of
     *         {@code /etc/ssl}, not the directory with its private keys)
     */
    static Set<Path> jdkBinds(Path javaHome) {
        Set<Path> out = new LinkedHashSet<>();
        Path home;
        try {
            home = javaHome.toRealPath();
        } catch (IOException e) {
            return out;
        }
        if (!home.startsWith("/usr")) {
            out.add(home);
        }
        try (Stream<Path> walk = Files.walk(home, 6)) {
            walk.filter(Files::isSymbolicLink).limit(10_000).forEach(link -> {
                try {
                    Path target = link.toRealPath();
                    if (target.startsWith("/usr") || target.startsWith(home)) {
                        return;
                    }
                    if (target.startsWith("/etc") && target.getNameCount() >= 2
                        && target.getName(1).toString().startsWith("java")) {
                        out.add(Path.of("/etc").resolve(target.getName(1))); // the JDK's configuration
                    } else {
                        out.add(target); // just the file linked to (never e.g. all of /etc/ssl)
                    }
                } catch (IOException e) {
                    // dangling link: nothing to bind
                }
            });
        } catch (IOException e) {
            // unreadable JDK: the sandbox will say what is missing
        }
        out.removeIf(p -> p.equals(Path.of("/etc")) || !Files.exists(p, LinkOption.NOFOLLOW_LINKS));
        return out;
    }

    /**
     * @return the bubblewrap command line, up to and including {@code --}, for a JVM from {@code javaHome} running
     *         the runtime directory and program jar at {@link #INSIDE_RUNTIME} and {@link #INSIDE_PROGRAM}, with the
     *         socket's directory at {@link #INSIDE_IO}
     */
    static List<String> command(Path javaHome, Path runtime, Path programJar, Path socketDir) {
        List<String> a = new ArrayList<>(base());
        a.addAll(systemBinds(javaHome));
        a.addAll(List.of("--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp",
            "--ro-bind", runtime.toString(), INSIDE_RUNTIME.toString(),
            "--ro-bind", programJar.toString(), INSIDE_PROGRAM.toString(),
            "--bind", socketDir.toString(), INSIDE_IO.toString(),
            "--chdir", "/tmp", "--"));
        return a;
    }
}
