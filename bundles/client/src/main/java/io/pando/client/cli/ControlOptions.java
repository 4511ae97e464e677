package io.pando.client.cli;

import io.pando.control.protocol.ControlClient;
import io.pando.control.protocol.ControlMessage;
import io.pando.control.protocol.RefusalCode;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import picocli.CommandLine;
import picocli.CommandLine.Option;

/**
 * What every {@code pando session} command shares: where the control unit is, who the user is, the password (from a
 * file or {@code $PANDO_PASSWORD}, never an option: command lines are visible to other users), the timeout and
 * {@code --json}. Runs one authenticated request and maps the outcome to an exit status.
 */
final class ControlOptions {

    /** Exit status: the control unit refused the request (reason on stderr). */
    static final int REFUSED = 1;
    /** Exit status: invalid options. */
    static final int USAGE = 2;
    /** Exit status: the control unit cannot be reached or did not answer. */
    static final int UNREACHABLE = 3;
    /** Exit status: authentication failed. */
    static final int AUTH_FAILED = 4;
    /**
     * With several endpoints, how long the first pass waits for each one's handshake: a live control unit answers
     * in milliseconds, so a dead node first in the list costs this, not the whole timeout. Endpoints that did not
     * answer are tried again, in order, with the whole timeout (a live one on an overloaded machine).
     */
    static final Duration QUICK_HANDSHAKE = Duration.ofSeconds(2);

    @Option(names = "--control", paramLabel = "HOST:PORT", converter = HostPort.class, defaultValue = "127.0.0.1:7100",
        split = ",", description = "The router's control endpoint, or the control endpoints of the cluster's nodes, "
            + "comma-separated: tried in order until one answers as the leader (default ${DEFAULT-VALUE}).")
    List<InetSocketAddress> control;

    @Option(names = "--user", paramLabel = "USER", description = "Your user (default: $PANDO_USER).")
    String user;

    @Option(names = "--password-file", paramLabel = "FILE",
        description = "File whose first line is your password (default: $PANDO_PASSWORD).")
    Path passwordFile;

    @Option(names = "--timeout", paramLabel = "S", defaultValue = "30",
        description = "Give up on the control unit after this many seconds (default ${DEFAULT-VALUE}).")
    double timeout;

    @Option(names = "--json", description = "Print one JSON object with the result.")
    boolean json;

    /** The environment the defaults come from; tests replace it. */
    Map<String, String> env = System.getenv();

    /** An authenticated request, made once the token is known. */
    interface Call {
        ControlMessage.Reply call(ControlClient client, byte[] token, Duration timeout) throws Exception;
    }

    /** Prints a success. */
    interface Success<R extends ControlMessage.Reply> {
        void print(R reply, PrintWriter out) throws IOException;
    }

    <R extends ControlMessage.Reply> int run(CommandLine cl, Class<R> expected, Call call, Success<R> success) {
        String who = user != null ? user : env.get("PANDO_USER");
        if (who == null || who.isBlank()) {
            throw new CommandLine.ParameterException(cl, "no user: give --user or set PANDO_USER");
        }
        String password = password(cl);
        for (InetSocketAddress c : control) {
            if (c.getPort() == 0) {
                throw new CommandLine.ParameterException(cl, "--control needs a port in [1, 65535], got 0");
            }
        }
        if (!(timeout > 0 && Double.isFinite(timeout))) {
            throw new CommandLine.ParameterException(cl, "--timeout must be > 0, got " + timeout);
        }
        Duration t = Duration.ofMillis((long) (timeout * 1000));
        Duration quick = control.size() > 1 && QUICK_HANDSHAKE.compareTo(t) < 0 ? QUICK_HANDSHAKE : t;
        List<InetSocketAddress> silent = new ArrayList<>();
        for (int i = 0; i < control.size(); i++) {
            InetSocketAddress c = control.get(i);
            boolean last = i == control.size() - 1 && (silent.isEmpty() || quick.equals(t));
            int status = run(c, quick, last, who, password, t, cl, expected, call, success);
            if (status == NO_HANDSHAKE) {
                silent.add(c);
            } else if (status != NEXT) {
                return status;
            }
        }
        if (!quick.equals(t)) {
            for (int i = 0; i < silent.size(); i++) {
                int status = run(silent.get(i), t, i == silent.size() - 1, who, password, t, cl, expected, call,
                    success);
                if (status != NEXT && status != NO_HANDSHAKE) {
                    return status;
                }
            }
        }
        return UNREACHABLE;
    }

