package io.pando.ee.sandbox.launch;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * A router that runs as root starts each sandbox's bubblewrap under an unprivileged uid and gid ({@value #UID},
 * "nobody"), through {@code setpriv}: bubblewrap then maps the sandbox's uid 65534 to uid 65534 outside instead
 * of to root, so that a program that escaped its namespaces would hold no privilege on the host (docs/ee.md).
 *
 * <p>The sandbox's directory (socket and rings) is handed to that uid before the start; the runtime directory and
 * the program jar must be readable by it (every directory above them searchable by others). Where this cannot
 * work — no {@code setpriv}, user namespaces closed to unprivileged users, a runtime under a private directory such
 * as {@code /root} — the sandbox starts as before and the launcher says why in its confinement.
 */
final class Unprivileged {

    static final Path SETPRIV = Path.of("/usr/bin/setpriv");
    /** The uid and gid the sandbox runs under outside its namespaces. */
    static final int UID = Bubblewrap.NOBODY;
    /** At most this many entries of the runtime directory are checked (it holds a few dozen). */
    private static final int MAX_ENTRIES = 10_000;

    private static final Probe PROBE = new Probe(Unprivileged::probe);

    private Unprivileged() {
    }

    /** @return the uid this JVM runs as */
    static int currentUid() throws IOException {
        return (Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid");
    }

    /**
     * @return why a sandbox cannot be started under {@value #UID} here, or null if it can: this JVM runs as root,
     *         {@value #SETPRIV} exists and starts bubblewrap under that uid (probed once per JVM)
     */
    static String unavailableReason() {
        return PROBE.reason();
    }

    private static String probe() {
        try {
            int uid = currentUid();
            if (uid != 0) {
                return "the router runs as uid " + uid + ", and so does the sandbox";
            }
        } catch (IOException | RuntimeException e) {
            return "cannot tell the router's uid: " + e.getMessage();
        }
        if (!Files.isExecutable(SETPRIV)) {
            return SETPRIV + " is not installed";
        }
        List<String> cmd = new ArrayList<>(prefix());
        cmd.addAll(Bubblewrap.probeCommand());
        return Probe.run(cmd, "bubblewrap under uid " + UID);
    }

    /** @return what goes before bubblewrap's command line to run it under {@value #UID} */
    static List<String> prefix() {
        return List.of(SETPRIV.toString(), "--reuid=" + UID, "--regid=" + UID, "--clear-groups");
    }

    /**
     * @return why uid {@value #UID} cannot reach {@code dir} (a directory above it that others cannot search), or
     *         null if it can (the directory itself is handed to that uid)
     */
    static String unsearchableAbove(Path dir) {
        try {
            for (Path up = dir.toAbsolutePath().normalize().getParent(); up != null; up = up.getParent()) {
                if (!allows(up, PosixFilePermission.OTHERS_EXECUTE)) {
                    return up + " is not searchable by uid " + UID;
                }
            }
            return null;
        } catch (IOException | RuntimeException e) {
            return "cannot check " + dir + ": " + e.getMessage();
        }
    }

    /**
     * @return why uid {@value #UID} cannot read {@code path} (a file, or a directory and everything in it), or null
     *         if it can
     */
    static String unreadable(Path path) {
        try {
            Path p = path.toAbsolutePath().normalize();
            String above = unsearchableAbove(p);
            if (above != null) {
                return above;
            }
            int[] seen = {0};
            return unreadableTree(p, seen);
        } catch (IOException | RuntimeException e) {
            return "cannot check " + path + ": " + e.getMessage();
        }
    }

    private static String unreadableTree(Path p, int[] seen) throws IOException {
        if (++seen[0] > MAX_ENTRIES) {
            return p + ": more than " + MAX_ENTRIES + " entries";
        }
        if (!allows(p, PosixFilePermission.OTHERS_READ)) {
            return p + " is not readable by uid " + UID;
        }
        if (Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
            if (!allows(p, PosixFilePermission.OTHERS_EXECUTE)) {
                return p + " is not searchable by uid " + UID;
            }
            try (DirectoryStream<Path> entries = Files.newDirectoryStream(p)) {
                for (Path e : entries) {
                    String why = unreadableTree(e, seen);
                    if (why != null) {
                        return why;
                    }
                }
            }
        }
        return null;
    }

    /** @return whether {@code p} grants {@code others} to uid {@value #UID} (as its owner, or as anybody) */
    private static boolean allows(Path p, PosixFilePermission others) throws IOException {
        PosixFileAttributes a = Files.readAttributes(p, PosixFileAttributes.class);
        Set<PosixFilePermission> perms = a.permissions();
        if (perms.contains(others)) {
            return true;
        }
        int owner = (Integer) Files.getAttribute(p, "unix:uid");
        PosixFilePermission asOwner = PosixFilePermission.valueOf(others.name().replace("OTHERS", "OWNER"));
        return owner == UID && perms.contains(asOwner);
    }

    /** Gives the sandbox's directory, and the files in it (socket, rings), to uid and gid {@value #UID}. */
    static void handOver(Path dir) throws IOException {
        chown(dir);
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(dir)) {
            for (Path e : entries) {
                chown(e);
            }
        }
    }

    private static void chown(Path p) throws IOException {
        Files.setAttribute(p, "unix:uid", UID, LinkOption.NOFOLLOW_LINKS);
        Files.setAttribute(p, "unix:gid", UID, LinkOption.NOFOLLOW_LINKS);
    }
}
