package io.pando.client.cli;

import io.pando.control.protocol.ControlMessage;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code pando session close}: closes one of your sessions in order and prints its final counters. */
@Command(name = "close", mixinStandardHelpOptions = true, sortOptions = false,
    description = "Close one of your sessions: everything accepted is delivered first; prints its final counters.",
    exitCodeListHeading = "%nExit status:%n",
    exitCodeList = {"0:closed", "1:refused (not your session, ...; the reason is on stderr)", "2:invalid options",
        "3:the control unit cannot be reached or did not answer", "4:authentication failed"})
public final class SessionCloseCommand implements Callable<Integer> {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Mixin
    ControlOptions control;

    @Option(names = "--session", required = true, paramLabel = "ID", description = "The session id.")
    String session;

    @Override
    public Integer call() {
        CommandLine cl = spec.commandLine();
        long id;
        try {
            id = Long.parseUnsignedLong(session);
        } catch (NumberFormatException e) {
            throw new CommandLine.ParameterException(cl, "--session is an unsigned decimal number, got '" + session
                + "'");
        }
        if (id == 0) {
            throw new CommandLine.ParameterException(cl, "--session 0 is the control session, not an active session");
        }
        return control.run(cl, ControlMessage.Closed.class,
            (client, token, t) -> client.call(new ControlMessage.Close(client.nextRequestId(), token, id), t),
            (closed, out) -> {
                if (control.json) {
                    out.println(JsonLine.object(json -> {
                        json.writeStringField("session", Long.toUnsignedString(closed.sessionId()));
                        json.writeObjectFieldStart("counters");
                        for (Map.Entry<String, Long> e : closed.counters().entrySet()) {
                            json.writeNumberField(e.getKey(), e.getValue());
                        }
                        json.writeEndObject();
                    }));
                } else {
                    out.println("session " + Long.toUnsignedString(closed.sessionId()) + " closed");
                    closed.counters().forEach((k, v) -> out.println("  " + k + " " + v));
                }
            });
    }
}
