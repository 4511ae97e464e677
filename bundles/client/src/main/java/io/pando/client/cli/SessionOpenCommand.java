package io.pando.client.cli;

import io.pando.control.protocol.ControlMessage;
import io.pando.control.protocol.Distribution;
import io.pando.control.protocol.FlowSpec;
import io.pando.control.protocol.Resources;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code pando session open}: asks the control unit for a new active session and prints its id, its ingress and its
 * key (only its owner, the caller, ever gets it), and with {@code --key-out} stores the key in an owner-only file.
 */
@Command(name = "open", mixinStandardHelpOptions = true, sortOptions = false,
    description = {"Open an active session: the control unit admits it (quotas, capacity) and places it on units.",
        "Prints the session id, the ingress a sender connects to and the session's key (hex): only senders with the "
            + "key get in (pando artp send --to INGRESS --session ID --key HEX, or --key-file FILE with --key-out)."},
    exitCodeListHeading = "%nExit status:%n",
    exitCodeList = {"0:the session is open", "1:refused (the reason is on stderr)", "2:invalid options",
        "3:the control unit cannot be reached or did not answer", "4:authentication failed"})
public final class SessionOpenCommand implements Callable<Integer> {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Mixin
    ControlOptions control;

    @Option(names = "--program", required = true, paramLabel = "PROGRAM", description = "The active program.")
    String program;

    @Option(names = "--to", required = true, paramLabel = "HOST:PORT", converter = HostPort.class,
        description = "Where the processed stream (flow 0) goes, over ARTP.")
    InetSocketAddress to;

    @Option(names = "--flow", paramLabel = "ID:NAME:HOST:PORT",
        description = "Another flow of the session (id 1 to 4294967295) and where its results go; repeatable.")
    List<String> flows = new ArrayList<>();

    @Option(names = "--param", paramLabel = "KEY=VALUE", description = "A program parameter; repeatable.")
    List<String> params = new ArrayList<>();

    @Option(names = "--name", paramLabel = "NAME", description = "The session's label (default: chosen by the router).")
    String name;

    @Option(names = "--units", paramLabel = "K", defaultValue = "1",
        description = "Units serving the session: 1 = one unit, more = spread over K (default ${DEFAULT-VALUE}).")
    int units;

    @Option(names = "--cpus", paramLabel = "C", description = "CPU share per unit in cores, 0.01 to 64 (default 0.5).")
    Double cpus;

    @Option(names = "--memory", paramLabel = "MIB", description = "Sandbox memory per unit, 64 to 8192 MiB.")
    Integer memory;

    @Option(names = "--cpu-budget", paramLabel = "US", description = "CPU time per datagram, 100 to 10000000 µs.")
    Integer cpuBudget;

    @Option(names = "--bandwidth", paramLabel = "BPS", description = "Bandwidth to reserve, bits per second.")
    Long bandwidth;

    @Option(names = "--reorder", paramLabel = "MS", description = "Reorder bound, 0 to 10000 ms.")
    Integer reorder;

    @Option(names = "--key-out", paramLabel = "FILE",
        description = "Also write the session's key to FILE (replaced; readable by you only, mode 0600).")
    Path keyOut;

    @Option(names = "--key-format", paramLabel = "hex|raw", defaultValue = "hex",
        description = "How --key-out writes the key: 64 hexadecimal digits and a newline, or the 32 raw bytes "
            + "(default ${DEFAULT-VALUE}); pando artp send --key-file reads either.")
    String keyFormat;

