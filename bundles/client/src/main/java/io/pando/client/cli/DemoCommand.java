package io.pando.client.cli;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import io.pando.client.Main;
import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code pando demo}: Pando's main job on its embedded default — a whole router on this machine. It starts the
 * local node ({@code $KARAF_HOME/bin/start}, feature {@code pando-all}: distribution unit, two parallel AR
 * units, aggregation unit) unless one is running, creates a session that runs the AES-GCM encryptor on two units
 * with a fresh random key, streams datagrams through it from a {@code pando artp send} process to a
 * {@code pando artp recv} process that decrypts and verifies every one, prints the figures of the sender, the
 * receiver and the router (per unit), closes the session and stops the node it started.
 *
 * <p>{@code --direct} runs the ARTP transfer alone, sender to receiver without a router: the baseline.
 */
@Command(name = "demo", mixinStandardHelpOptions = true, sortOptions = false,
    description = {"Run Pando's main job on this machine and print its figures: start the local router node",
        "(unless running), create a session running the AES-GCM encryptor on two units, stream through it,",
        "decrypt and verify every datagram at the receiver, close the session and stop the node."},
    exitCodeListHeading = "%nExit status:%n",
    exitCodeList = {"0:every datagram arrived once, intact and as the program should make it",
        "1:otherwise (reason on stderr)",
        "2:invalid options"})
public final class DemoCommand implements Callable<Integer> {

