package io.pando.test.system;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** A process of the system under test; stdout and stderr go to files; {@link #close()} kills it and its children. */
final class ChildProcess implements AutoCloseable {

    final String name;
    final Path stdout;
    final Path stderr;
    private final Process process;

    private ChildProcess(String name, Process process, Path stdout, Path stderr) {
        this.name = name;
        this.process = process;
        this.stdout = stdout;
        this.stderr = stderr;
    }

    static ChildProcess start(String name, Path dir, List<String> command) throws IOException {
        Files.createDirectories(dir);
        Path out = dir.resolve(name + ".out");
        Path err = dir.resolve(name + ".err");
        Files.writeString(dir.resolve(name + ".cmd"), String.join(" ", command) + "\n");
        Process p = new ProcessBuilder(command)
            .redirectOutput(out.toFile())
            .redirectError(err.toFile())
            .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
            .start();
        return new ChildProcess(name, p, out, err);
    }

    /** Starts {@code java [jvmArgs] -jar <jar> args...} with the JVM running this test. */
    static ChildProcess java(String name, Path dir, Path jar, List<String> jvmArgs, List<String> args)
        throws IOException {
        List<String> cmd = new java.util.ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.addAll(jvmArgs);
        cmd.add("-jar");
        cmd.add(jar.toString());
        cmd.addAll(args);
        return start(name, dir, cmd);
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

    String out() {
        return read(stdout);
    }

    String err() {
        return read(stderr);
    }

    /** @return the last non-empty line of stdout */
    String lastLine() {
        String[] lines = out().strip().split("\\R");
        return lines[lines.length - 1];
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
