package io.pando.client.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code pando artp}: test traffic over ARTP/1. */
@Command(name = "artp", mixinStandardHelpOptions = true,
    description = "Send and receive test traffic over ARTP/1 (reliable, unordered datagrams over UDP).",
    subcommands = {ArtpSendCommand.class, ArtpRecvCommand.class})
public final class ArtpCommand implements Runnable {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "missing command: send or recv");
    }
}
