package io.pando.client.cli;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.ConnectException;
import java.net.NoRouteToHostException;
import java.net.UnknownHostException;
import java.nio.channels.UnresolvedAddressException;
import java.nio.charset.StandardCharsets;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.apache.sshd.client.SshClient;
import org.apache.sshd.client.auth.password.UserAuthPasswordFactory;
import org.apache.sshd.client.channel.ChannelExec;
import org.apache.sshd.client.channel.ClientChannelEvent;
import org.apache.sshd.client.config.hosts.HostConfigEntryResolver;
import org.apache.sshd.client.future.AuthFuture;
import org.apache.sshd.client.future.ConnectFuture;
import org.apache.sshd.client.future.OpenFuture;
import org.apache.sshd.client.keyverifier.AcceptAllServerKeyVerifier;
import org.apache.sshd.client.session.ClientSession;
import org.apache.sshd.common.keyprovider.KeyIdentityProvider;

/**
 * Runs one command on a node's Karaf console over SSH in exec mode (Apache MINA SSHD client): no pty, no stdin.
 * Password authentication only, and any host key is accepted (the node generates its own on first start; this is
 * a tool for the local node, like Karaf's {@code bin/client}). One instance holds one started SSH client.
 */
final class ConsoleClient implements AutoCloseable {

    /** How an attempt ended; {@link #exitCode} is the {@code pando console} exit status for it. */
    enum Outcome {
        OK(0), COMMAND_FAILED(1), CONNECT_FAILED(3), AUTH_FAILED(4), TIMEOUT(5);

        final int exitCode;

        Outcome(int exitCode) {
            this.exitCode = exitCode;
        }
    }

    /**
     * One attempt: the command's output (as far as it got), its exit status on the node if it ran, and a one-line
     * message when it did not succeed.
     */
    record Attempt(Outcome outcome, Integer remoteExit, byte[] out, byte[] err, String message) {
        boolean ok() {
            return outcome == Outcome.OK;
        }
    }

    /** CSI sequences (colors, cursor) and two-character escapes. */
    private static final Pattern ANSI = Pattern.compile("\u001B(?:\\[[0-?]*[ -/]*[@-~]|[@-Z\\\\-_])");

    private final SshClient client;

    ConsoleClient() {
        client = SshClient.setUpDefaultClient();
        client.setServerKeyVerifier(AcceptAllServerKeyVerifier.INSTANCE);
        client.setKeyIdentityProvider(KeyIdentityProvider.EMPTY_KEYS_PROVIDER);
        client.setUserAuthFactories(List.of(UserAuthPasswordFactory.INSTANCE));
        client.setHostConfigEntryResolver(HostConfigEntryResolver.EMPTY); // ignore ~/.ssh/config
        client.start();
    }

