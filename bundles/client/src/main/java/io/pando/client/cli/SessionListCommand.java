package io.pando.client.cli;

import io.pando.control.protocol.ControlMessage;
import io.pando.control.protocol.SessionSummary;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/** {@code pando session list}: your open sessions. */
@Command(name = "list", mixinStandardHelpOptions = true, sortOptions = false,
    description = "List your open sessions (other users' sessions are never shown).",
    exitCodeListHeading = "%nExit status:%n",
    exitCodeList = {"0:listed", "1:refused (the reason is on stderr)", "2:invalid options",
        "3:the control unit cannot be reached or did not answer", "4:authentication failed"})
public final class SessionListCommand implements Callable<Integer> {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Mixin
    ControlOptions control;

    @Override
    public Integer call() {
        return control.run(spec.commandLine(), ControlMessage.ListResult.class,
            (client, token, t) -> client.call(new ControlMessage.ListSessions(client.nextRequestId(), token), t),
            (list, out) -> {
                if (control.json) {
                    out.println(JsonLine.object(json -> {
                        json.writeNumberField("count", list.sessions().size());
                        json.writeArrayFieldStart("sessions");
                        for (SessionSummary s : list.sessions()) {
                            json.writeStartObject();
                            json.writeStringField("session", Long.toUnsignedString(s.sessionId()));
                            json.writeStringField("name", s.name());
                            json.writeStringField("program", s.program());
                            json.writeStringField("state", s.state());
                            json.writeStringField("ingress", s.ingress().getAddress().getHostAddress() + ":"
                                + s.ingress().getPort());
                            json.writeArrayFieldStart("units");
                            for (String u : s.units()) {
                                json.writeString(u);
                            }
                            json.writeEndArray();
                            json.writeNumberField("cpus", s.milliCpus() / 1000.0);
                            json.writeNumberField("bandwidth_bps", s.bandwidthBps());
                            json.writeEndObject();
                        }
                        json.writeEndArray();
                    }));
                } else if (list.sessions().isEmpty()) {
                    out.println("no open sessions");
                } else {
                    out.println(String.format(Locale.ROOT, "%-20s %-24s %-20s %-8s %-22s %-6s %s", "SESSION", "NAME",
                        "PROGRAM", "STATE", "INGRESS", "CPUS", "UNITS"));
                    for (SessionSummary s : list.sessions()) {
                        out.println(String.format(Locale.ROOT, "%-20s %-24s %-20s %-8s %-22s %-6.3f %s",
                            Long.toUnsignedString(s.sessionId()), s.name(), s.program(), s.state(),
                            s.ingress().getAddress().getHostAddress() + ":" + s.ingress().getPort(),
                            s.milliCpus() / 1000.0, String.join(",", s.units())));
                    }
                }
            });
    }
}
