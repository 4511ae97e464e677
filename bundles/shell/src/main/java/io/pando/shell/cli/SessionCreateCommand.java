package io.pando.shell.cli;

import io.pando.api.router.Execution;
import io.pando.api.router.Isolation;
import io.pando.api.router.SessionInfo;
import io.pando.api.router.SessionKey;
import io.pando.api.router.SessionRequest;
import io.pando.api.session.Flow;
import io.pando.api.session.FlowId;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.Completion;
import org.apache.karaf.shell.api.action.Option;
import org.apache.karaf.shell.api.action.lifecycle.Service;

/**
 * {@code pando:session-create}: creates a session and prints it, above all its ingress (where senders connect)
 * and its id (what they put in the ARTP handshake).
 */
@Service
@Command(scope = "pando", name = "session-create", description = "Create a session: an active program applied by "
    + "the router's units to a stream that senders send to the ingress, delivered to a destination")
public class SessionCreateCommand extends RouterAction {

    @Option(name = "--name", required = true, description = "The session's label, 1 to 64 characters [A-Za-z0-9._-]")
    String name;

    @Option(name = "--program", required = true, description = "The active program to apply (the name of its service)")
    String program;

    @Option(name = "--to", required = true, description = "Where the processed stream goes: HOST:PORT, an IPv6 "
        + "address in brackets ([2001:db8::9]:9000)")
    String to;

    @Option(name = "--units", description = "How many units serve the session, at least 1 (default: every unit)")
    String units;

    @Option(name = "--policy", description = "The load-balancing policy of this session (default: the router's "
        + "selected one)")
    @Completion(PolicyNameCompleter.class)
    String policy;

    @Option(name = "--reorder-window", description = "The reorder window's hold time for this session, in "
        + "milliseconds, 0 to 10000 (default: the aggregation strategy's)")
    String reorderWindow;

    @Option(name = "--isolation", description = "Where the program runs: process (a sandboxed child JVM) or "
        + "in-process (the router's JVM, trusted programs). Default: process for uploaded programs, in-process for "
        + "programs installed as features")
    String isolation;

    @Option(name = "--cpu-budget-us", description = "CPU time one datagram may take, in microseconds, "
        + Execution.MIN_CPU_BUDGET_MICROS + " to " + Execution.MAX_CPU_BUDGET_MICROS + " (default "
        + Execution.DEFAULT_CPU_BUDGET_MICROS + "); a sandboxed program over budget is stopped")
    String cpuBudget;

    @Option(name = "--memory-mb", description = "Memory of the program's sandbox in MiB, " + Execution.MIN_MEMORY_MB
        + " to " + Execution.MAX_MEMORY_MB + " (default " + Execution.DEFAULT_MEMORY_MB + ")")
    String memory;

    @Option(name = "--cpus", description = "CPU share of the program's sandbox, 0.01 to 64 (default "
        + Execution.DEFAULT_CPUS + ")")
    String cpus;

    @Option(name = "--param", multiValued = true, description = "A program parameter KEY=VALUE; repeat for more")
    List<String> params;

    @Option(name = "--flow", multiValued = true, description = "A flow of the session ID:NAME=HOST:PORT (e.g. "
        + "1:video=127.0.0.1:9001): senders tag its datagrams with flow ID, its results go to HOST:PORT; repeat for "
        + "more, at most " + SessionRequest.MAX_FLOWS + " with flow 0. Flow 0 is the session's default flow to --to "
        + "(named default unless given)")
    List<String> flows;

    @Option(name = "--key-file", description = "Make the session keyed: only senders with this key connect, every "
        + "packet authenticated (docs/artp.md 16). FILE, on this node, holds the 32 raw bytes or 64 hexadecimal "
        + "digits (e.g. head -c 32 /dev/urandom > FILE); give senders the same key (pando artp send --key-file)")
    String keyFile;

    @Option(name = "--key", description = "Like --key-file, the key as 64 hexadecimal digits (the console history "
        + "keeps it: prefer --key-file)")
    String keyHex;

