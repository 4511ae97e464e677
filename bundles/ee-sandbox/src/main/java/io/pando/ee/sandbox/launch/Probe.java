package io.pando.ee.sandbox.launch;

import java.io.IOException;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * What a confinement needs from this machine, found out once per JVM: the first {@link #reason()} runs the check
 * (e.g. a command in the sandbox's namespaces), later calls return its answer.
 */
final class Probe {

    private final Supplier<String> check;
    private volatile String answer;

    /** @param check returns why the confinement cannot be used here, or the empty string if it can */
    Probe(Supplier<String> check) {
        this.check = check;
    }

    /** @return why the confinement cannot be used here, or null if it can */
    String reason() {
        String a = answer;
        if (a == null) {
            synchronized (this) {
                a = answer;
                if (a == null) {
                    a = check.get();
                    answer = a;
                }
            }
        }
        return a.isEmpty() ? null : a;
    }

    /**
     * Runs {@code command} with no input, for at most 5 s.
     *
     * @param what names the probe in the reason
     * @return the empty string if it exited 0, else why not (with its output)
     */
    static String run(List<String> command, String what) {
        try {
            Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
            p.getOutputStream().close();
            if (!p.waitFor(5, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return what + " did not finish within 5 s";
            }
            String out = new String(p.getInputStream().readAllBytes()).strip();
            return p.exitValue() == 0 ? "" : what + " failed (exit " + p.exitValue() + "): " + out;
        } catch (IOException e) {
            return what + " could not run: " + e.getMessage();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return what + " interrupted";
        }
    }
}
