package io.pando.client.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code pando session}: open, list and close active sessions through the router's control unit (docs/control.md). */
@Command(name = "session", mixinStandardHelpOptions = true,
    description = "Open, list and close your active sessions through the router's control unit.",
    subcommands = {SessionOpenCommand.class, SessionListCommand.class, SessionCloseCommand.class})
public final class SessionCommand implements Runnable {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "missing command: open, list or close");
    }
}