    /** {@code --flow}'s ID: an unsigned 32-bit number without sign or leading spaces. */
    private static final Pattern FLOW_ID = Pattern.compile("[0-9]{1,10}");

    /** Resolves the host of {@code --to} and {@code --flow}; tests replace it. */
    HostPort.Resolver resolver = InetAddress::getByName;

    @Override
    public Object execute() {
        SessionRequest request = request();
        SessionInfo s = router().createSession(request);
        if (json) {
            printJson(System.out, SessionView.toJson(s));
            return null;
        }
        System.out.println("created session " + s.id() + " (" + s.name() + "): senders connect to "
            + HostPort.format(s.ingress()) + " with session id " + s.id()
            + (s.keyed() ? " and the session's key (" + (keyFile != null ? "--key-file " + keyFile : "--key") + ")"
                : " (unkeyed: anyone who knows the id may send)"));
        System.out.println();
        SessionView.printDetail(s, System.out);
        return null;
    }

    /** @throws IllegalArgumentException naming the option that is wrong */
    SessionRequest request() {
        required("--name", name);
        required("--program", program);
        required("--to", to);
        InetSocketAddress destination = HostPort.parse("--to", to, resolver);
        return new SessionRequest(name, program, destination, units(), Optional.ofNullable(policy),
            reorderWindow(), parameters(), execution(), flows(), key());
    }

    /** {@code --key-file} or {@code --key}: 32 raw bytes or 64 hexadecimal digits; neither: unkeyed. */
    private Optional<SessionKey> key() {
        if (keyFile != null && keyHex != null) {
            throw new IllegalArgumentException("give --key-file or --key, not both");
        }
        if (keyHex != null) {
            return Optional.of(option("--key", () -> SessionKey.fromHex(keyHex)));
        }
        if (keyFile == null) {
            return Optional.empty();
        }
        Path file = Path.of(keyFile);
        byte[] content;
        try {
            content = Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            throw new IllegalArgumentException("--key-file " + keyFile + ": no such file on this node");
        } catch (IOException e) {
            throw new IllegalArgumentException("--key-file " + keyFile + ": cannot read it: " + e.getMessage(), e);
        }
        try {
            if (content.length == SessionKey.LENGTH) {
                return Optional.of(SessionKey.of(content));
            }
            String text = new String(content, StandardCharsets.ISO_8859_1).strip();
            if (text.length() == 2 * SessionKey.LENGTH) {
                return Optional.of(option("--key-file " + keyFile, () -> SessionKey.fromHex(text)));
            }
            throw new IllegalArgumentException("--key-file " + keyFile + ": a key file holds the " + SessionKey.LENGTH
                + " raw bytes or " + 2 * SessionKey.LENGTH + " hexadecimal digits, this one holds " + content.length
                + " bytes");
        } finally {
            Arrays.fill(content, (byte) 0);
        }
    }

    /**
     * Parses every {@code --flow ID:NAME=HOST:PORT}: the ID up to the first ':', the NAME up to the first '='
     * after it, the rest an address as {@code --to} takes it. What the {@link SessionRequest} checks across flows
     * (ids and names given twice, flow 0's destination, how many) it reports with its own messages.
     */
    private List<Flow> flows() {
        List<Flow> list = new ArrayList<>();
        if (flows == null) {
            return list;
        }
        for (String f : flows) {
            int colon = f.indexOf(':');
            if (colon < 0) {
                throw new IllegalArgumentException("--flow takes ID:NAME=HOST:PORT, got '" + f
                    + "' (no ':' after the ID)");
            }
            int eq = f.indexOf('=', colon + 1);
            if (eq < 0) {
                throw new IllegalArgumentException("--flow takes ID:NAME=HOST:PORT, got '" + f
                    + "' (no '=' after the NAME)");
            }
            String id = f.substring(0, colon);
            String label = f.substring(colon + 1, eq);
            String to = f.substring(eq + 1);
            long value = FLOW_ID.matcher(id).matches() ? Long.parseLong(id) : -1;
            if (value < 0 || value > FlowId.MAX_VALUE) {
                throw new IllegalArgumentException("--flow '" + f + "': the ID is a whole number in [0, "
                    + FlowId.MAX_VALUE + "], got '" + id + "'");
            }
            if (label.isEmpty()) {
                throw new IllegalArgumentException("--flow takes ID:NAME=HOST:PORT, got '" + f + "' (no NAME)");
            }
            if (to.isEmpty()) {
                throw new IllegalArgumentException("--flow takes ID:NAME=HOST:PORT, got '" + f
                    + "' (no HOST:PORT after '=')");
            }
            InetSocketAddress destination = HostPort.parse("--flow", f, to, resolver);
            try {
                list.add(new Flow(FlowId.of(value), label, destination));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("--flow '" + f + "': " + e.getMessage(), e);
            }
        }
        return list;
    }

