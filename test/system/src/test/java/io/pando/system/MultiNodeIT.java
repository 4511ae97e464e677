package io.pando.system;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * One router on three Karaf processes, configured as bundles/remote/README.md says: node A runs the distribution
 * and the aggregation unit (feature pando-router-node, no local unit) and uses the units of nodes B and C (feature
 * pando-unit-node, one unit each, b1 and c1), over TCP control and ARTP data. A stream of 100,000 datagrams of
 * 1000 bytes goes from {@code pando artp send} through A, both unit nodes and back through A to
 * {@code pando artp recv}, which checks every datagram arrived once and intact.
 *
 * <p>Ports: SSH 8401-8403, everything else in 17500-17599 (A 1750x, B 1751x, C 1752x).
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class MultiNodeIT {

    private static final int COUNT = 100_000;
    private static final int SIZE = 1000;
    private static final String HOST = "127.0.0.1";
    private static final int INGRESS = 17500;
    private static final int RECEIVER = 17503;
    private static final long BOOT_SECONDS = 240;

    /** One Karaf node: its copy of the distribution and its ports. */
    private record Node(String name, Path home, int ssh, int rmiRegistry, int rmiServer, String bootFeature,
        Map<String, String> configs) {
    }

    private static final List<Node> NODES = new ArrayList<>();
    private static Path work;
    private static Path cli;
    private static Node a;

    @BeforeAll
    static void prepareThreeNodes() throws Exception {
        Path built = Path.of(System.getProperty("pando.assembly.dir", "../../karaf-assembly/target/assembly"))
            .toAbsolutePath().normalize();
        assertTrue(Files.isDirectory(built.resolve("bin")), "the Karaf assembly is built first: " + built);
        work = Path.of(System.getProperty("pando.work.dir", "target/system-tests")).toAbsolutePath()
            .resolve("multinode");
        cli = built.resolve("lib/pando/pando-cli.jar");
        a = new Node("a", work.resolve("a"), 8401, 17505, 17506, "pando-router-node", Map.of(
            "io.pando.distribution.cfg", "ingress.host = " + HOST + "\ningress.port = " + INGRESS + "\n",
            "io.pando.aggregation.cfg", "egress.host = " + HOST + "\negress.port = 17501\n",
            "io.pando.remote.aggregationserver.cfg", "data.host = " + HOST + "\ndata.port = 17502\n",
            "io.pando.remote.units.cfg", "nodes = " + HOST + ":17510/17511, " + HOST + ":17520/17521\n"
                + "aggregation.address = " + HOST + ":17502\n"));
        Node b = unitNode("b", 8402, 1751);
        Node c = unitNode("c", 8403, 1752);
        NODES.addAll(List.of(a, b, c));
        for (Node n : NODES) {
            stop(n); // a node left running by an interrupted earlier run
        }
        run(List.of("rm", "-rf", work.toString()), 60);
        Files.createDirectories(work);
        Path remoteJar = remoteBundle(built);
        for (Node n : NODES) {
            prepare(built, n, remoteJar);
        }
        for (Node n : List.of(b, c, a)) {
            assertEquals(0, run(List.of(n.home.resolve("bin/start").toString()), 60), "bin/start of node " + n.name);
        }
        for (Node n : List.of(b, c, a)) {
            awaitBooted(n);
        }
    }

    /**
     * Waits until the node serves its role: a unit node accepts control connections, node A answers
     * {@code pando:units}. A node that does not come up in time (Karaf's first boot has been seen to stall on a
     * loaded machine while it refreshes bundles) gets its threads dumped to the work directory and one restart.
     */
    private static void awaitBooted(Node n) throws Exception {
        if (booted(n, BOOT_SECONDS)) {
            return;
        }
        Path dump = work.resolve(n.name + "-threads.txt");
        Optional<ProcessHandle> p = process(n);
        if (p.isPresent()) {
            run(List.of("sh", "-c", Path.of(System.getProperty("java.home"), "bin", "jstack") + " " + p.get().pid()
                + " > " + dump + " 2>&1"), 60);
        }
        System.out.println("[multinode] node " + n.name + " did not come up within " + BOOT_SECONDS + " s (thread dump: "
            + dump + "; last log lines:\n" + log(n) + "\n); restarting it once");
        stop(n);
        assertEquals(0, run(List.of(n.home.resolve("bin/start").toString()), 60), "bin/start of node " + n.name);
        assertTrue(booted(n, BOOT_SECONDS), "node " + n.name + " came up; karaf.log:\n" + log(n));
    }

    private static boolean booted(Node n, long seconds) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (System.nanoTime() < deadline) {
            if (n == a) {
                if (console(a, "pando:units --json", 90).exit == 0) {
                    return true;
                }
            } else {
                int port = Integer.parseInt(n.configs.get("io.pando.remote.unitserver.cfg")
                    .replaceAll("(?s).*control\\.port = (\\d+).*", "$1"));
                try (java.net.Socket s = new java.net.Socket()) {
                    s.connect(new java.net.InetSocketAddress(HOST, port), 1000);
                    return true;
                } catch (IOException e) {
                    // not yet
                }
            }
            Thread.sleep(1000);
        }
        return false;
    }

    private static Node unitNode(String name, int ssh, int portBase) {
        return new Node(name, work.resolve(name), ssh, portBase * 10 + 5, portBase * 10 + 6, "pando-unit-node",
            Map.of("io.pando.unit-" + name + "1.cfg", "unit.id = " + name + "1\n",
                "io.pando.remote.unitserver.cfg", "control.host = " + HOST + "\ncontrol.port = " + portBase + "0\n"
                    + "data.host = " + HOST + "\ndata.port = " + portBase + "1\n"));
    }

    /** Copies the distribution and configures it as the node: boot feature, ports, Pando configuration. */
    private static void prepare(Path built, Node n, Path remoteJar) throws Exception {
        assertEquals(0, run(List.of("cp", "-a", built.toString(), n.home.toString()), 120), "copy for node " + n.name);
        Path etc = n.home.resolve("etc");
        Files.deleteIfExists(etc.resolve("io.pando.unit-u1.cfg"));
        Files.deleteIfExists(etc.resolve("io.pando.unit-u2.cfg"));
        Path features = etc.resolve("org.apache.karaf.features.cfg");
        String f = Files.readString(features);
        String boot = f.replaceAll("pando-all(/[^,\\s]*)?", n.bootFeature);
        assertTrue(!boot.equals(f), "featuresBoot names pando-all: " + features);
        Files.writeString(features, boot);
        Path shell = etc.resolve("org.apache.karaf.shell.cfg");
        Files.writeString(shell, Files.readString(shell).replaceAll("(?m)^sshPort\\s*=.*$", "sshPort = " + n.ssh));
        Files.writeString(etc.resolve("org.apache.karaf.management.cfg"), "rmiRegistryHost = " + HOST
            + "\nrmiRegistryPort = " + n.rmiRegistry + "\nrmiServerHost = " + HOST + "\nrmiServerPort = "
            + n.rmiServer + "\nserviceUrl = service:jmx:rmi://" + HOST + ":" + n.rmiServer + "/jndi/rmi://" + HOST
            + ":" + n.rmiRegistry + "/karaf-${karaf.name}\n");
        for (Map.Entry<String, String> cfg : n.configs.entrySet()) {
            Files.writeString(etc.resolve(cfg.getKey()), cfg.getValue());
        }
        // pando-remote is not (yet) in the assembly's offline repository: put the built bundle there
        String version = remoteJar.getParent().getFileName().toString();
        Path target = n.home.resolve("system/io/pando/pando-remote/" + version + "/pando-remote-" + version + ".jar");
        if (!Files.exists(target)) {
            Files.createDirectories(target.getParent());
            Files.copy(remoteJar, target);
        }
    }

    /** @return the pando-remote bundle in a directory named by its version: the assembly's, the build's, or ~/.m2 */
    private static Path remoteBundle(Path built) throws IOException {
        Path featuresDir = built.resolve("system/io/pando/pando-features");
        String version;
        try (java.util.stream.Stream<Path> s = Files.list(featuresDir)) {
            version = s.map(p -> p.getFileName().toString()).findFirst().orElseThrow();
        }
        String jar = "pando-remote-" + version + ".jar";
        Path inAssembly = built.resolve("system/io/pando/pando-remote/" + version + "/" + jar);
        if (Files.exists(inAssembly)) {
            return inAssembly;
        }
        Path m2 = Path.of(System.getProperty("user.home"), ".m2/repository/io/pando/pando-remote", version, jar);
        Path reactor = built.resolve("../../../bundles/remote/target/" + jar).normalize();
        Path source = Files.exists(reactor) ? reactor : m2;
        assertTrue(Files.exists(source), "pando-remote is built (./mvnw -o install -pl bundles/remote): " + source);
        Path staged = work.resolve("bundle/" + version + "/" + jar);
        Files.createDirectories(staged.getParent());
        Files.copy(source, staged);
        return staged;
    }

    @AfterAll
    static void stopAllNodes() {
        for (Node n : NODES) {
            try {
                stop(n);
            } catch (Exception e) {
                System.out.println("[multinode] stopping node " + n.name + ": " + e);
            }
        }
    }

    /** bin/stop, then waits for the node's process (by its pid file) to end, killing it if it does not. */
    private static void stop(Node n) throws Exception {
        Optional<ProcessHandle> process = process(n);
        if (process.isEmpty()) {
            return;
        }
        run(List.of(n.home.resolve("bin/stop").toString()), 60);
        ProcessHandle p = process.get();
        try {
            p.onExit().get(60, TimeUnit.SECONDS);
        } catch (java.util.concurrent.TimeoutException e) {
            System.out.println("[multinode] node " + n.name + " did not stop within 60 s; killing pid " + p.pid());
            p.destroyForcibly();
            p.onExit().get(10, TimeUnit.SECONDS);
        }
    }

    /** @return the node's Karaf process, by its pid file, if it runs */
    private static Optional<ProcessHandle> process(Node n) throws IOException {
        Path pidFile = n.home.resolve("karaf.pid");
        if (Files.exists(pidFile)) {
            String pid = Files.readString(pidFile).strip();
            if (pid.matches("\\d+")) {
                return ProcessHandle.of(Long.parseLong(pid)).filter(ProcessHandle::isAlive);
            }
        }
        return Optional.empty();
    }

    // ---- the tests

    @Test
    @Order(1)
    void theRouterNodeListsTheUnitsOfBothUnitNodes() throws Exception {
        List<Object> units = List.of();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(180);
        while (System.nanoTime() < deadline) {
            Result r = console(a, "pando:units --json", 90);
            if (r.exit == 0) {
                units = asList(parse(r.lastLine()));
                if (units.size() >= 2) {
                    break;
                }
            }
            Thread.sleep(1000);
        }
        System.out.println("[multinode] pando:units on node A: " + units);
        Map<String, String> locations = new LinkedHashMap<>();
        for (Object u : units) {
            Map<String, Object> unit = asMap(u);
            locations.put((String) unit.get("id"), (String) unit.get("location"));
        }
        assertEquals(Map.of("b1", HOST + ":17510", "c1", HOST + ":17520"), locations,
            "b1 and c1, remote, and no local unit on A; karaf.log of A: " + log(a));
    }

    @Test
    @Order(2)
    void aStreamCrossesTheThreeNodesWithNothingLostOrDuplicated() throws Exception {
        Stream run = stream("multinode", COUNT, null);
        System.out.printf(Locale.ROOT, "[multinode] %d datagrams x %d B, as fast as the router takes them: sender %.0f "
            + "datagrams/s (%.1f Mbit/s), receiver %.0f datagrams/s (%.1f Mbit/s), %.1f s end to end; latency p50 %d "
            + "us, p99 %d us, max %d us; unit b1 %d, unit c1 %d datagrams; reordered %d%n", COUNT, SIZE,
            dbl(run.sent, "datagrams_per_s"), dbl(run.sent, "mbit_per_s"), dbl(run.got, "datagrams_per_s"),
            dbl(run.got, "mbit_per_s"), run.seconds, run.latency("p50"), run.latency("p99"), run.latency("max"),
            run.toB, run.toC, num(run.got, "reordered"));
        run.check(COUNT);
        if (run.unitFailures == 0) {
            assertTrue(Math.abs(run.toB - COUNT / 2) <= COUNT / 20 && Math.abs(run.toC - COUNT / 2) <= COUNT / 20,
                "both remote units got about half: b1 " + run.toB + ", c1 " + run.toC);
        }
    }

    @Test
    @Order(3)
    void aPacedStreamShowsTheLatencyOfTheThreeNodePath() throws Exception {
        int count = 20_000;
        int rate = 5_000;
        Stream run = stream("multinode-paced", count, rate);
        System.out.printf(Locale.ROOT, "[multinode] %d datagrams x %d B paced at %d/s: receiver %.0f datagrams/s; "
            + "latency p50 %d us, p99 %d us, max %d us; unit b1 %d, unit c1 %d datagrams%n", count, SIZE, rate,
            dbl(run.got, "datagrams_per_s"), run.latency("p50"), run.latency("p99"), run.latency("max"), run.toB,
            run.toC);
        run.check(count);
    }

    /** What one stream through the router gave: the sender's and receiver's JSON, and each unit's share. */
    private record Stream(Map<String, Object> sent, Map<String, Object> got, double seconds, long toB, long toC,
        long unitFailures, int sendExit, int recvExit, Result closed) {

        long latency(String q) {
            return num(asMap(got.get("latency_us")), q);
        }

        void check(int count) {
            assertEquals(0, sendExit, "sender exit status; " + sent);
            assertEquals(0, recvExit, "receiver exit status; " + got);
            assertEquals(count, num(sent, "sent"), sent.toString());
            assertEquals(count, num(got, "received"), "every datagram arrived; " + got);
            assertEquals(0, num(got, "duplicates"), got.toString());
            assertEquals(0, num(got, "corrupt"), got.toString());
            if (unitFailures == 0) {
                assertEquals(count, toB + toC, "each datagram went to one remote unit");
            } else { // a unit node declared hung on a starved machine: what it held went to the other unit too
                System.out.println("[multinode] " + unitFailures + " unit failure(s) during the stream: the units' "
                    + "shares are not checked (every datagram arrived once, checked above)");
            }
            assertEquals(0, closed.exit, "session-close: " + closed.out + closed.err);
        }
    }

    /**
     * Creates a round-robin passthrough session over both remote units on node A, streams {@code count} datagrams
     * through it (paced at {@code rate} per second, or as fast as the router takes them), reads the session's
     * per-unit counters and closes it.
     */
    private static Stream stream(String name, int count, Integer rate) throws Exception {
        Process recv = java(List.of("artp", "recv", "--listen", HOST + ":" + RECEIVER, "--count",
            Integer.toString(count), "--idle", "30", "--timeout", "600", "--linger", "2", "--json"), name + "-recv");
        try {
            awaitLine(work.resolve(name + "-recv.out"), "listening on ", 30);
            Result created = console(a, "pando:session-create --name " + name + " --program passthrough --to " + HOST
                + ":" + RECEIVER + " --units 2 --policy round-robin --json", 90);
            assertEquals(0, created.exit, "session-create: " + created.out + created.err);
            Map<String, Object> session = asMap(parse(created.lastLine()));
            String id = (String) session.get("id");
            assertEquals(HOST + ":" + INGRESS, session.get("ingress"), session.toString());
            assertEquals(List.of("b1", "c1"), session.get("units"), session.toString());

            long t0 = System.nanoTime();
            List<String> args = new ArrayList<>(List.of("artp", "send", "--to", HOST + ":" + INGRESS, "--session", id,
                "--count", Integer.toString(count), "--size", Integer.toString(SIZE), "--timeout", "600", "--json"));
            if (rate != null) {
                args.addAll(List.of("--rate", Integer.toString(rate)));
            }
            Process send = java(args, name + "-send");
            assertTrue(send.waitFor(660, TimeUnit.SECONDS), "the sender finished");
            assertTrue(recv.waitFor(120, TimeUnit.SECONDS), "the receiver finished");
            double seconds = (System.nanoTime() - t0) / 1e9;
            Map<String, Object> sent = asMap(parse(lastLine(work.resolve(name + "-send.out"))));
            Map<String, Object> got = asMap(parse(lastLine(work.resolve(name + "-recv.out"))));
            System.out.println("[multinode] sender:   " + sent);
            System.out.println("[multinode] receiver: " + got);

            Result info = console(a, "pando:session-info --json " + id, 90);
            assertEquals(0, info.exit, info.out + info.err);
            Map<String, Object> sessionInfo = asMap(parse(info.lastLine()));
            Map<String, Object> perUnit = asMap(sessionInfo.get("unit_counters"));
            long failures = num(asMap(sessionInfo.get("counters")), "unit_failures");
            System.out.println("[multinode] b1 on node B: " + perUnit.get("b1"));
            System.out.println("[multinode] c1 on node C: " + perUnit.get("c1"));
            Result closed = console(a, "pando:session-close --json " + id, 120);
            System.out.println("[multinode] session closed: " + closed.lastLine());
            return new Stream(sent, got, seconds, failures == 0 ? num(asMap(perUnit.get("b1")), "datagrams_in") : -1,
                failures == 0 ? num(asMap(perUnit.get("c1")), "datagrams_in") : -1, failures, send.exitValue(),
                recv.exitValue(), closed);
        } finally {
            recv.destroyForcibly();
        }
    }

    // ---- processes

    private record Result(int exit, String out, String err) {
        String lastLine() {
            String[] lines = out.strip().split("\\R");
            return lines[lines.length - 1].strip();
        }
    }

    /** Runs one console command on a node through its {@code bin/pando console}. */
    private static Result console(Node n, String command, long seconds) throws Exception {
        ProcessBuilder pb = new ProcessBuilder(n.home.resolve("bin/pando").toString(), "console", "--wait", "60",
            command);
        pb.environment().put("KARAF_HOME", n.home.toString());
        pb.environment().put("JAVA_HOME", System.getProperty("java.home"));
        pb.redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
        Path out = Files.createTempFile(work, "console", ".out");
        Path err = Files.createTempFile(work, "console", ".err");
        Process p = pb.redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        if (!p.waitFor(seconds, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            return new Result(-1, Files.readString(out), "timeout; " + Files.readString(err));
        }
        return new Result(p.exitValue(), Files.readString(out), Files.readString(err));
    }

    /** Starts {@code java -jar pando-cli.jar args}; output in {@code work/name.out|err}. */
    private static Process java(List<String> args, String name) throws IOException {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.add("-jar");
        cmd.add(cli.toString());
        cmd.addAll(args);
        Files.writeString(work.resolve(name + ".cmd"), String.join(" ", cmd) + "\n");
        return new ProcessBuilder(cmd).redirectOutput(work.resolve(name + ".out").toFile())
            .redirectError(work.resolve(name + ".err").toFile())
            .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
    }

    private static int run(List<String> cmd, long seconds) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        if (!p.waitFor(seconds, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            return -1;
        }
        return p.exitValue();
    }

    private static void awaitLine(Path file, String prefix, long seconds) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (System.nanoTime() < deadline) {
            if (Files.exists(file) && Files.readString(file).lines().anyMatch(l -> l.startsWith(prefix))) {
                return;
            }
            Thread.sleep(50);
        }
        fail(file + " has no line starting with '" + prefix + "'");
    }

    private static String lastLine(Path file) throws IOException {
        String[] lines = Files.readString(file, StandardCharsets.UTF_8).strip().split("\\R");
        return lines[lines.length - 1].strip();
    }

    private static String log(Node n) {
        try {
            List<String> lines = Files.readAllLines(n.home.resolve("data/log/karaf.log"));
            return String.join("\n", lines.subList(Math.max(0, lines.size() - 40), lines.size()));
        } catch (IOException e) {
            return "(no log: " + e + ")";
        }
    }

    // ---- JSON (objects, arrays, scalars)

    private static Object parse(String text) {
        try (JsonParser p = new JsonFactory().createParser(text)) {
            Object v = value(p, p.nextToken());
            if (p.nextToken() != null) {
                throw new IllegalArgumentException("trailing text after JSON: " + text);
            }
            return v;
        } catch (IOException e) {
            throw new UncheckedIOException("not JSON: " + text, e);
        }
    }

    private static Object value(JsonParser p, JsonToken t) throws IOException {
        if (t == null) {
            throw new IOException("no JSON value");
        }
        switch (t) {
            case START_OBJECT -> {
                Map<String, Object> m = new LinkedHashMap<>();
                while (p.nextToken() == JsonToken.FIELD_NAME) {
                    String name = p.currentName();
                    m.put(name, value(p, p.nextToken()));
                }
                return m;
            }
            case START_ARRAY -> {
                List<Object> l = new ArrayList<>();
                JsonToken e;
                while ((e = p.nextToken()) != JsonToken.END_ARRAY) {
                    l.add(value(p, e));
                }
                return l;
            }
            case VALUE_NUMBER_INT -> {
                return p.getLongValue();
            }
            case VALUE_NUMBER_FLOAT -> {
                return p.getDoubleValue();
            }
            case VALUE_TRUE, VALUE_FALSE -> {
                return p.getBooleanValue();
            }
            case VALUE_NULL -> {
                return null;
            }
            default -> {
                return p.getText();
            }
        }
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> asMap(Object o) {
        assertTrue(o instanceof Map, "a JSON object: " + o);
        return (Map<String, Object>) o;
    }

    @SuppressWarnings("unchecked")
    private static List<Object> asList(Object o) {
        assertTrue(o instanceof List, "a JSON array: " + o);
        return (List<Object>) o;
    }

    private static long num(Map<String, Object> m, String field) {
        Object v = m.get(field);
        assertTrue(v instanceof Number, field + " in " + m);
        return ((Number) v).longValue();
    }

    private static double dbl(Map<String, Object> m, String field) {
        Object v = m.get(field);
        return v instanceof Number n ? n.doubleValue() : Double.NaN;
    }
}