    private static final JsonFactory JSON = new JsonFactory();

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--count", paramLabel = "N", defaultValue = "200000",
        description = "Datagrams to send (default ${DEFAULT-VALUE}).")
    long count;

    @Option(names = "--size", paramLabel = "BYTES", defaultValue = "1200",
        description = "Bytes per datagram, 24 .. 1048576 (default ${DEFAULT-VALUE}).")
    int size;

    @Option(names = "--rate", paramLabel = "DATAGRAMS_PER_S",
        description = "Pace the sender (default: as fast as ARTP's congestion control allows).")
    Double rate;

    @Option(names = "--timeout", paramLabel = "S", defaultValue = "180",
        description = "Give up after this many seconds (default ${DEFAULT-VALUE}).")
    double timeout;

    @Option(names = "--units", paramLabel = "K", defaultValue = "2",
        description = "Units the session is spread over (default ${DEFAULT-VALUE}).")
    int units;

    @Option(names = "--isolation", paramLabel = "ISOLATION", defaultValue = "process",
        description = "Where the AES-GCM program runs: process (a sandboxed child JVM per unit, confined by bubblewrap "
            + "and a cgroup where available) or in-process (default ${DEFAULT-VALUE}).")
    String isolation;

    @Option(names = "--keep-running", description = "Leave the node running if the demo started it.")
    boolean keepRunning;

    @Option(names = "--direct", description = "Only the ARTP transfer, sender to receiver, without the router.")
    boolean direct;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        if (count < 1 || size < 24 || size > (1 << 20) || timeout <= 0 || (rate != null && rate <= 0)) {
            throw new CommandLine.ParameterException(spec.commandLine(),
                "need --count >= 1, --size in [24, 1048576], --timeout > 0, --rate > 0");
        }
        if (units < 1) {
            throw new CommandLine.ParameterException(spec.commandLine(), "need --units >= 1");
        }
        if (!isolation.equals("process") && !isolation.equals("in-process")) {
            throw new CommandLine.ParameterException(spec.commandLine(),
                "--isolation is process or in-process, got '" + isolation + "'");
        }
        if (!direct) {
            return new RouterDemo(this, out, err).run();
        }
        out.printf(Locale.ROOT, "pando demo --direct: %d datagrams of %d bytes, `pando artp send` -> `pando artp recv` "
            + "on 127.0.0.1, two processes%n", count, size);
        out.flush();
        long deadline = System.nanoTime() + (long) (timeout * 1e9);

        Child recv = Child.start("recv", List.of("artp", "recv", "--listen", "127.0.0.1:0", "--count",
            Long.toString(count), "--idle", "10", "--linger", "5", "--timeout", fmt(timeout), "--json"));
        try {
            String first = recv.firstLine.get(30, TimeUnit.SECONDS);
            if (first == null || !first.startsWith("listening on ")) {
                err.println("demo: the receiver did not start: " + recv.stderr());
                return 1;
            }
            String address = first.substring("listening on ".length()).split(" ")[0];
            List<String> send = new ArrayList<>(List.of("artp", "send", "--to", address, "--count",
                Long.toString(count), "--size", Integer.toString(size), "--timeout", fmt(timeout), "--json"));
            if (rate != null) {
                send.add("--rate");
                send.add(fmt(rate));
            }
            Child sender = Child.start("send", send);
            Map<String, Object> s = sender.result(deadline);
            Map<String, Object> r = recv.result(deadline);
            if (s == null || r == null) {
                err.println("demo: no result from " + (s == null ? "the sender: " + sender.stderr()
                    : "the receiver: " + recv.stderr()));
                return 1;
            }
            report(out, s, r);
            long received = num(r, "received");
            if (sender.exit != 0 || recv.exit != 0 || received != count || num(r, "duplicates") != 0
                    || num(r, "corrupt") != 0) {
                err.printf(Locale.ROOT, "demo: FAILED (send exit %d, recv exit %d): %s %s%n", sender.exit, recv.exit,
                    sender.stderr(), recv.stderr());
                return 1;
            }
            out.println("demo: OK, every datagram arrived once and intact");
            out.flush();
            return 0;
        } finally {
            recv.destroy();
        }
    }

    static void report(PrintWriter out, Map<String, Object> s, Map<String, Object> r) {
        long received = num(r, "received");
        @SuppressWarnings("unchecked")
        Map<String, Object> latency = (Map<String, Object>) r.getOrDefault("latency_us", Map.of());
        @SuppressWarnings("unchecked")
        Map<String, Object> rxArtp = (Map<String, Object>) r.getOrDefault("artp", Map.of());
        @SuppressWarnings("unchecked")
        Map<String, Object> txArtp = (Map<String, Object>) s.getOrDefault("artp", Map.of());
        out.printf(Locale.ROOT, "received   %d of %d datagrams, %d duplicates, %d corrupt, %d reordered%n",
            received, num(s, "sent"), num(r, "duplicates"), num(r, "corrupt"), num(r, "reordered"));
        out.printf(Locale.ROOT, "throughput %,.0f datagrams/s, %,.1f Mbit/s (receiver, first to last datagram)%n",
            dbl(r, "datagrams_per_s"), dbl(r, "mbit_per_s"));
        out.printf(Locale.ROOT, "latency    p50 %d us, p99 %d us, max %d us (send call to delivery, includes "
            + "queueing)%n", num(latency, "p50"), num(latency, "p99"), num(latency, "max"));
        out.printf(Locale.ROOT, "sender     %d packets, %d retransmitted, srtt %d us, cwnd %d B; CPU %.2f s = %.2f "
            + "us/datagram%n", num(txArtp, "packets_sent"), num(s, "retransmitted"), num(txArtp, "srtt_us"),
            num(txArtp, "cwnd"), dbl(s, "cpu_seconds"), perDatagram(dbl(s, "cpu_seconds"), received));
        long drops = 0;
        for (String k : List.of("truncated", "bad_version", "bad_type", "bad_flags", "malformed", "bad_checksum",
            "auth_failed", "replayed", "unknown_connection", "invalid_ack", "flow_control", "reassembly_full",
            "cookie_invalid")) {
            drops += num(rxArtp, k);
        }
        out.printf(Locale.ROOT, "receiver   %d packets, %d duplicate packets, %d dropped by validation; CPU %.2f s = "
            + "%.2f us/datagram; transport %s%n", num(rxArtp, "packets_received"), num(rxArtp, "duplicates"), drops,
            dbl(r, "cpu_seconds"), perDatagram(dbl(r, "cpu_seconds"), received), r.get("transport"));
        out.flush();
    }

    private static double perDatagram(double cpuSeconds, long datagrams) {
        return datagrams > 0 && cpuSeconds >= 0 ? cpuSeconds * 1e6 / datagrams : 0;
    }

    static String fmt(double v) {
        return String.format(Locale.ROOT, "%s", v);
    }

    static long num(Map<String, Object> m, String key) {
        Object v = m.get(key);
        return v instanceof Number ? ((Number) v).longValue() : 0;
    }

    static double dbl(Map<String, Object> m, String key) {
        Object v = m.get(key);
        return v instanceof Number ? ((Number) v).doubleValue() : 0;
    }

    /** One {@code pando} child process: this same jar, another JVM. */
    static final class Child {
        final String name;
        final Process process;
        final CompletableFuture<String> firstLine = new CompletableFuture<>();
        final StringBuilder stderr = new StringBuilder();
        volatile String lastLine;
        int exit = -1;

        private Child(String name, Process process) {
            this.name = name;
            this.process = process;
        }

        static Child start(String name, List<String> args) throws IOException {
            List<String> cmd = new ArrayList<>();
            cmd.add(ProcessHandle.current().info().command().orElse("java"));
            cmd.add("-cp");
            cmd.add(ownJar());
            cmd.add(Main.class.getName());
            cmd.addAll(args);
            Child c = new Child(name, new ProcessBuilder(cmd).start());
            Thread t = new Thread(c::pumpOut, "demo-" + name + "-out");
            t.setDaemon(true);
            t.start();
            Thread e = new Thread(c::pumpErr, "demo-" + name + "-err");
            e.setDaemon(true);
            e.start();
            return c;
        }

        private static String ownJar() {
            try {
                return new File(Main.class.getProtectionDomain().getCodeSource().getLocation().toURI()).getPath();
            } catch (URISyntaxException e) {
                throw new IllegalStateException("cannot locate the pando jar", e);
            }
        }

        private void pumpOut() {
            try (BufferedReader in = new BufferedReader(new InputStreamReader(process.getInputStream(),
                    StandardCharsets.UTF_8))) {
                String line;
                while ((line = in.readLine()) != null) {
                    firstLine.complete(line);
                    lastLine = line;
                }
            } catch (IOException e) {
                // the process went away; exit status tells
            } finally {
                firstLine.complete(null);
            }
        }

        private void pumpErr() {
            try (BufferedReader in = new BufferedReader(new InputStreamReader(process.getErrorStream(),
                    StandardCharsets.UTF_8))) {
                String line;
                while ((line = in.readLine()) != null) {
                    synchronized (stderr) {
                        if (stderr.length() < 4000) {
                            stderr.append(line).append('\n');
                        }
                    }
                }
            } catch (IOException e) {
                // ignore
            }
        }

        String stderr() {
            synchronized (stderr) {
                return stderr.toString().trim();
            }
        }

        /** Waits for the process and parses the JSON object of its last line; null on timeout or no JSON. */
        Map<String, Object> result(long deadline) throws InterruptedException {
            long left = Math.max(1, deadline - System.nanoTime());
            if (!process.waitFor(left, TimeUnit.NANOSECONDS)) {
                process.destroyForcibly();
                return null;
            }
            exit = process.exitValue();
            Thread.sleep(50); // let the reader thread see the last line
            String line = lastLine;
            if (line == null || !line.startsWith("{")) {
                return null;
            }
            try (JsonParser p = JSON.createParser(line)) {
                p.nextToken();
                return readObject(p);
            } catch (IOException e) {
                return null;
            }
        }

        void destroy() {
            if (process.isAlive()) {
                process.destroyForcibly();
            }
        }

        static Object parse(String line) {
            try (JsonParser p = JSON.createParser(line)) {
                JsonToken t = p.nextToken();
                return t == JsonToken.START_OBJECT ? readObject(p) : t == JsonToken.START_ARRAY ? readArray(p) : null;
            } catch (IOException e) {
                return null;
            }
        }

        private static List<Object> readArray(JsonParser p) throws IOException {
            List<Object> l = new ArrayList<>();
            JsonToken t;
            while ((t = p.nextToken()) != JsonToken.END_ARRAY && t != null) {
                if (t == JsonToken.START_OBJECT) {
                    l.add(readObject(p));
                } else if (t == JsonToken.START_ARRAY) {
                    l.add(readArray(p));
                } else if (t.isNumeric()) {
                    l.add(p.getNumberValue());
                } else {
                    l.add(p.getValueAsString());
                }
            }
            return l;
        }

        private static Map<String, Object> readObject(JsonParser p) throws IOException {
            Map<String, Object> m = new HashMap<>();
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String key = p.getCurrentName();
                JsonToken t = p.nextToken();
                if (t == JsonToken.START_OBJECT) {
                    m.put(key, readObject(p));
                } else if (t == JsonToken.START_ARRAY) {
                    m.put(key, readArray(p));
                } else if (t.isNumeric()) {
                    m.put(key, p.getNumberValue());
                } else if (t == JsonToken.VALUE_TRUE || t == JsonToken.VALUE_FALSE) {
                    m.put(key, p.getBooleanValue());
                } else {
                    m.put(key, p.getValueAsString());
                }
            }
            return m;
        }
    }
}