    private Execution execution() {
        Optional<Isolation> i = isolation == null ? Optional.empty() : Optional.of(option("--isolation",
            () -> Isolation.of(isolation)));
        long budget = cpuBudget == null ? Execution.DEFAULT_CPU_BUDGET_MICROS
            : whole("--cpu-budget-us", cpuBudget, Execution.MIN_CPU_BUDGET_MICROS, Execution.MAX_CPU_BUDGET_MICROS);
        int mb = memory == null ? Execution.DEFAULT_MEMORY_MB
            : (int) whole("--memory-mb", memory, Execution.MIN_MEMORY_MB, Execution.MAX_MEMORY_MB);
        double share = Execution.DEFAULT_CPUS;
        if (cpus != null) {
            try {
                share = Double.parseDouble(cpus);
            } catch (NumberFormatException e) {
                share = Double.NaN;
            }
            if (!(share >= 0.01 && share <= 64)) {
                throw new IllegalArgumentException("--cpus takes a CPU share in [0.01, 64], got '" + cpus + "'");
            }
        }
        return new Execution(i, budget, mb, share);
    }

    private static <T> T option(String option, java.util.function.Supplier<T> parse) {
        try {
            return parse.get();
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(option + ": " + e.getMessage(), e);
        }
    }

    private static long whole(String option, String value, long min, long max) {
        long n;
        try {
            n = Long.parseLong(value);
        } catch (NumberFormatException e) {
            n = min - 1;
        }
        if (n < min || n > max) {
            throw new IllegalArgumentException(option + " takes a whole number in [" + min + ", " + max + "], got '"
                + value + "'");
        }
        return n;
    }

    private int units() {
        if (units == null) {
            return 0;
        }
        int n;
        try {
            n = Integer.parseInt(units);
        } catch (NumberFormatException e) {
            n = 0;
        }
        if (n < 1) {
            throw new IllegalArgumentException("--units takes a whole number >= 1, got '" + units + "'");
        }
        return n;
    }

    private Optional<Long> reorderWindow() {
        if (reorderWindow == null) {
            return Optional.empty();
        }
        long ms;
        try {
            ms = Long.parseLong(reorderWindow);
        } catch (NumberFormatException e) {
            ms = -1;
        }
        if (ms < 0 || ms > SessionRequest.MAX_REORDER_WINDOW_MILLIS) {
            throw new IllegalArgumentException("--reorder-window takes milliseconds, a whole number in [0, "
                + SessionRequest.MAX_REORDER_WINDOW_MILLIS + "], got '" + reorderWindow + "'");
        }
        return Optional.of(ms);
    }

    private Map<String, String> parameters() {
        Map<String, String> m = new LinkedHashMap<>();
        if (params == null) {
            return m;
        }
        for (String p : params) {
            int eq = p.indexOf('=');
            if (eq < 0) {
                throw new IllegalArgumentException("--param takes KEY=VALUE, got '" + p + "' (no '=')");
            }
            if (eq == 0) {
                throw new IllegalArgumentException("--param takes KEY=VALUE, got '" + p + "' (no KEY)");
            }
            String key = p.substring(0, eq);
            if (m.put(key, p.substring(eq + 1)) != null) {
                throw new IllegalArgumentException("--param " + key + " is given twice");
            }
        }
        return m;
    }

    private static void required(String option, String value) {
        if (value == null) {
            throw new IllegalArgumentException(option + " is required");
        }
    }
}