    private static String where(InetSocketAddress a) {
        return (a.getHostString().indexOf(':') >= 0 ? "[" + a.getHostString() + "]" : a.getHostString()) + ":"
            + a.getPort();
    }

    /** Internal status: this endpoint is not the leader, or did not answer; try the next. */
    private static final int NEXT = -1;
    /** Internal status: this endpoint did not complete the handshake in the time given; nothing was sent to it. */
    private static final int NO_HANDSHAKE = -2;

    private <R extends ControlMessage.Reply> int run(InetSocketAddress endpoint, Duration handshake, boolean last,
        String who, String password, Duration t, CommandLine cl, Class<R> expected, Call call, Success<R> success) {
        PrintWriter out = cl.getOut();
        PrintWriter err = cl.getErr();
        ControlClient connected;
        try {
            connected = ControlClient.connect(endpoint, handshake);
        } catch (ControlClient.ControlException e) {
            err.println("session: " + (control.size() > 1 ? where(endpoint) + ": " : "") + e.getMessage()
                + (last ? "" : "; trying the next"));
            err.flush();
            return last ? UNREACHABLE : NO_HANDSHAKE;
        }
        try (ControlClient client = connected) {
            ControlMessage.Reply auth = client.call(new ControlMessage.Auth(client.nextRequestId(), who, password), t);
            if (auth instanceof ControlMessage.Refused r) {
                return notLeader(err, endpoint, r, last) ? NEXT : refused(err, r);
            }
            byte[] token = ((ControlMessage.Authed) auth).token();
            ControlMessage.Reply reply = call.call(client, token, t);
            if (reply instanceof ControlMessage.Refused r) {
                // leadership moved between the two requests: nothing was done here, the next node may lead
                return notLeader(err, endpoint, r, last) ? NEXT : refused(err, r);
            }
            if (!expected.isInstance(reply)) {
                err.println("session: unexpected reply " + reply.getClass().getSimpleName());
                err.flush();
                return REFUSED;
            }
            success.print(expected.cast(reply), out);
            out.flush();
            return 0;
        } catch (ControlClient.ControlException e) {
            err.println("session: " + (control.size() > 1 ? where(endpoint) + ": " : "") + e.getMessage());
            err.flush();
            return last ? UNREACHABLE : NEXT;
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(cl, e.getMessage());
        } catch (IOException e) {
            err.println("session: " + e.getMessage());
            err.flush();
            return REFUSED;
        } catch (Exception e) {
            err.println("session: " + e);
            err.flush();
            return REFUSED;
        }
    }

    /** @return whether the refusal is NOT_LEADER and another endpoint is left to try (then it says so) */
    private static boolean notLeader(PrintWriter err, InetSocketAddress endpoint, ControlMessage.Refused r,
        boolean last) {
        if (r.code() != RefusalCode.NOT_LEADER || last) {
            return false;
        }
        err.println("session: " + where(endpoint) + " does not lead (" + r.reason() + "); trying the next");
        err.flush();
        return true;
    }

    private static int refused(PrintWriter err, ControlMessage.Refused r) {
        String code = r.code() == null ? "code " + r.wireCode() : r.code().name();
        err.println("session: refused (" + code + "): " + r.reason());
        err.flush();
        return r.code() == RefusalCode.AUTH_FAILED ? AUTH_FAILED : REFUSED;
    }

    private String password(CommandLine cl) {
        if (passwordFile != null) {
            try {
                List<String> lines = Files.readAllLines(passwordFile, StandardCharsets.UTF_8);
                if (lines.isEmpty() || lines.get(0).isEmpty()) {
                    throw new CommandLine.ParameterException(cl, "--password-file " + passwordFile
                        + ": the first line (the password) is empty");
                }
                return lines.get(0);
            } catch (IOException e) {
                throw new CommandLine.ParameterException(cl, "--password-file: cannot read " + passwordFile + ": "
                    + e.getMessage());
            }
        }
        String p = env.get("PANDO_PASSWORD");
        if (p == null || p.isEmpty()) {
            throw new CommandLine.ParameterException(cl, "no password: give --password-file FILE or set PANDO_PASSWORD");
        }
        return p;
    }
}
