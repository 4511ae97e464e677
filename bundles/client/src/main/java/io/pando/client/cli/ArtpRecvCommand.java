package io.pando.client.cli;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.pando.artp.ArtpConfig;
import io.pando.artp.ArtpConnection;
import io.pando.artp.ArtpEndpoint;
import io.pando.artp.ArtpHandler;
import io.pando.artp.ArtpStats;
import io.pando.artp.ErrorCode;
import io.pando.artp.SessionAcceptor;
import io.pando.artp.SessionGrant;
import io.pando.ep.aesgcm.codec.AesGcmCodec;
import java.io.PrintWriter;
import java.net.InetSocketAddress;
import java.util.BitSet;
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
 * corrupt.
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

    @Option(names = "--interval-ms", paramLabel = "MS",
        description = "Also count datagrams per interval of this many milliseconds from the first one (JSON field "
            + "intervals): shows the rate over time, e.g. a dip while the router swaps a policy.")
    Integer intervalMs;

    @Option(names = "--json", description = "Print one JSON object with the results as the last line.")
    boolean json;

    /** The parsed {@code --aes-gcm-key}, or null. */
    private byte[] key;

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
    }

    @Override
    public Integer call() {
        validate();
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        Receiver receiver = new Receiver(count == null ? 0 : count, key, intervalMs == null ? 0 : intervalMs);
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
                + (key == null ? "" : " (" + s.decryptFailures + " did not decrypt)");
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
            s.duplicates, s.reordered, s.corrupt, key == null ? "" : " (" + s.decryptFailures + " did not decrypt)",
            s.latency.quantile(0.5), s.latency.quantile(0.99), s.latency.max(), stopReason);
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
                    j.writeNumberField("decrypt_failures", s.decryptFailures);
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

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** What one connection has seen; touched only on its event loop (under the receiver's lock). */
    private static final class Track {
        final BitSet seen = new BitSet();
        long highest = -1;
    }

    /** A consistent copy of the receiver's results. */
    private record Summary(long received, long duplicates, long corrupt, long decryptFailures, long reordered, long bytes,
        long firstNanos, long lastNanos, long connections, long closedOrderly, LatencyHistogram latency,
        long[] intervals) {
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
        private long decryptFailures;
        private long reordered;
        private long bytes;
        private long firstNanos;
        volatile long lastNanos;
        private long connections;
        private long closedOrderly;
        private final long intervalNanos;
        private long[] intervals = new long[64];
        private int lastInterval = -1;
        private final javax.crypto.Cipher cipher;
        private final javax.crypto.spec.SecretKeySpec keySpec;
        private final byte[] aad = new byte[AesGcmCodec.AAD_LENGTH];

        /**
         * @param expected datagrams to wait for, 0 for no limit
         * @param key the AES-GCM key to decrypt with, or null when the datagrams are plaintext
         * @param intervalMs length of a rate interval, 0 for none
         */
        Receiver(long expected, byte[] key, int intervalMs) {
            this.expected = expected;
            this.key = key;
            this.intervalNanos = intervalMs * 1_000_000L;
            try {
                this.cipher = key == null ? null : javax.crypto.Cipher.getInstance(AesGcmCodec.TRANSFORMATION);
            } catch (java.security.GeneralSecurityException e) {
                throw new IllegalStateException("AES-GCM is not available in this JVM: " + e, e);
            }
            this.keySpec = key == null ? null : new javax.crypto.spec.SecretKeySpec(key, "AES");
        }

        @Override
        public synchronized void connected(ArtpConnection connection) {
            connections++;
            connection.attach(new Track());
        }

        @Override
        public void datagram(ArtpConnection connection, ByteBuf datagram, boolean control) {
            long now = System.nanoTime();
            try {
                Payload.Header h = null;
                boolean undecryptable = false;
                if (!control && key == null) {
                    h = Payload.verify(datagram);
                } else if (!control) {
                    byte[] plain = decrypt(connection.sessionId(), datagram);
                    if (plain == null) {
                        undecryptable = true;
                    } else {
                        ByteBuf p = Unpooled.wrappedBuffer(plain);
                        try {
                            h = Payload.verify(p);
                        } finally {
                            p.release();
                        }
                    }
                }
                synchronized (this) {
                    if (firstNanos == 0) {
                        firstNanos = now;
                    }
                    lastNanos = now;
                    if (undecryptable) {
                        decryptFailures++;
                    }
                    if (h == null || h.seq() > Integer.MAX_VALUE - 1) {
                        corrupt++;
                        return;
                    }
                    Track track = (Track) connection.attachment();
                    if (track == null) {
                        track = new Track();
                        connection.attach(track);
                    }
                    int seq = (int) h.seq();
                    if (track.seen.get(seq)) {
                        duplicates++;
                        return;
                    }
                    track.seen.set(seq);
                    if (seq < track.highest) {
                        reordered++;
                    } else {
                        track.highest = seq;
                    }
                    received++;
                    bytes += h.size();
                    if (intervalNanos > 0) {
                        int i = (int) Math.min(Integer.MAX_VALUE - 8, (now - firstNanos) / intervalNanos);
                        if (i >= intervals.length) {
                            intervals = java.util.Arrays.copyOf(intervals, Math.max(i + 1, intervals.length * 2));
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

        /**
         * Decrypts with the one reused cipher (every datagram of the endpoint arrives on its one event loop).
         *
         * @return the plaintext, or null if the datagram does not authenticate with the key and session
         */
        private byte[] decrypt(long sessionId, ByteBuf datagram) {
            int len = datagram.readableBytes();
            if (len < AesGcmCodec.OVERHEAD) {
                return null;
            }
            byte[] in = ByteBufUtil.getBytes(datagram);
            try {
                cipher.init(javax.crypto.Cipher.DECRYPT_MODE, keySpec,
                    new javax.crypto.spec.GCMParameterSpec(AesGcmCodec.TAG_LENGTH * 8, in, 0, AesGcmCodec.NONCE_LENGTH));
                AesGcmCodec.aad(sessionId, aad);
                cipher.updateAAD(aad);
                return cipher.doFinal(in, AesGcmCodec.NONCE_LENGTH, len - AesGcmCodec.NONCE_LENGTH);
            } catch (AEADBadTagException e) {
                return null;
            } catch (java.security.GeneralSecurityException e) {
                throw new IllegalStateException("AES-GCM decryption failed unexpectedly: " + e, e);
            }
        }

        @Override
        public synchronized void closed(ArtpConnection connection, ErrorCode code, String reason) {
            if (code == ErrorCode.NO_ERROR) {
                closedOrderly++;
            }
        }

        synchronized Summary summary() {
            return new Summary(received, duplicates, corrupt, decryptFailures, reordered, bytes, firstNanos, lastNanos,
                connections, closedOrderly, latency, java.util.Arrays.copyOf(intervals, lastInterval + 1));
        }
    }
}