    @Override
    public Integer call() {
        CommandLine cl = spec.commandLine();
        Map<String, String> parameters = new LinkedHashMap<>();
        for (String p : params) {
            int eq = p.indexOf('=');
            if (eq <= 0) {
                throw new CommandLine.ParameterException(cl, "--param takes KEY=VALUE, got '" + p + "'");
            }
            if (parameters.put(p.substring(0, eq), p.substring(eq + 1)) != null) {
                throw new CommandLine.ParameterException(cl, "--param " + p.substring(0, eq) + " is given twice");
            }
        }
        List<FlowSpec> flowSpecs = new ArrayList<>();
        for (String f : flows) {
            String[] parts = f.split(":", 3);
            if (parts.length != 3) {
                throw new CommandLine.ParameterException(cl, "--flow takes ID:NAME:HOST:PORT, got '" + f + "'");
            }
            try {
                flowSpecs.add(new FlowSpec(Long.parseLong(parts[0]), parts[1], HostPort.parse(parts[2])));
            } catch (NumberFormatException e) {
                throw new CommandLine.ParameterException(cl, "--flow: the id is a number, got '" + parts[0] + "'");
            } catch (IllegalArgumentException | CommandLine.TypeConversionException e) {
                throw new CommandLine.ParameterException(cl, "--flow " + f + ": " + e.getMessage());
            }
        }
        if (to.getPort() == 0) {
            throw new CommandLine.ParameterException(cl, "--to needs a port in [1, 65535], got 0");
        }
        SessionKeys.Format format;
        try {
            format = SessionKeys.Format.valueOf(keyFormat.toUpperCase(java.util.Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(cl, "--key-format is hex or raw, got '" + keyFormat + "'");
        }
        if (keyOut != null) {
            try {
                SessionKeys.checkWritable("--key-out", keyOut); // before the router opens anything
            } catch (IllegalArgumentException e) {
                throw new CommandLine.ParameterException(cl, e.getMessage());
            }
        }
        Resources resources;
        Distribution distribution;
        try {
            if (cpus != null && !(cpus >= 0.01 && cpus <= 64)) {
                throw new IllegalArgumentException("--cpus is in [0.01, 64], got " + cpus);
            }
            if (bandwidth != null && bandwidth < 1) {
                throw new IllegalArgumentException("--bandwidth is >= 1 bit/s, got " + bandwidth);
            }
            resources = new Resources(cpus == null ? 0 : (int) Math.round(cpus * 1000), memory == null ? 0 : memory,
                cpuBudget == null ? 0 : cpuBudget, bandwidth == null ? 0 : bandwidth, reorder == null ? -1 : reorder);
            if (units < 1 || units > Distribution.MAX_UNITS) {
                throw new IllegalArgumentException("--units is in [1, " + Distribution.MAX_UNITS + "], got " + units);
            }
            distribution = Distribution.over(units);
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(cl, e.getMessage());
        }
        return control.run(cl, ControlMessage.Opened.class,
            (client, token, t) -> client.call(new ControlMessage.Open(client.nextRequestId(), token, program,
                Optional.ofNullable(name), parameters, to, flowSpecs, resources, distribution), t),
            (opened, out) -> {
                String id = Long.toUnsignedString(opened.sessionId());
                String ingress = opened.ingress().getAddress().getHostAddress() + ":" + opened.ingress().getPort();
                if (control.json) {
                    out.println(JsonLine.object(json -> {
                        json.writeStringField("session", id);
                        json.writeStringField("name", opened.name());
                        json.writeStringField("ingress", ingress);
                        json.writeBooleanField("keyed", opened.sessionKey().isPresent());
                        if (opened.sessionKey().isPresent()) {
                            json.writeStringField("key", java.util.HexFormat.of().formatHex(opened.sessionKey().get()));
                        }
                        json.writeArrayFieldStart("units");
                        for (String u : opened.units()) {
                            json.writeString(u);
                        }
                        json.writeEndArray();
                    }));
                } else {
                    out.println("session " + id + " (" + opened.name() + ") open: send to " + ingress + " with session "
                        + id + "; units " + String.join(", ", opened.units())
                        + opened.sessionKey().map(k -> "; key " + java.util.HexFormat.of().formatHex(k))
                            .orElse("; unkeyed (no key needed)"));
                }
                if (keyOut != null) {
                    out.flush();
                    if (opened.sessionKey().isEmpty()) {
                        throw new IOException("--key-out " + keyOut + ": the router did not key session " + id
                            + ": no key written (send without --key)");
                    }
                    try {
                        SessionKeys.write(keyOut, opened.sessionKey().get(), format);
                    } catch (IOException e) {
                        throw new IOException("--key-out " + keyOut + ": cannot write the key of session " + id
                            + " (it is open; the key is printed above): " + e, e);
                    }
                }
            });
    }
}
