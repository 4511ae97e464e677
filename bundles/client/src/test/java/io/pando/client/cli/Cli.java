package io.pando.client.cli;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import io.pando.client.Main;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine;

/** Runs the real CLI entry point in a thread of the test JVM and captures its output. */
final class Cli {

    final StringWriter out = new StringWriter();
    final StringWriter err = new StringWriter();
    private final CompletableFuture<Integer> exit = new CompletableFuture<>();

    private Cli() {
    }

    static Cli start(String... args) {
        Cli cli = new Cli();
        Thread t = new Thread(() -> {
            try {
                CommandLine cl = new CommandLine(new Main());
                cl.setOut(new PrintWriter(cli.out, true));
                cl.setErr(new PrintWriter(cli.err, true));
                cli.exit.complete(cl.execute(args));
            } catch (Throwable e) {
                cli.exit.completeExceptionally(e);
            }
        }, "pando " + String.join(" ", args));
        t.setDaemon(true);
        t.start();
        return cli;
    }

    static Cli run(String... args) {
        Cli cli = start(args);
        cli.exitCode(60);
        return cli;
    }

    int exitCode(long timeoutSeconds) {
        try {
            return exit.get(timeoutSeconds, TimeUnit.SECONDS);
        } catch (Exception e) {
            throw new AssertionError("pando did not finish: out=" + out + " err=" + err, e);
        }
    }

    /** Waits until the output contains {@code text}. */
    void awaitOutput(String text, long timeoutSeconds) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(timeoutSeconds);
        while (!out.toString().contains(text)) {
            if (exit.isDone() || System.nanoTime() > deadline) {
                throw new AssertionError("no '" + text + "' in output: out=" + out + " err=" + err);
            }
            Thread.sleep(10);
        }
    }

    /** @return the last output line, parsed as a JSON object (nested objects as maps) */
    Map<String, Object> json() {
        String[] lines = out.toString().strip().split("\\R");
        return parse(lines[lines.length - 1]);
    }

    static Map<String, Object> parse(String line) {
        try (JsonParser p = new JsonFactory().createParser(line)) {
            if (p.nextToken() != JsonToken.START_OBJECT) {
                throw new AssertionError("not a JSON object: " + line);
            }
            return object(p);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static Map<String, Object> object(JsonParser p) throws IOException {
        Map<String, Object> map = new LinkedHashMap<>();
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String name = p.currentName();
            JsonToken t = p.nextToken();
            map.put(name, switch (t) {
                case START_OBJECT -> object(p);
                case VALUE_NUMBER_INT -> p.getLongValue();
                case VALUE_NUMBER_FLOAT -> p.getDoubleValue();
                case VALUE_TRUE, VALUE_FALSE -> p.getBooleanValue();
                case VALUE_NULL -> null;
                default -> p.getText();
            });
        }
        return map;
    }
}
