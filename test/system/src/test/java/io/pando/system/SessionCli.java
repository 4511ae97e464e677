package io.pando.system;

import static org.junit.jupiter.api.Assertions.assertFalse;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The {@code pando session} command line as a user runs it (docs/control.md): {@code bin/pando session SUB --control
 * ENDPOINTS --user USER --password-file DIR/FILE ARGS}, started from a node's copy of the assembly with the leak
 * detection of the test JVM. Every call leaves {@code NN-USER-SUB.cmd|out|err} in the directory, so a failing step
 * can be rerun by hand.
 */
final class SessionCli {

    final Path dir;
    private final KarafNode launcher;
    private final String control;
    private final AtomicInteger calls = new AtomicInteger();

    /**
     * @param launcher the node whose {@code bin/pando} runs the calls (any node: the client is a separate process)
     * @param dir where the password files are and the calls' files go
     * @param control the {@code --control} value: one endpoint, or several comma-separated (tried in order)
     */
    SessionCli(KarafNode launcher, Path dir, String control) {
        this.launcher = launcher;
        this.dir = dir;
        this.control = control;
    }

    /** What one call gave; {@code describe} is its command line and output, for messages. */
    record Call(int exit, String out, String err, double seconds, String describe) {

        String lastLine() {
            String[] lines = out.strip().split("\\R");
            return lines[lines.length - 1].strip();
        }

        /** @return the JSON object on the last line (calls with --json) */
        Map<String, Object> json() {
            return JsonValue.object(lastLine());
        }
    }

    /** @return the next number for a file label in the directory (calls and the test's own processes share them) */
    int nextLabel() {
        return calls.incrementAndGet();
    }

    /**
     * Runs {@code pando session SUB} as {@code user} with the password in {@code passwordFile} (in the directory) and
     * waits up to 60 s for it; fails if it reports a leaked buffer.
     */
    Call run(String user, String passwordFile, String sub, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("session", sub, "--control", control, "--user", user,
            "--password-file", dir.resolve(passwordFile).toString()));
        cmd.addAll(List.of(args));
        String label = String.format(Locale.ROOT, "%02d-%s-%s", nextLabel(), user, sub);
        long t0 = System.nanoTime();
        try (SystemProcess p = launcher.pando(label, dir, cmd)) {
            int exit = p.waitFor(60);
            double seconds = (System.nanoTime() - t0) / 1e9;
            assertFalse(p.err().contains("LEAK:"), label + " leaked buffers" + p.describe());
            return new Call(exit, p.out(), p.err(), seconds, p.describe());
        }
    }
}
