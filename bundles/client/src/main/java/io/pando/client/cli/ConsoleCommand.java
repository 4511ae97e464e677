package io.pando.client.cli;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code pando console "COMMAND"}: runs one Karaf console command on the local node over SSH in exec mode and
 * exits with a status a script can test. Made for scripts and CI: no terminal, no stdin.
 */
@Command(name = "console", mixinStandardHelpOptions = true, sortOptions = false,
    description = {"Run one console command on the running Pando node and print its output.",
        "For scripts and CI: needs no terminal and no stdin. Quote the command: pando console \"bundle:list -s\".",
        "Defaults: host 127.0.0.1; port = sshPort in $KARAF_HOME/etc/org.apache.karaf.shell.cfg, else 8101;",
        "user/password = options, else $PANDO_CONSOLE_USER / $PANDO_CONSOLE_PASSWORD, else the first user",
        "in $KARAF_HOME/etc/users.properties."},
    exitCodeListHeading = "%nExit status:%n",
    exitCodeList = {"0:the command succeeded", "1:the command failed on the node (its error is on stderr)",
        "2:invalid options or settings", "3:cannot connect to the node (not running, wrong port)",
        "4:authentication failed", "5:timeout"})
public final class ConsoleCommand implements Callable<Integer> {

    static final long RETRY_MILLIS = 1000;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--host", paramLabel = "HOST", description = "SSH host of the node (default 127.0.0.1).")
    String host;

    @Option(names = "--port", paramLabel = "PORT",
        description = "SSH port (default: sshPort of $KARAF_HOME/etc/org.apache.karaf.shell.cfg, else 8101).")
    Integer port;

    @Option(names = "--user", paramLabel = "USER",
        description = "Console user (default: $PANDO_CONSOLE_USER, else the first user in users.properties).")
    String user;

    @Option(names = "--password-file", paramLabel = "FILE",
        description = "File whose first line is the password (default: $PANDO_CONSOLE_PASSWORD, else the "
            + "user's entry in users.properties).")
    Path passwordFile;

    @Option(names = "--timeout", paramLabel = "S", defaultValue = "120",
        description = "Give up on an attempt (connect, login, command) after this many seconds "
            + "(default ${DEFAULT-VALUE}).")
    double timeout;

    @Option(names = "--wait", paramLabel = "S", defaultValue = "0",
        description = "Retry for up to this many seconds until the node answers and the command succeeds, "
            + "e.g. right after bin/start (default ${DEFAULT-VALUE}: one attempt).")
    double waitSeconds;

    @Parameters(arity = "1..*", paramLabel = "COMMAND",
        description = "The console command; several words are joined with spaces.")
    List<String> command;

    /** The environment the defaults come from; tests replace it. */
    Map<String, String> env = System.getenv();

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        ConsoleTarget target = settings();
        String line = String.join(" ", command);
        long waitUntil = System.nanoTime() + (long) (waitSeconds * 1e9);
        int attempts = 0;
        try (ConsoleClient client = new ConsoleClient()) {
            while (true) {
                attempts++;
                ConsoleClient.Attempt a = client.run(target, line, (long) (timeout * 1000));
                boolean retry = !a.ok() && System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(RETRY_MILLIS) < waitUntil;
                if (retry) {
                    Thread.sleep(RETRY_MILLIS);
                    continue;
                }
                print(out, a.out());
                print(err, a.err());
                if (!a.ok()) {
                    err.println("console: " + a.message() + (attempts > 1 ? " (after " + attempts + " attempts in "
                        + String.format(Locale.ROOT, "%.0f", waitSeconds) + " s)" : ""));
                    err.flush();
                }
                return a.outcome().exitCode;
            }
        }
    }

    /** Validates the options and resolves the connection settings; a bad one is a usage error (status 2). */
    ConsoleTarget settings() {
        if (!(timeout > 0) || !(waitSeconds >= 0) || Double.isInfinite(timeout) || Double.isInfinite(waitSeconds)) {
            throw new CommandLine.ParameterException(spec.commandLine(), "need --timeout > 0 and --wait >= 0");
        }
        if (port != null && (port < 1 || port > 65535)) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--port must be in 1 .. 65535");
        }
        if (command.stream().allMatch(String::isBlank)) {
            throw new CommandLine.ParameterException(spec.commandLine(), "COMMAND is empty");
        }
        try {
            return ConsoleTarget.resolve(host, port, user, passwordFile, env);
        } catch (ConsoleTarget.ConfigException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage());
        }
    }

    /** Copies the node's output as UTF-8 text without ANSI escapes (for scripts), through the command's writer. */
    private static void print(PrintWriter w, byte[] bytes) {
        if (bytes.length > 0) {
            w.print(ConsoleClient.plain(bytes));
            w.flush();
        }
    }
}
