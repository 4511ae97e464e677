package io.pando.client.cli;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.pando.artp.ArtpConfig;
import io.pando.artp.ArtpConnection;
import io.pando.artp.ArtpEndpoint;
import io.pando.artp.ArtpHandler;
import io.pando.artp.ArtpStats;
import io.pando.artp.ControlBlock;
import io.pando.artp.ErrorCode;
import io.pando.artp.SessionAcceptor;
import io.pando.artp.SessionGrant;
import io.pando.ep.aesgcm.codec.AesGcmCodec;
import io.pando.ep.rsasign.codec.RsaSignCodec;
import java.io.PrintWriter;
import java.net.InetSocketAddress;
import java.security.interfaces.RSAPublicKey;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import javax.crypto.AEADBadTagException;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code pando artp recv}: accepts ARTP connections and checks the test datagrams that {@code pando artp send}
 * sends: counts distinct and duplicate sequence numbers (per connection), reordering, payload corruption and
 * one-way latency from the send timestamp (meaningful when sender and receiver share a host). With
 * {@code --aes-gcm-key} each datagram is first decrypted as the {@code aes-gcm-encrypt} active program encrypts
 * it ({@link AesGcmCodec}, the connection's session id as associated data); one that does not decrypt counts as
 * corrupt. With {@code --rsa-public-key} each datagram's signature, appended by the {@code rsa-sign} active program
 * ({@link RsaSignCodec}, over the connection's session id and the payload), is checked and removed first; one that
 * does not verify counts as corrupt.
 *
 * <p>Flows (docs/artp.md 9.3): a DATA datagram is data of flow 0, a flow datagram (a CONTROL datagram whose block
 * is exactly FLOW(f) and END) data of flow f, checked after its {@link ControlBlock#FLOW_PREFIX} bytes. Every flow
 * is its own sequence space: duplicates and reordering are counted per connection and flow, and every figure also
 * per flow. Any other CONTROL datagram counts as corrupt, as before flows.
 */
@Command(name = "recv", mixinStandardHelpOptions = true, sortOptions = false,
    description = {"Accept ARTP connections and receive and check test datagrams from `pando artp send`.",
        "Stops after --count datagrams, --timeout seconds, or --idle seconds without traffic."},
    exitCodeListHeading = "%nExit status:%n",
    exitCodeList = {"0:with --count: all N arrived, none corrupt, no duplicates; without: none corrupt",
        "1:otherwise (message on stderr)", "2:invalid options"})
public final class ArtpRecvCommand implements Callable<Integer> {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--listen", required = true, paramLabel = "HOST:PORT", converter = HostPort.class,
        description = "Address to bind (port 0: any free port; the first output line names it).")
    InetSocketAddress listen;

    @Option(names = "--count", paramLabel = "N", description = "Stop once N distinct datagrams arrived (>= 1).")
    Long count;

    @Option(names = "--timeout", paramLabel = "S", description = "Stop after this many seconds in total (> 0).")
    Double timeout;

    @Option(names = "--idle", paramLabel = "S", defaultValue = "5",
        description = "Once traffic started, stop after this many seconds without a datagram (default ${DEFAULT-VALUE}).")
    double idle;

    @Option(names = "--session", paramLabel = "ID", description = "Accept only this session (default: any).")
    Long session;

    @Option(names = "--linger", paramLabel = "S", defaultValue = "10",
        description = "After stopping, wait up to this many seconds for peers to close in order (default ${DEFAULT-VALUE}).")
    double linger;

    @Option(names = "--aes-gcm-key", paramLabel = "HEX",
        description = {"Decrypt every datagram with this AES-GCM key (32, 48 or 64 hex digits) before checking it: "
            + "for traffic through the aes-gcm-encrypt program. The connection's session id is the associated data; "
            + "datagrams that do not decrypt count as corrupt."})
    String aesGcmKey;

    @Option(names = "--rsa-public-key", paramLabel = "BASE64",
        description = {"Verify and remove the RSA signature the rsa-sign program appends to every datagram before "
            + "checking it: the public key as base64 of its X.509 DER encoding (2048 to 4096 bits). The connection's "
            + "session id is signed too; datagrams that do not verify count as corrupt."})
    String rsaPublicKey;

    @Option(names = "--interval-ms", paramLabel = "MS",
        description = "Also count datagrams per interval of this many milliseconds from the first one (JSON field "
            + "intervals): shows the rate over time, e.g. a dip while the router swaps a policy.")
    Integer intervalMs;

    @Option(names = {"--flows", "--flow"}, paramLabel = "F[,F...]",
        description = {"Expect data of exactly these flows (ids in [0, 4294967295], at most " + FlowList.MAX_FLOWS
            + "; comma-separated or repeated): a datagram of another flow counts in unexpected_flow and fails the "
            + "run, and so does a listed flow without any datagram. Default: take any flow."})
    List<String> flows;

    @Option(names = "--json", description = "Print one JSON object with the results as the last line.")
    boolean json;

    /** Most distinct flows the receiver keeps figures for; datagrams of further flows count as corrupt. */
    static final int MAX_TRACKED_FLOWS = 1024;

    /** The parsed {@code --aes-gcm-key}, or null. */
    private byte[] key;

    /** The parsed {@code --rsa-public-key}, or null. */
    private RSAPublicKey publicKey;

    /** The parsed {@code --flows}, or null. */
    private long[] expectedFlows;

    void validate() {
        CommandLine cl = spec.commandLine();
        if (count != null && (count < 1 || count > Integer.MAX_VALUE)) {
            throw new CommandLine.ParameterException(cl, "--count must be in [1, " + Integer.MAX_VALUE + "], got " + count);
        }
        if (timeout != null && !(timeout > 0 && Double.isFinite(timeout))) {
            throw new CommandLine.ParameterException(cl, "--timeout must be > 0, got " + timeout);
        }
        if (!(idle > 0 && Double.isFinite(idle))) {
            throw new CommandLine.ParameterException(cl, "--idle must be > 0, got " + idle);
        }
        if (!(linger >= 0 && Double.isFinite(linger))) {
            throw new CommandLine.ParameterException(cl, "--linger must be >= 0, got " + linger);
        }
        if (intervalMs != null && (intervalMs < 1 || intervalMs > 60_000)) {
            throw new CommandLine.ParameterException(cl, "--interval-ms must be in [1, 60000], got " + intervalMs);
        }
        if (aesGcmKey != null) {
            try {
                key = AesGcmCodec.parseKey(aesGcmKey);
            } catch (IllegalArgumentException e) {
                throw new CommandLine.ParameterException(cl, "--aes-gcm-key: " + e.getMessage());
            }
        }
        if (rsaPublicKey != null) {
            if (aesGcmKey != null) {
                throw new CommandLine.ParameterException(cl, "--aes-gcm-key and --rsa-public-key: give one of them "
                    + "(the datagrams went through one program)");
            }
            try {
                publicKey = RsaSignCodec.parsePublicKey(rsaPublicKey);
            } catch (IllegalArgumentException e) {
                throw new CommandLine.ParameterException(cl, "--rsa-public-key: " + e.getMessage());
            }
        }
        if (flows != null) {
            try {
                expectedFlows = FlowList.parse("--flows", flows);
            } catch (IllegalArgumentException e) {
                throw new CommandLine.ParameterException(cl, e.getMessage());
            }
        }
    }

    @Override
    public Integer call() {
        validate();
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        Receiver receiver = new Receiver(count == null ? 0 : count, key, publicKey,
            intervalMs == null ? 0 : intervalMs, expectedFlows);
        Long only = session;
        SessionAcceptor acceptor = only == null ? SessionAcceptor.ANY
            : (sessionId, peer) -> sessionId == only ? SessionGrant.UNKEYED : null;
        long started = System.nanoTime();
        String stopReason;
        ArtpStats stats;
        String transport;
        try (ArtpEndpoint endpoint = ArtpEndpoint.builder()
            .bind(listen)
            .config(ArtpConfig.defaults())
            .handler(receiver)
            .acceptor(acceptor)
            .start()) {
            transport = endpoint.transport();
            out.println("listening on " + ArtpSendCommand.address(endpoint.localAddress()) + " (" + transport
                + "), session " + (only == null ? "any" : only));
            out.flush();
            stopReason = await(receiver, started);
            long lingerUntil = System.nanoTime() + (long) (linger * 1e9);
            while (!endpoint.connections().isEmpty() && System.nanoTime() < lingerUntil) {
                sleep(20);
            }
            stats = endpoint.stats();
        } catch (RuntimeException e) {
            err.println("recv failed: " + ArtpSendCommand.describe(e));
            err.flush();
            return 1;
        } finally {
            receiver.release(); // the endpoint is closed: no datagram comes any more
        }
        Summary s = receiver.summary();
        report(out, s, transport, stopReason, stats);
        String error = verdict(s, stopReason);
        if (error != null) {
            err.println(error);
            err.flush();
            return 1;
        }
        return 0;
    }

    /** @return why receiving stopped: "count", "timeout", "idle" or "interrupted" */
    private String await(Receiver receiver, long started) {
        long idleNanos = (long) (idle * 1e9);
        long deadline = timeout == null ? Long.MAX_VALUE : started + (long) (timeout * 1e9);
        try {
            while (true) {
                if (receiver.complete.await(20, TimeUnit.MILLISECONDS)) {
                    return "count";
                }
                long now = System.nanoTime();
                if (now - deadline >= 0 && timeout != null) {
                    return "timeout";
                }
                long last = receiver.lastNanos;
                if (last != 0 && now - last >= idleNanos) {
                    return "idle";
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "interrupted";
        }
    }

    private String verdict(Summary s, String stopReason) {
        if (count != null && s.received < count) {
            String why = switch (stopReason) {
                case "idle" -> "idle: no datagram for " + idle + " s, ";
                case "timeout" -> "timeout: ";
                default -> stopReason + ": ";
            };
            return why + s.received + " of " + count + " datagrams received"
                + (s.corrupt > 0 ? ", " + s.corrupt + " corrupt" : "")
                + (s.duplicates > 0 ? ", " + s.duplicates + " duplicates" : "");
        }
        if (s.corrupt > 0) {
            return "corrupt: " + s.corrupt + " datagrams failed the payload check"
                + unwrapFailures(s);
        }
        if (expectedFlows != null) {
            if (s.unexpectedFlow > 0) {
                return "unexpected flows: " + s.unexpectedFlow + " datagrams of flows not in --flows ("
                    + String.join(", ", Arrays.stream(s.flows).filter(f -> !f.expected())
                        .map(f -> "flow " + f.flow() + ": " + f.arrived()).toList()) + ")";
            }
            for (FlowSummary f : s.flows) {
                if (f.arrived() == 0) {
                    return "flow " + f.flow() + ": no datagram received";
                }
            }
        }
        if (count != null && s.duplicates > 0) {
            return "duplicates: " + s.duplicates + " datagrams were delivered more than once";
        }
        return null;
    }

    private void report(PrintWriter out, Summary s, String transport, String stopReason, ArtpStats stats) {
        double seconds = s.seconds();
        out.printf(Locale.ROOT, "received %d datagrams (%d B) from %d connection(s) in %s s: %s datagrams/s, %s Mbit/s%n",
            s.received, s.bytes, s.connections, Rates.seconds(seconds),
            Rates.oneDecimal(Rates.perSecond(s.received, seconds)), Rates.oneDecimal(Rates.mbitPerSecond(s.bytes, seconds)));
        out.printf(Locale.ROOT, "duplicates %d, reordered %d, corrupt %d%s; latency p50 %d us, p99 %d us, max %d us; stopped: %s%n",
            s.duplicates, s.reordered, s.corrupt, unwrapFailures(s),
            s.latency.quantile(0.5), s.latency.quantile(0.99), s.latency.max(), stopReason);
        if (expectedFlows != null || Arrays.stream(s.flows).anyMatch(f -> f.flow() != 0)) {
            for (FlowSummary f : s.flows) {
                out.printf(Locale.ROOT, "flow %d: received %d datagrams (%d B), duplicates %d, reordered %d, corrupt %d%s%n",
                    f.flow(), f.received(), f.bytes(), f.duplicates(), f.reordered(), f.corrupt(),
                    f.expected() ? "" : " (not in --flows)");
            }
        }
        out.println("artp " + stats);
        if (json) {
            out.println(JsonLine.object(j -> {
                j.writeNumberField("received", s.received);
                if (count != null) {
                    j.writeNumberField("expected", count);
                }
                j.writeNumberField("duplicates", s.duplicates);
                j.writeNumberField("corrupt", s.corrupt);
                if (key != null) {
                    // included in corrupt
                    j.writeNumberField("decrypt_failures", s.unwrapFailures);
                } else if (publicKey != null) {
                    j.writeNumberField("signature_failures", s.unwrapFailures);
                }
                j.writeNumberField("reordered", s.reordered);
                j.writeNumberField("bytes", s.bytes);
                j.writeNumberField("seconds", JsonLine.round3(seconds));
                j.writeNumberField("datagrams_per_s", JsonLine.round3(Rates.perSecond(s.received, seconds)));
                j.writeNumberField("mbit_per_s", JsonLine.round3(Rates.mbitPerSecond(s.bytes, seconds)));
                j.writeObjectFieldStart("latency_us");
                j.writeNumberField("p50", s.latency.quantile(0.5));
                j.writeNumberField("p99", s.latency.quantile(0.99));
                j.writeNumberField("max", s.latency.max());
                j.writeNumberField("samples", s.latency.count());
                j.writeEndObject();
                j.writeNumberField("connections", s.connections);
                j.writeNumberField("closed_orderly", s.closedOrderly);
                j.writeObjectFieldStart("flows");
                for (FlowSummary f : s.flows) {
                    j.writeObjectFieldStart(Long.toString(f.flow()));
                    j.writeNumberField("received", f.received());
                    j.writeNumberField("duplicates", f.duplicates());
                    j.writeNumberField("reordered", f.reordered());
                    j.writeNumberField("corrupt", f.corrupt());
                    j.writeNumberField("bytes", f.bytes());
                    j.writeEndObject();
                }
                j.writeEndObject();
                if (expectedFlows != null) {
                    j.writeNumberField("unexpected_flow", s.unexpectedFlow);
                }
                j.writeStringField("stopped", stopReason);
                j.writeStringField("transport", transport);
                j.writeNumberField("cpu_seconds", JsonLine.round3(Rates.processCpuSeconds()));
                if (intervalMs != null) {
                    j.writeNumberField("interval_ms", intervalMs);
                    j.writeArrayFieldStart("intervals");
                    for (long n : s.intervals) {
                        j.writeNumber(n);
                    }
                    j.writeEndArray();
                }
                JsonLine.stats(j, "artp", stats);
            }));
        }
        out.flush();
    }

    /** @return " (N did not decrypt)" or " (N did not verify)" with a key, else "" */
    private String unwrapFailures(Summary s) {
        return key != null ? " (" + s.unwrapFailures + " did not decrypt)"
            : publicKey != null ? " (" + s.unwrapFailures + " did not verify)" : "";
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** What one connection has seen of one flow; touched only under the receiver's lock. */
    private static final class Track {
        final BitSet seen = new BitSet();
        long highest = -1;
    }

    /** What one connection has seen, per flow (by the receiver's flow index); touched only under its lock. */
    private static final class ConnectionTrack {
        Track[] flows = new Track[1];

        Track flow(int index) {
            if (index >= flows.length) {
                flows = Arrays.copyOf(flows, Math.max(index + 1, flows.length * 2));
            }
            Track t = flows[index];
            if (t == null) {
                t = new Track();
                flows[index] = t;
            }
            return t;
        }
    }

    /** The figures of one flow, over every connection; touched only under the receiver's lock. */
    private static final class FlowFigures {
        final long flow;
        final boolean expected;
        long received;
        long duplicates;
        long reordered;
        long corrupt;
        long bytes;

        FlowFigures(long flow, boolean expected) {
            this.flow = flow;
            this.expected = expected;
        }
    }

    /** A copy of one flow's figures. */
    private record FlowSummary(long flow, boolean expected, long received, long duplicates, long reordered, long corrupt,
        long bytes) {
        /** @return every datagram of the flow that arrived: distinct, duplicate or corrupt */
        long arrived() {
            return received + duplicates + corrupt;
        }
    }

    /** A consistent copy of the receiver's results; {@code flows} sorted by flow id. */
    private record Summary(long received, long duplicates, long corrupt, long unwrapFailures, long reordered, long bytes,
        long firstNanos, long lastNanos, long connections, long closedOrderly, LatencyHistogram latency,
        long[] intervals, FlowSummary[] flows, long unexpectedFlow) {
        double seconds() {
            return firstNanos == 0 ? 0.0 : (lastNanos - firstNanos) / 1e9;
        }
    }

    /** The endpoint's handler: checks and counts every datagram, then releases it. */
    private static final class Receiver implements ArtpHandler {
        final CountDownLatch complete = new CountDownLatch(1);
        private final long expected;
        private final byte[] key;
        private final LatencyHistogram latency = new LatencyHistogram();
        private long received;
        private long duplicates;
        private long corrupt;
        /** Datagrams that did not decrypt (AES-GCM key) or verify (RSA public key). */
        private long unwrapFailures;
        private long reordered;
        private long bytes;
        private long firstNanos;
        volatile long lastNanos;
        private long connections;
        private long closedOrderly;
        private final long intervalNanos;
        private long[] intervals = new long[64];
        private int lastInterval = -1;
        private final boolean flowsListed;
        private final FlowIndex flowIndex = new FlowIndex(MAX_TRACKED_FLOWS);
        private FlowFigures[] flowFigures = new FlowFigures[4];
        private long unexpectedFlow;
        private final javax.crypto.Cipher cipher;
        private final javax.crypto.spec.SecretKeySpec keySpec;
        private final byte[] aad = new byte[AesGcmCodec.AAD_LENGTH];
        /** The ciphertext of the datagram being decrypted, reused (grows to the largest datagram). */
        private byte[] sealed = new byte[0];
        /** The plaintext of the datagram being decrypted, reused; released by {@link #release}. */
        private ByteBuf plain;
        /** Verifies rsa-sign signatures (reset by each verify), or null. */
        private final java.security.Signature verifier;
        private final int signatureLength;
        private final byte[] signedPrefix = new byte[RsaSignCodec.SESSION_LENGTH];

        /**
         * @param expected datagrams to wait for, 0 for no limit
         * @param key the AES-GCM key to decrypt with, or null when the datagrams are not encrypted
         * @param publicKey the RSA key to verify signatures with, or null when the datagrams are not signed
         * @param intervalMs length of a rate interval, 0 for none
         * @param expectedFlows the only flows to take (their figures are reported even when none arrive), or null
         *     for any
         */
        Receiver(long expected, byte[] key, RSAPublicKey publicKey, int intervalMs, long[] expectedFlows) {
            this.expected = expected;
            this.key = key;
            this.intervalNanos = intervalMs * 1_000_000L;
            try {
                this.cipher = key == null ? null : javax.crypto.Cipher.getInstance(AesGcmCodec.TRANSFORMATION);
            } catch (java.security.GeneralSecurityException e) {
                throw new IllegalStateException("AES-GCM is not available in this JVM: " + e, e);
            }
            this.keySpec = key == null ? null : new javax.crypto.spec.SecretKeySpec(key, "AES");
            try {
                this.verifier = publicKey == null ? null : java.security.Signature.getInstance(RsaSignCodec.ALGORITHM);
                if (verifier != null) {
                    verifier.initVerify(publicKey);
                }
            } catch (java.security.GeneralSecurityException e) {
                throw new IllegalStateException(RsaSignCodec.ALGORITHM + " is not available in this JVM: " + e, e);
            }
            this.signatureLength = publicKey == null ? 0 : RsaSignCodec.signatureLength(publicKey);
            this.flowsListed = expectedFlows != null;
            if (expectedFlows != null) {
                for (long f : expectedFlows) {
                    figures(flowIndex.add(f), f, true);
                }
            }
        }

        @Override
        public synchronized void connected(ArtpConnection connection) {
            connections++;
            connection.attach(new ConnectionTrack());
        }

        @Override
        public void datagram(ArtpConnection connection, ByteBuf datagram, boolean control) {
            long now = System.nanoTime();
            try {
                long flow = 0;
                if (control) {
                    flow = ControlBlock.flowOf(datagram);
                    if (flow != ControlBlock.NOT_A_FLOW_DATAGRAM) {
                        datagram.skipBytes(ControlBlock.FLOW_PREFIX);
                    }
                }
                Payload.Header h = null; // stays null for control information: not test data
                boolean undecryptable = false;
                if (flow != ControlBlock.NOT_A_FLOW_DATAGRAM && verifier != null) {
                    int n = verifySignature(connection.sessionId(), datagram);
                    if (n < 0) {
                        undecryptable = true;
                    } else {
                        // the signature is checked: drop it in place (the datagram is released below)
                        datagram.writerIndex(datagram.readerIndex() + n);
                        h = Payload.verify(datagram);
                    }
                } else if (flow != ControlBlock.NOT_A_FLOW_DATAGRAM && key == null) {
                    h = Payload.verify(datagram);
                } else if (flow != ControlBlock.NOT_A_FLOW_DATAGRAM) {
                    ByteBuf p = decrypt(connection.sessionId(), datagram);
                    if (p == null) {
                        undecryptable = true;
                    } else {
                        h = Payload.verify(p);
                    }
                }
                synchronized (this) {
                    if (firstNanos == 0) {
                        firstNanos = now;
                    }
                    lastNanos = now;
                    if (undecryptable) {
                        unwrapFailures++;
                    }
                    int index = flow == ControlBlock.NOT_A_FLOW_DATAGRAM ? -1 : flowIndex.indexOf(flow);
                    if (index < 0 && flow != ControlBlock.NOT_A_FLOW_DATAGRAM) {
                        index = flowIndex.add(flow); // -1 beyond MAX_TRACKED_FLOWS
                        if (index >= 0) {
                            figures(index, flow, !flowsListed);
                        }
                    }
                    FlowFigures f = index < 0 ? null : flowFigures[index];
                    if (f != null && !f.expected) {
                        unexpectedFlow++;
                    }
                    if (h == null || h.seq() > Integer.MAX_VALUE - 1 || f == null) {
                        corrupt++;
                        if (f != null) {
                            f.corrupt++;
                        }
                        return;
                    }
                    ConnectionTrack connectionTrack = (ConnectionTrack) connection.attachment();
                    if (connectionTrack == null) {
                        connectionTrack = new ConnectionTrack();
                        connection.attach(connectionTrack);
                    }
                    Track track = connectionTrack.flow(index);
                    int seq = (int) h.seq();
                    if (track.seen.get(seq)) {
                        duplicates++;
                        f.duplicates++;
                        return;
                    }
                    track.seen.set(seq);
                    if (seq < track.highest) {
                        reordered++;
                        f.reordered++;
                    } else {
                        track.highest = seq;
                    }
                    received++;
                    f.received++;
                    bytes += h.size();
                    f.bytes += h.size();
                    if (intervalNanos > 0) {
                        int i = (int) Math.min(Integer.MAX_VALUE - 8, (now - firstNanos) / intervalNanos);
                        if (i >= intervals.length) {
                            intervals = Arrays.copyOf(intervals, Math.max(i + 1, intervals.length * 2));
                        }
                        intervals[i]++;
                        lastInterval = Math.max(lastInterval, i);
                    }
                    long micros = (now - h.sendNanos()) / 1000;
                    if (micros >= 0) {
                        latency.record(micros);
                    }
                    if (expected > 0 && received >= expected) {
                        complete.countDown();
                    }
                }
            } finally {
                datagram.release();
            }
        }

        /** Creates the figures of a flow at its index. */
        private void figures(int index, long flow, boolean isExpected) {
            if (index >= flowFigures.length) {
                flowFigures = Arrays.copyOf(flowFigures, Math.max(index + 1, flowFigures.length * 2));
            }
            flowFigures[index] = new FlowFigures(flow, isExpected);
        }

        /**
         * Decrypts the readable bytes of {@code datagram} with the one reused cipher, from a reused array into a
         * reused buffer (every datagram of the endpoint arrives on its one event loop).
         *
         * @return the plaintext, valid until the next call; or null if the datagram does not authenticate with the
         *     key and session
         */
        private ByteBuf decrypt(long sessionId, ByteBuf datagram) {
            int len = datagram.readableBytes();
            if (len < AesGcmCodec.OVERHEAD) {
                return null;
            }
            if (sealed.length < len) {
                sealed = new byte[Math.max(len, sealed.length * 2)];
            }
            datagram.getBytes(datagram.readerIndex(), sealed, 0, len);
            try {
                cipher.init(javax.crypto.Cipher.DECRYPT_MODE, keySpec,
                    new javax.crypto.spec.GCMParameterSpec(AesGcmCodec.TAG_LENGTH * 8, sealed, 0, AesGcmCodec.NONCE_LENGTH));
                AesGcmCodec.aad(sessionId, aad);
                cipher.updateAAD(aad);
                int room = cipher.getOutputSize(len - AesGcmCodec.NONCE_LENGTH);
                if (plain == null || plain.capacity() < room) {
                    int capacity = Math.max(room, plain == null ? 0 : plain.capacity() * 2);
                    if (plain != null) {
                        plain.release();
                    }
                    plain = Unpooled.buffer(capacity);
                }
                int n = cipher.doFinal(sealed, AesGcmCodec.NONCE_LENGTH, len - AesGcmCodec.NONCE_LENGTH, plain.array(),
                    plain.arrayOffset());
                plain.setIndex(0, n);
                return plain;
            } catch (AEADBadTagException e) {
                return null;
            } catch (java.security.GeneralSecurityException e) {
                throw new IllegalStateException("AES-GCM decryption failed unexpectedly: " + e, e);
            }
        }

        /**
         * Checks the rsa-sign signature at the end of {@code datagram} with the one reused verifier, from a reused
         * array (every datagram of the endpoint arrives on its one event loop).
         *
         * @return the payload's length (from the reader index); -1 if the signature does not verify
         */
        private int verifySignature(long sessionId, ByteBuf datagram) {
            int len = datagram.readableBytes();
            if (sealed.length < len) {
                sealed = new byte[Math.max(len, sealed.length * 2)];
            }
            datagram.getBytes(datagram.readerIndex(), sealed, 0, len);
            return RsaSignCodec.verify(verifier, signatureLength, sessionId, signedPrefix, sealed, 0, len);
        }

        /** Releases the reused plaintext buffer; call once no datagram can arrive any more. */
        synchronized void release() {
            if (plain != null) {
                plain.release();
                plain = null;
            }
        }

        @Override
        public synchronized void closed(ArtpConnection connection, ErrorCode code, String reason) {
            if (code == ErrorCode.NO_ERROR) {
                closedOrderly++;
            }
        }

        synchronized Summary summary() {
            List<FlowSummary> flows = new ArrayList<>(flowIndex.size());
            for (int i = 0; i < flowIndex.size(); i++) {
                FlowFigures f = flowFigures[i];
                flows.add(new FlowSummary(f.flow, f.expected, f.received, f.duplicates, f.reordered, f.corrupt, f.bytes));
            }
            flows.sort(Comparator.comparingLong(FlowSummary::flow));
            return new Summary(received, duplicates, corrupt, unwrapFailures, reordered, bytes, firstNanos, lastNanos,
                connections, closedOrderly, latency, Arrays.copyOf(intervals, lastInterval + 1),
                flows.toArray(new FlowSummary[0]), unexpectedFlow);
        }
    }
}
