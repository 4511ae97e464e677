package io.pando.client.cli;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.channel.EventLoop;
import io.pando.artp.ArtpConfig;
import io.pando.artp.ArtpConnection;
import io.pando.artp.ArtpCounter;
import io.pando.artp.ArtpEndpoint;
import io.pando.artp.ArtpHandler;
import io.pando.artp.ArtpStats;
import io.pando.artp.ControlBlock;
import io.pando.artp.ErrorCode;
import java.io.PrintWriter;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code pando artp send}: opens one ARTP connection and sends {@code --count} test datagrams (see
 * {@link Payload}) of {@code --size} bytes, as fast as the connection takes them or paced to {@code --rate},
 * then closes the connection in order and waits until the peer has acknowledged everything.
 *
 * <p>All sending happens on the connection's event loop: a send task fills the connection until it stops
 * being writable, then waits for {@link ArtpHandler#writabilityChanged}; with a rate, a token bucket refilled
 * by the clock decides how many datagrams the task may send and when it runs next. No thread sleeps per
 * datagram.
 *
 * <p>With {@code --flows} the datagrams are data of several flows of the session, round robin, each flow's
 * datagrams numbered 0, 1, 2, ... on their own; flow 0 travels as DATA, any other flow as a flow datagram
 * ({@link ControlBlock#writeFlowPrefix}, docs/artp.md 9.3).
 */
@Command(name = "send", mixinStandardHelpOptions = true, sortOptions = false,
    description = {"Connect to an ARTP endpoint and send test datagrams; wait until all are acknowledged.",
        "Each datagram carries a sequence number, a send timestamp and a CRC32C that recv checks."},
    exitCodeListHeading = "%nExit status:%n",
    exitCodeList = {"0:all datagrams sent and acknowledged, connection closed in order",
        "1:connect, send or close failed (message on stderr)", "2:invalid options"})
public final class ArtpSendCommand implements Callable<Integer> {

    /** Datagrams one run of the send task sends at most before it lets the event loop do other work. */
    private static final int BATCH = 64;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--to", required = true, paramLabel = "HOST:PORT", converter = HostPort.class,
        description = "The receiving ARTP endpoint.")
    InetSocketAddress to;

    @Option(names = "--count", required = true, paramLabel = "N", description = "Datagrams to send (>= 1).")
    long count;

    @Option(names = "--size", required = true, paramLabel = "BYTES",
        description = "Bytes per datagram, [" + Payload.MIN_SIZE + ", " + Payload.MAX_SIZE + "].")
    int size;

    @Option(names = "--rate", paramLabel = "DATAGRAMS_PER_S",
        description = "Pace to this many datagrams per second (> 0); default: as fast as ARTP takes them.")
    Double rate;

    @Option(names = "--session", paramLabel = "ID", defaultValue = "1",
        description = "Active session to bind the connection to (default ${DEFAULT-VALUE}).")
    long session;

    @Option(names = "--key", paramLabel = "HEX",
        description = "The session's key, 64 hexadecimal digits (pando session open prints it): connect keyed, every "
            + "packet authenticated (docs/artp.md 16). A keyed session answers only senders with its key.")
    String keyHex;

    @Option(names = "--key-file", paramLabel = "FILE",
        description = "Read the session's key from FILE (32 raw bytes or 64 hexadecimal digits, as pando session "
            + "open --key-out writes it); keeps the key off the command line.")
    Path keyFile;

    @Option(names = "--mtu", paramLabel = "BYTES",
        description = "Largest ARTP packet (UDP payload), [" + ArtpConfig.MIN_PACKET_SIZE + ", "
            + ArtpConfig.MAX_PACKET_SIZE + "]; default ARTP's 1452.")
    Integer mtu;

    @Option(names = "--timeout", paramLabel = "S", defaultValue = "120",
        description = "Give up after this many seconds in total: connect, send and close (default ${DEFAULT-VALUE}).")
    double timeout;

    @Option(names = {"--flows", "--flow"}, paramLabel = "F[,F...]",
        description = {"Send the datagrams as data of these flows of the session (ids in [0, 4294967295], at most "
            + FlowList.MAX_FLOWS + "; comma-separated or repeated), round robin: datagram i goes to the (i mod k)-th "
            + "flow, and each flow's datagrams are numbered 0, 1, 2, ... on their own. Flow 0 travels as DATA, "
            + "any other as a flow datagram (a CONTROL datagram: FLOW(F) and END, " + ControlBlock.FLOW_PREFIX
            + " bytes, then the datagram). Default: flow 0."})
    List<String> flows;

    @Option(names = "--json", description = "Print one JSON object with the results as the last line.")
    boolean json;

    /** The flows to send on, parsed from {@code --flows}: {0} without it. */
    private long[] flowIds = {0};
    /** The session key from {@code --key} or {@code --key-file}; null: unkeyed. */
    private byte[] key;

    void validate() {
        CommandLine cl = spec.commandLine();
        if (to.getPort() == 0) {
            throw new CommandLine.ParameterException(cl, "--to needs a port in [1, 65535], got 0");
        }
        if (count < 1) {
            throw new CommandLine.ParameterException(cl, "--count must be >= 1, got " + count);
        }
        if (size < Payload.MIN_SIZE || size > Payload.MAX_SIZE) {
            throw new CommandLine.ParameterException(cl, "--size must be in [" + Payload.MIN_SIZE + ", "
                + Payload.MAX_SIZE + "], got " + size);
        }
        if (rate != null && !(rate > 0 && Double.isFinite(rate))) {
            throw new CommandLine.ParameterException(cl, "--rate must be > 0, got " + rate);
        }
        if (mtu != null && (mtu < ArtpConfig.MIN_PACKET_SIZE || mtu > ArtpConfig.MAX_PACKET_SIZE)) {
            throw new CommandLine.ParameterException(cl, "--mtu must be in [" + ArtpConfig.MIN_PACKET_SIZE + ", "
                + ArtpConfig.MAX_PACKET_SIZE + "], got " + mtu);
        }
        if (!(timeout > 0 && Double.isFinite(timeout))) {
            throw new CommandLine.ParameterException(cl, "--timeout must be > 0, got " + timeout);
        }
        if (keyHex != null && keyFile != null) {
            throw new CommandLine.ParameterException(cl, "give --key or --key-file, not both");
        }
        try {
            key = keyHex != null ? SessionKeys.parseHex("--key", keyHex)
                : keyFile != null ? SessionKeys.read("--key-file", keyFile) : null;
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(cl, e.getMessage());
        }
        if (flows != null) {
            try {
                flowIds = FlowList.parse("--flows", flows);
            } catch (IllegalArgumentException e) {
                throw new CommandLine.ParameterException(cl, e.getMessage());
            }
            boolean tagged = java.util.Arrays.stream(flowIds).anyMatch(f -> f != 0);
            if (tagged && size > Payload.MAX_SIZE - ControlBlock.FLOW_PREFIX) {
                throw new CommandLine.ParameterException(cl, "--size must be in [" + Payload.MIN_SIZE + ", "
                    + (Payload.MAX_SIZE - ControlBlock.FLOW_PREFIX) + "] with a flow other than 0 (a flow datagram "
                    + "carries " + ControlBlock.FLOW_PREFIX + " bytes more), got " + size);
            }
        }
    }

    /** @return datagrams sent on the flow at position {@code i} of {@link #flowIds}, of {@code sent} in all */
    private long sentOn(int i, long sent) {
        int k = flowIds.length;
        return sent / k + (i < sent % k ? 1 : 0);
    }

    @Override
    public Integer call() {
        validate();
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        long deadline = System.nanoTime() + (long) (timeout * 1e9);
        ArtpConfig.Builder config = ArtpConfig.builder();
        if (mtu != null) {
            config.maxPacketSize(mtu);
        }
        Sender sender = new Sender();
        InetAddress local = to.getAddress().isLoopbackAddress() ? to.getAddress() : null;
        Result result;
        try (ArtpEndpoint endpoint = ArtpEndpoint.builder()
            .bind(local == null ? new InetSocketAddress(0) : new InetSocketAddress(local, 0))
            .config(config.build())
            .handler(sender)
            .start()) {
            result = run(endpoint, sender, deadline);
        } catch (RuntimeException e) {
            err.println("send failed: " + describe(e));
            err.flush();
            return 1;
        }
        report(out, result);
        if (result.warning != null) {
            err.println(result.warning);
            err.flush();
        }
        if (result.error != null) {
            err.println(result.error);
            err.flush();
            return 1;
        }
        return 0;
    }

    private Result run(ArtpEndpoint endpoint, Sender sender, long deadline) {
        ArtpConnection conn;
        try {
            conn = endpoint.connect(to, session, key).toCompletableFuture().get(remaining(deadline), TimeUnit.NANOSECONDS);
        } catch (ExecutionException e) {
            String why = describe(e.getCause());
            return Result.failed(endpoint.transport(), "connect to " + address(to) + " failed: " + why
                + (why.startsWith("no answer to INIT") ? unanswered() : ""));
        } catch (TimeoutException e) {
            return Result.failed(endpoint.transport(), "connect to " + address(to) + " timed out after " + timeout + " s"
                + unanswered());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return Result.failed(endpoint.transport(), "interrupted while connecting");
        }
        sender.start(conn);
        boolean finished;
        try {
            finished = sender.done.await(remaining(deadline), TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            finished = false;
        }
        String error;
        String warning = null;
        ArtpStats stats = conn.stats();
        if (!finished) {
            long pending = conn.pendingBytes();
            error = "timeout: close did not complete within " + timeout + " s: " + pending
                + " bytes unacknowledged, " + sender.sent() + " of " + count + " datagrams sent";
            conn.reset(ErrorCode.APPLICATION_ABORT, "sender timed out");
        } else if (sender.failure() != null) {
            error = sender.failure();
        } else if (sender.closeProblem() == null) {
            error = null;
        } else if (sender.sent() == count && conn.pendingBytes() == 0
            && stats.get(ArtpCounter.DATAGRAMS_ABANDONED) == 0) {
            // every datagram was acknowledged: the data made it; only the CLOSE / CLOSE_ACK exchange did not
            error = null;
            warning = "warning: all datagrams were acknowledged, but the close handshake did not complete: "
                + sender.closeProblem();
        } else {
            error = "close failed: " + sender.closeProblem() + "; " + conn.pendingBytes() + " bytes unacknowledged, "
                + stats.get(ArtpCounter.DATAGRAMS_ABANDONED) + " datagrams abandoned";
        }
        return new Result(endpoint.transport(), sender.sent(), sender.seconds(), stats, error, warning);
    }

    private void report(PrintWriter out, Result r) {
        long bytes = r.sent * size;
        double seconds = r.seconds;
        if (r.stats != null) {
            out.printf(java.util.Locale.ROOT, "sent %d datagrams of %d B (%d B) to %s in %s s: %s datagrams/s, %s Mbit/s (%s)%n",
                r.sent, size, bytes, address(to), Rates.seconds(seconds),
                Rates.oneDecimal(Rates.perSecond(r.sent, seconds)), Rates.oneDecimal(Rates.mbitPerSecond(bytes, seconds)),
                r.transport);
            out.printf(java.util.Locale.ROOT, "retransmitted %d packets; artp %s%n",
                r.stats.get(ArtpCounter.RETRANSMITTED), r.stats);
            if (flows != null) {
                for (int i = 0; i < flowIds.length; i++) {
                    long n = sentOn(i, r.sent);
                    out.printf(java.util.Locale.ROOT, "flow %d: sent %d datagrams (%d B) as %s%n", flowIds[i], n,
                        n * size, flowIds[i] == 0 ? "DATA" : "flow datagrams");
                }
            }
        }
        if (json) {
            out.println(JsonLine.object(j -> {
                j.writeBooleanField("ok", r.error == null);
                if (r.error != null) {
                    j.writeStringField("error", r.error);
                }
                if (r.warning != null) {
                    j.writeStringField("warning", r.warning);
                }
                j.writeBooleanField("keyed", key != null);
                j.writeNumberField("sent", r.sent);
                j.writeNumberField("size", size);
                j.writeNumberField("bytes", bytes);
                j.writeNumberField("seconds", JsonLine.round3(seconds));
                j.writeNumberField("datagrams_per_s", JsonLine.round3(Rates.perSecond(r.sent, seconds)));
                j.writeNumberField("mbit_per_s", JsonLine.round3(Rates.mbitPerSecond(bytes, seconds)));
                j.writeNumberField("retransmitted", r.stats == null ? 0 : r.stats.get(ArtpCounter.RETRANSMITTED));
                j.writeObjectFieldStart("flows");
                for (int i = 0; i < flowIds.length; i++) {
                    long n = sentOn(i, r.sent);
                    j.writeObjectFieldStart(Long.toString(flowIds[i]));
                    j.writeNumberField("sent", n);
                    j.writeNumberField("bytes", n * size);
                    j.writeEndObject();
                }
                j.writeEndObject();
                j.writeStringField("transport", r.transport);
                j.writeNumberField("cpu_seconds", JsonLine.round3(Rates.processCpuSeconds()));
                if (r.stats != null) {
                    JsonLine.stats(j, "artp", r.stats);
                }
            }));
        }
        out.flush();
    }

    private static long remaining(long deadline) {
        return Math.max(0, deadline - System.nanoTime());
    }

    /** Why a router may not answer a handshake: it drops one not authenticated under the session's key. */
    private String unanswered() {
        return key == null
            ? " (no answer: if session " + Long.toUnsignedString(session) + " is keyed, give its key with --key or "
                + "--key-file; else check --to and that something listens there)"
            : " (no answer: a keyed session answers only senders with its key; check --key/--key-file and --session "
                + Long.toUnsignedString(session) + ", and that the session is keyed and open)";
    }

    static String address(InetSocketAddress a) {
        return a.getHostString() + ":" + a.getPort();
    }

    static String describe(Throwable t) {
        while ((t instanceof CompletionException || t instanceof ExecutionException) && t.getCause() != null) {
            t = t.getCause();
        }
        String m = t.getMessage();
        return m == null ? t.getClass().getSimpleName() : m;
    }

    private record Result(String transport, long sent, double seconds, ArtpStats stats, String error,
        String warning) {
        static Result failed(String transport, String error) {
            return new Result(transport, 0, 0, null, error, null);
        }
    }

    /**
     * The send loop and the endpoint's handler. Every field except the latch and the volatile results is
     * touched only on the connection's event loop.
     */
    private final class Sender implements ArtpHandler {
        final CountDownLatch done = new CountDownLatch(1);
        private final long burst = rate == null ? 0 : Math.max(1, Math.min(1024, (long) Math.ceil(rate * 0.005)));
        private volatile ArtpConnection conn;
        private EventLoop loop;
        private boolean inPump;
        private boolean scheduled;
        private boolean closing;
        private double tokens;
        private long refilledAt;
        private volatile long sent;
        private volatile long firstSend;
        private volatile long closedAt;
        private volatile String failure;
        private volatile String closeProblem;

        void start(ArtpConnection connection) {
            conn = connection;
            loop = connection.eventLoop();
            loop.execute(() -> {
                refilledAt = System.nanoTime();
                tokens = burst;
                pump();
            });
        }

        long sent() {
            return sent;
        }

        String failure() {
            return failure;
        }

        /** @return why the orderly close did not end normally, or null */
        String closeProblem() {
            return closeProblem;
        }

        double seconds() {
            long first = firstSend;
            long last = closedAt;
            return first == 0 || last == 0 ? 0.0 : (last - first) / 1e9;
        }

        private void pump() {
            scheduled = false;
            if (closing || failure != null) {
                return;
            }
            inPump = true;
            try {
                int batch = 0;
                while (sent < count) {
                    if (!conn.isWritable()) {
                        return; // writabilityChanged resumes
                    }
                    if (rate != null && !takeToken()) {
                        long waitNanos = (long) Math.ceil((1.0 - tokens) / rate * 1e9);
                        schedule(Math.max(50_000, waitNanos));
                        return;
                    }
                    if (batch++ == BATCH) {
                        schedule(0);
                        return;
                    }
                    long flow = flowIds[(int) (sent % flowIds.length)];
                    ByteBuf datagram = PooledByteBufAllocator.DEFAULT.directBuffer(
                        flow == 0 ? size : ControlBlock.FLOW_PREFIX + size);
                    try {
                        long now = System.nanoTime();
                        if (flow != 0) {
                            ControlBlock.writeFlowPrefix(datagram, flow);
                        }
                        Payload.encode(datagram, sent / flowIds.length, now, size);
                        if (firstSend == 0) {
                            firstSend = now;
                        }
                    } catch (RuntimeException e) {
                        datagram.release();
                        throw e;
                    }
                    try {
                        if (flow == 0) {
                            conn.send(datagram); // ownership passes, also when send throws
                        } else {
                            conn.sendControl(datagram); // a flow datagram; ownership passes likewise
                        }
                    } catch (RuntimeException e) {
                        fail("send failed after " + sent + " of " + count + " datagrams: " + describe(e));
                        return;
                    }
                    sent++;
                }
                closing = true;
                conn.close().whenComplete((v, t) -> {
                    closedAt = System.nanoTime();
                    if (t != null && closeProblem == null) {
                        closeProblem = describe(t);
                    }
                    done.countDown();
                });
            } finally {
                inPump = false;
            }
        }

        private boolean takeToken() {
            long now = System.nanoTime();
            tokens = Math.min(burst, tokens + (now - refilledAt) / 1e9 * rate);
            refilledAt = now;
            if (tokens >= 1.0) {
                tokens -= 1.0;
                return true;
            }
            return false;
        }

        private void schedule(long delayNanos) {
            if (scheduled) {
                return;
            }
            scheduled = true;
            if (delayNanos <= 0) {
                loop.execute(this::pump);
            } else {
                loop.schedule(this::pump, delayNanos, TimeUnit.NANOSECONDS);
            }
        }

        private void fail(String message) {
            if (failure == null) {
                failure = message;
            }
            done.countDown();
        }

        @Override
        public void datagram(ArtpConnection connection, ByteBuf datagram, boolean control) {
            datagram.release(); // the receiver sends nothing back; ignore whatever comes
        }

        @Override
        public void writabilityChanged(ArtpConnection connection) {
            if (connection == conn && !inPump && connection.isWritable()) {
                schedule(0);
            }
        }

        @Override
        public void closed(ArtpConnection connection, ErrorCode code, String reason) {
            if (connection != conn) {
                return;
            }
            if (closedAt == 0) {
                closedAt = System.nanoTime();
            }
            String why = code + (reason.isEmpty() ? "" : " (" + reason + ")");
            if (!closing) {
                fail("connection closed: " + why + " after " + sent + " of " + count + " datagrams sent, "
                    + connection.pendingBytes() + " bytes unacknowledged");
            } else if (code != ErrorCode.NO_ERROR && closeProblem == null) {
                closeProblem = why;
            }
            done.countDown();
        }
    }
}
