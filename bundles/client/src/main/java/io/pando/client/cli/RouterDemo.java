package io.pando.client.cli;

import io.pando.client.cli.DemoCommand.Child;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The router half of {@code pando demo}: the local node, one AES-GCM session over several units, a verified
 * stream through it, the router's own figures.
 */
final class RouterDemo {

    private static final String PROGRAM = "aes-gcm-encrypt";
    private static final long NODE_START_TIMEOUT_MS = 180_000;

    private final DemoCommand opts;
    private final PrintWriter out;
    private final PrintWriter err;
    private final Path home;
    private ConsoleClient console;
    private ConsoleTarget target;

    RouterDemo(DemoCommand opts, PrintWriter out, PrintWriter err) {
        this.opts = opts;
        this.out = out;
        this.err = err;
        String h = System.getenv(ConsoleTarget.ENV_HOME);
        this.home = h == null || h.isBlank() ? null : Path.of(h);
    }

    int run() throws Exception {
        if (home == null || !Files.isExecutable(home.resolve("bin/start"))) {
            err.println("demo: the router runs from the Pando distribution: use karaf-assembly/target/assembly/bin/pando "
                + "demo (KARAF_HOME is " + (home == null ? "not set" : home + ", without bin/start") + "), or "
                + "pando demo --direct for the transfer alone");
            return 1;
        }
        target = ConsoleTarget.resolve(null, null, null, null, System.getenv());
        long deadline = System.nanoTime() + (long) (opts.timeout * 1e9);
        boolean started = false;
        Child recv = null;
        ConsoleClient c = new ConsoleClient();
        console = c;
        try {
            if (call("pando:units --json", 5_000) == null) {
                out.printf(Locale.ROOT, "pando demo: starting the local router node (%s/bin/start) ...%n", home);
                out.flush();
                long t0 = System.nanoTime();
                Process p = new ProcessBuilder(home.resolve("bin/start").toString()).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
                if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
                    err.println("demo: bin/start failed");
                    return 1;
                }
                started = true;
                if (!awaitUnits(System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(NODE_START_TIMEOUT_MS))) {
                    err.println("demo: the node did not come up with " + opts.units + " units within "
                        + NODE_START_TIMEOUT_MS / 1000 + " s; see " + home.resolve("data/log/karaf.log"));
                    return 1;
                }
                out.printf(Locale.ROOT, "node up in %.1f s%n", (System.nanoTime() - t0) / 1e9);
            } else if (!awaitUnits(System.nanoTime() + TimeUnit.SECONDS.toNanos(30))) {
                err.println("demo: the running node has fewer than " + opts.units + " units (pando:units)");
                return 1;
            }
            byte[] key = new byte[32];
            new SecureRandom().nextBytes(key);
            String hexKey = HexFormat.of().formatHex(key);
            recv = Child.start("recv", List.of("artp", "recv", "--listen", "127.0.0.1:0", "--count",
                Long.toString(opts.count), "--idle", "15", "--linger", "5", "--timeout", DemoCommand.fmt(opts.timeout),
                "--aes-gcm-key", hexKey, "--json"));
            String first = recv.firstLine.get(30, TimeUnit.SECONDS);
            if (first == null || !first.startsWith("listening on ")) {
                err.println("demo: the receiver did not start: " + recv.stderr());
                return 1;
            }
            String destination = first.substring("listening on ".length()).split(" ")[0];
            String name = "demo-" + Long.toString(System.currentTimeMillis(), 36);
            Object created = call("pando:session-create --name " + name + " --program " + PROGRAM + " --to "
                + destination + " --units " + opts.units + " --policy round-robin --reorder-window 20 --isolation " + opts.isolation
                + " --param key=" + hexKey + " --json", 60_000);
            if (!(created instanceof Map<?, ?> session)) {
                err.println("demo: the router refused the session");
                return 1;
            }
            String id = String.valueOf(session.get("id"));
            String ingress = String.valueOf(session.get("ingress"));
            out.printf(Locale.ROOT, "pando demo: session %s (%s): %d datagrams of %d bytes, pando artp send -> router "
                + "%s [distribution -> %s (%s) on units %s -> aggregation] -> pando artp recv %s (decrypts and "
                + "verifies)%n", id, name, opts.count, opts.size, ingress, PROGRAM, opts.isolation, session.get("units"),
                destination);
            out.flush();
            List<String> send = new ArrayList<>(List.of("artp", "send", "--to", ingress, "--session", id, "--count",
                Long.toString(opts.count), "--size", Integer.toString(opts.size), "--timeout",
                DemoCommand.fmt(opts.timeout), "--json"));
            if (opts.rate != null) {
                send.add("--rate");
                send.add(DemoCommand.fmt(opts.rate));
            }
            Child sender = Child.start("send", send);
            Map<String, Object> s = sender.result(deadline);
            Map<String, Object> r = recv.result(deadline);
            Object closed = call("pando:session-close --json " + id, 60_000);
            if (s == null || r == null) {
                err.println("demo: no result from " + (s == null ? "the sender: " + sender.stderr()
                    : "the receiver: " + recv.stderr()));
                return 1;
            }
            DemoCommand.report(out, s, r);
            if (closed instanceof Map<?, ?> last) {
                routerReport(last);
            }
            long received = DemoCommand.num(r, "received");
            if (sender.exit != 0 || recv.exit != 0 || received != opts.count || DemoCommand.num(r, "duplicates") != 0
                    || DemoCommand.num(r, "corrupt") != 0) {
                err.printf(Locale.ROOT, "demo: FAILED (send exit %d, recv exit %d): %s %s%n", sender.exit, recv.exit,
                    sender.stderr(), recv.stderr());
                return 1;
            }
            out.println("demo: OK, every datagram went through the router's AES-GCM program once, and decrypted "
                + "at the receiver to exactly what was sent");
            out.flush();
            return 0;
        } finally {
            if (recv != null) {
                recv.destroy();
            }
            if (started && !opts.keepRunning) {
                stopNode();
            }
            c.close();
        }
    }

    @SuppressWarnings("unchecked")
    private void routerReport(Map<?, ?> last) {
        Map<String, Object> counters = (Map<String, Object>) last.get("counters");
        Map<String, Object> reorder = (Map<String, Object>) last.get("reorder");
        Map<String, Object> perUnit = (Map<String, Object>) last.get("unit_counters");
        if (counters != null) {
            out.printf(Locale.ROOT, "router     %d datagrams in, %d out; egress reordering: %d out of order "
                + "(max displacement %d); sender paused %d times by back-pressure%n",
                DemoCommand.num(counters, "datagrams_in"), DemoCommand.num(counters, "datagrams_out"),
                DemoCommand.num(counters, "out_of_order"), DemoCommand.num(counters, "max_displacement"),
                DemoCommand.num(counters, "pauses"));
        }
        if (reorder != null && reorder.containsKey("window_arrived")) {
            out.printf(Locale.ROOT, "reorder    window: %d held, %d released at the deadline, longest hold %.1f ms%n",
                DemoCommand.num(reorder, "window_held_total"), DemoCommand.num(reorder, "window_deadline_releases"),
                DemoCommand.num(reorder, "window_max_hold_ns") / 1e6);
        }
        if (perUnit != null) {
            for (Map.Entry<String, Object> e : perUnit.entrySet()) {
                Map<String, Object> u = (Map<String, Object>) e.getValue();
                long n = DemoCommand.num(u, "datagrams_in");
                out.printf(Locale.ROOT, "unit %-5s %d datagrams, program CPU %.2f us/datagram, %d program errors, "
                    + "buffer high-water %,d B (quota %,d B)%n", e.getKey(), n,
                    n == 0 ? 0.0 : DemoCommand.num(u, "cpu_ns") / 1e3 / n, DemoCommand.num(u, "program_errors"),
                    DemoCommand.num(u, "buffer_high_water"), DemoCommand.num(u, "quota_bytes"));
                if (DemoCommand.num(u, "isolation_process") == 1) {
                    out.printf(Locale.ROOT, "sandbox %-5s ready in %d ms, %d start(s), %d killed; cgroup: %.2f CPU-s, "
                        + "memory peak %.1f MiB of %.0f MiB, throttled %d times%n", e.getKey(),
                        DemoCommand.num(u, "sandbox_start_ms"), DemoCommand.num(u, "sandbox_starts"),
                        DemoCommand.num(u, "program_killed"), DemoCommand.num(u, "sandbox_cgroup_cpu_ns") / 1e9,
                        DemoCommand.num(u, "sandbox_memory_peak_bytes") / 1048576.0,
                        DemoCommand.num(u, "sandbox_memory_limit_bytes") / 1048576.0,
                        DemoCommand.num(u, "sandbox_throttled"));
                }
            }
        }
        out.flush();
    }

    /** Waits until the node lists at least the requested number of units. */
    private boolean awaitUnits(long deadline) throws InterruptedException {
        while (System.nanoTime() < deadline) {
            Object units = call("pando:units --json", 10_000);
            if (units instanceof List<?> l && l.size() >= opts.units) {
                return true;
            }
            Thread.sleep(1000);
        }
        return false;
    }

    /** Runs a console command; returns the parsed JSON of its last line, or null if it failed. */
    private Object call(String command, long timeoutMillis) {
        ConsoleClient.Attempt a = console.run(target, command, timeoutMillis);
        String text = new String(a.out(), StandardCharsets.UTF_8).trim();
        if (!a.ok()) {
            if (a.outcome() == ConsoleClient.Outcome.COMMAND_FAILED) {
                err.println("demo: " + command.split(" ")[0] + ": " + a.message());
            }
            return null;
        }
        int nl = text.lastIndexOf('\n');
        return Child.parse(nl < 0 ? text : text.substring(nl + 1));
    }

    private void stopNode() {
        try {
            Process p = new ProcessBuilder(home.resolve("bin/stop").toString()).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            p.waitFor(60, TimeUnit.SECONDS);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (System.nanoTime() < deadline
                    && console.run(target, "shell:echo", 2_000).outcome() != ConsoleClient.Outcome.CONNECT_FAILED) {
                Thread.sleep(500);
            }
            out.println("node stopped");
            out.flush();
        } catch (IOException e) {
            err.println("demo: bin/stop failed: " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
