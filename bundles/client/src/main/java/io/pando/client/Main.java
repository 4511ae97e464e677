package io.pando.client;

import io.pando.client.cli.ArtpCommand;
import io.pando.client.cli.ConsoleCommand;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The {@code pando} command-line tool. Exit status: 0 success, 1 the operation failed (message on stderr),
 * 2 invalid usage; {@code pando console} adds 3 (cannot connect), 4 (authentication failed) and 5 (timeout).
 */
@Command(name = "pando", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
    description = "Pando distributed active router: command-line tools.",
    subcommands = {ArtpCommand.class, ConsoleCommand.class, io.pando.client.cli.DemoCommand.class,
        io.pando.client.cli.SessionCommand.class, CommandLine.HelpCommand.class})
public final class Main implements Runnable {

    @picocli.CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    public static void main(String[] args) {
        // A load generator and checker: Netty's sampled leak tracking (a stack trace every 128 buffers) costs a
        // third of its rate. Tests and debugging turn it on with -Dio.netty.leakDetection.level=paranoid.
        if (System.getProperty("io.netty.leakDetection.level") == null) {
            io.netty.util.ResourceLeakDetector.setLevel(io.netty.util.ResourceLeakDetector.Level.DISABLED);
        }
        System.exit(new CommandLine(new Main()).execute(args));
    }

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "missing command");
    }

    /** Reports the version recorded in the jar's manifest. */
    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = Main.class.getPackage().getImplementationVersion();
            return new String[] {"pando " + (v == null ? "(development build)" : v)};
        }
    }
}