    /** Connects, logs in, runs {@code command} and waits for it, all within {@code timeoutMillis}. */
    Attempt run(ConsoleTarget target, String command, long timeoutMillis) {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        String where = target.toString();
        ConnectFuture connect;
        try {
            connect = client.connect(target.user(), target.host(), target.port());
        } catch (IOException e) {
            return fail(Outcome.CONNECT_FAILED, out, err, "cannot connect to " + where + ": " + describe(e));
        }
        if (!await(connect::await, deadline) || !connect.isConnected()) {
            connect.cancel();
            if (!connect.isDone()) {
                return fail(Outcome.TIMEOUT, out, err, "timeout: no SSH connection to " + where + " after "
                    + seconds(timeoutMillis));
            }
            return fail(Outcome.CONNECT_FAILED, out, err, "cannot connect to " + where + ": "
                + describe(connect.getException()) + " (is the node running? bin/start)");
        }
        try (ClientSession session = connect.getSession()) {
            session.addPasswordIdentity(target.password());
            AuthFuture auth = session.auth();
            if (!await(auth::await, deadline)) {
                return fail(Outcome.TIMEOUT, out, err, "timeout: no login to " + where + " after "
                    + seconds(timeoutMillis));
            }
            if (!auth.isSuccess()) {
                Throwable e = auth.getException();
                String why = describe(e);
                if (why.contains("No more authentication methods")) {
                    return fail(Outcome.AUTH_FAILED, out, err, "authentication failed for " + where
                        + " (wrong user or password?)");
                }
                return fail(Outcome.CONNECT_FAILED, out, err, "SSH login to " + where + " failed: " + why);
            }
            try (ChannelExec channel = session.createExecChannel(command)) {
                channel.setOut(out);
                channel.setErr(err);
                OpenFuture open = channel.open();
                if (!await(open::await, deadline)) {
                    return fail(Outcome.TIMEOUT, out, err, "timeout: " + where + " did not open a channel after "
                        + seconds(timeoutMillis));
                }
                if (!open.isOpened()) {
                    return fail(Outcome.CONNECT_FAILED, out, err, where + " refused to run a command: "
                        + describe(open.getException()));
                }
                long left = Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime()));
                Set<ClientChannelEvent> state = channel.waitFor(EnumSet.of(ClientChannelEvent.CLOSED), left);
                if (!state.contains(ClientChannelEvent.CLOSED)) {
                    return fail(Outcome.TIMEOUT, out, err, "timeout: the command did not finish within "
                        + seconds(timeoutMillis) + " on " + where);
                }
                Integer status = channel.getExitStatus();
                if (status == null) {
                    String signal = channel.getExitSignal();
                    return new Attempt(Outcome.COMMAND_FAILED, null, out.toByteArray(), err.toByteArray(),
                        "the node closed the command without an exit status"
                            + (signal == null ? "" : " (signal " + signal + ")"));
                }
                if (status != 0) {
                    return new Attempt(Outcome.COMMAND_FAILED, status, out.toByteArray(), err.toByteArray(),
                        "command failed on " + where + " (exit status " + status + ")" + reason(out, err));
                }
                return new Attempt(Outcome.OK, 0, out.toByteArray(), err.toByteArray(), null);
            }
        } catch (IOException e) {
            return fail(Outcome.CONNECT_FAILED, out, err, "SSH session with " + where + " failed: " + describe(e));
        }
    }

    @Override
    public void close() {
        client.stop();
    }

    private interface Await {
        boolean await(long millis) throws IOException;
    }

    /** @return false when the deadline passed before the future completed */
    private static boolean await(Await future, long deadline) {
        long left = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
        if (left <= 0) {
            return false;
        }
        try {
            return future.await(left);
        } catch (IOException e) {
            return true; // interrupted: the future's state says the rest
        }
    }

    private static Attempt fail(Outcome outcome, ByteArrayOutputStream out, ByteArrayOutputStream err, String msg) {
        return new Attempt(outcome, null, out.toByteArray(), err.toByteArray(), msg);
    }

    /** The root cause in a few words: "connection refused", "unknown host x", or the exception's message. */
    static String describe(Throwable e) {
        if (e == null) {
            return "unknown error";
        }
        for (Throwable c = e; c != null; c = c.getCause()) {
            if (c instanceof ConnectException) {
                return "connection refused";
            }
            if (c instanceof UnknownHostException || c instanceof UnresolvedAddressException) {
                return "unknown host";
            }
            if (c instanceof NoRouteToHostException) {
                return "no route to host";
            }
        }
        Throwable root = e;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        String m = root.getMessage();
        return m == null || m.isBlank() ? root.getClass().getSimpleName() : m.strip().split("\\R", 2)[0];
    }

    /**
     * The node's own word on a failure: Karaf prints "Command not found: ..." or "Error executing command: ..." to
     * the channel's stdout (in ANSI red), so the last line of stdout, unless stderr has something.
     */
    private static String reason(ByteArrayOutputStream out, ByteArrayOutputStream err) {
        String text = plain(err.toByteArray()).strip();
        if (text.isEmpty()) {
            String[] lines = plain(out.toByteArray()).strip().split("\\R");
            text = lines[lines.length - 1];
        } else {
            text = text.split("\\R", 2)[0];
        }
        text = text.strip();
        if (text.isEmpty()) {
            return "";
        }
        return ": " + (text.length() > 200 ? text.substring(0, 200) + "..." : text);
    }

    /** @return the bytes as UTF-8 text without ANSI escape sequences (Karaf colors errors even without a pty) */
    static String plain(byte[] bytes) {
        return ANSI.matcher(new String(bytes, StandardCharsets.UTF_8)).replaceAll("");
    }

    private static String seconds(long millis) {
        return String.format(java.util.Locale.ROOT, "%.1f s", millis / 1000.0);
    }
}
