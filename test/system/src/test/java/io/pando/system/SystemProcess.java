package io.pando.system;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One process of the system under test ({@code bin/pando ...}, {@code bin/start}): no stdin, stdout and stderr
 * in files next to a {@code .cmd} file that repeats the command line, so every step can be rerun by hand. The
 * moment the process ended is recorded when it ends, not when a test thread gets around to asking.
 * {@link #close()} kills it and its children.
 */
final class SystemProcess implements AutoCloseable {

    final String name;
    final Path stdout;
    final Path stderr;
    /** {@link System#nanoTime()} when the process was started */
    final long startedNanos;
    private final Process process;
    private volatile long endedNanos;

    private SystemProcess(String name, Process process, Path stdout, Path stderr, long startedNanos) {
        this.name = name;
        this.process = process;
        this.stdout = stdout;
        this.stderr = stderr;
        this.startedNanos = startedNanos;
        process.onExit().thenRun(() -> endedNanos = System.nanoTime());
    }

    /**
     * @param env variables added to this process's environment
     */
    static SystemProcess start(String name, Path dir, List<String> command, Map<String, String> env)
        throws IOException {
        Files.createDirectories(dir);
        Path out = dir.resolve(name + ".out");
        Path err = dir.resolve(name + ".err");
        StringBuilder line = new StringBuilder();
        env.forEach((k, v) -> line.append(k).append("='").append(v).append("' "));
        for (String word : command) {
            line.append(word.matches("[\\w./:=,@+-]+") ? word : "'" + word + "'").append(' ');
        }
        Files.writeString(dir.resolve(name + ".cmd"), line.toString().strip() + "\n");
        ProcessBuilder pb = new ProcessBuilder(command)
            .directory(dir.toFile())
            .redirectOutput(out.toFile())
            .redirectError(err.toFile())
            .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
        pb.environment().putAll(env);
        long started = System.nanoTime();
        return new SystemProcess(name, pb.start(), out, err, started);
    }

    /** @return the exit status, or -1 if the process did not end in time (it is then killed) */
    int waitFor(long seconds) throws InterruptedException {
        if (process.waitFor(seconds, TimeUnit.SECONDS)) {
            return process.exitValue();
        }
        close();
        return -1;
    }

    boolean isAlive() {
        return process.isAlive();
    }

    long pid() {
        return process.pid();
    }

    /** @return {@link System#nanoTime()} when the process ended, 0 while it runs */
    long endedNanos() {
        return endedNanos;
    }

    String out() {
        return read(stdout);
    }

    String err() {
        return read(stderr);
    }

    /** @return the last non-empty line of stdout, "" if there is none */
    String lastLine() {
        String[] lines = out().strip().split("\\R");
        return lines[lines.length - 1].strip();
    }

    /** Waits until stdout matches {@code pattern}; returns group 1. */
    String await(Pattern pattern, long seconds) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (System.nanoTime() < deadline) {
            Matcher m = pattern.matcher(out());
            if (m.find()) {
                return m.group(1);
            }
            if (!process.isAlive()) {
                break;
            }
            Thread.sleep(20);
        }
        throw new AssertionError(name + " printed no " + pattern + ": out=" + out() + " err=" + err());
    }

    /** @return what a failure message should show: both outputs and where the files are */
    String describe() {
        return "\n--- " + name + " stdout (" + stdout + "):\n" + out() + "\n--- " + name + " stderr:\n" + err();
    }

    private static String read(Path p) {
        try {
            return Files.exists(p) ? Files.readString(p, StandardCharsets.UTF_8) : "";
        } catch (IOException e) {
            return "(unreadable: " + e + ")";
        }
    }

    @Override
    public void close() {
        process.descendants().forEach(ProcessHandle::destroyForcibly);
        process.destroyForcibly();
        try {
            process.waitFor(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
