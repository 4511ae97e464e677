package io.pando.system;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One Pando node for a system test: a private copy of the Karaf assembly under {@code target/system-tests/NAME/pando}
 * with its own SSH and ingress ports, started with {@code bin/start} and driven with {@code bin/pando console}, as
 * an administrator's script would. Every console call leaves {@code console/NNN.cmd|out|err} in the node's work
 * directory.
 *
 * <p>The node and the {@code bin/pando artp} children run with the Netty leak detection of the test JVM
 * ({@code pando.test.argLine}: paranoid), and the test fails on a {@code LEAK:} report in any of them.
 *
 * <p>{@link #close()} stops the node with {@code bin/stop} and kills the JVM of {@code karaf.pid} if it is still
 * alive after 30 s; call it from {@code @AfterAll}, also after a failed start.
 */
final class KarafNode implements AutoCloseable {

    /** JVM options for the short-lived console client: quick start, little heap. */
    /** The address every node of a system test binds. */
    static final String LOOPBACK = "127.0.0.1";
    private static final String CONSOLE_JAVA_OPTS = "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Xmx64m";

    final String name;
    final Path work;
    final Path home;
    final int sshPort;
    /** The network namespace the node runs in (its commands and console too), or null: the test's own. */
    private NetNs netns;
    /** The address the node's router parts bind and other nodes reach it at: loopback, or its namespace's. */
    private String host = LOOPBACK;
    final int ingressPort;
    private final AtomicInteger calls = new AtomicInteger();
    private boolean started;

    private KarafNode(String name, Path work, int sshPort, int ingressPort) {
        this.name = name;
        this.work = work;
        this.home = work.resolve("pando");
        this.sshPort = sshPort;
        this.ingressPort = ingressPort;
    }

    /**
     * Copies the built assembly (system property {@code pando.assembly.dir}) to {@code pando.work.dir/NAME/pando}
     * without the runtime state of anyone who ran it in place, and sets the node's ports.
     */
    static KarafNode create(String name, int sshPort, int ingressPort) throws Exception {
        Path built = Path.of(System.getProperty("pando.assembly.dir", "../../karaf-assembly/target/assembly"))
            .toAbsolutePath().normalize();
        assertTrue(Files.isRegularFile(built.resolve("bin/start")) && Files.isRegularFile(built.resolve("bin/pando")),
            "the Karaf assembly is built first (./mvnw -o install -DskipTests ...): " + built);
        Path work = Path.of(System.getProperty("pando.work.dir", "target/system-tests")).toAbsolutePath()
            .resolve(name);
        KarafNode node = new KarafNode(name, work, sshPort, ingressPort);
        node.killLeftover();
        run(List.of("rm", "-rf", work.toString()), 60);
        Files.createDirectories(work);
        assertEquals(0, run(List.of("cp", "-a", built.toString(), node.home.toString()), 120),
            "copy the distribution " + built);
        // whoever ran the assembly in place left a framework cache, logs, a pid and a lock: start clean
        run(List.of("rm", "-rf", node.home.resolve("data").toString(), node.home.resolve("karaf.pid").toString(),
            node.home.resolve("lock").toString(), node.home.resolve("instances").toString()), 60);
        Files.createDirectories(node.home.resolve("data/tmp"));

        Path shell = node.home.resolve("etc/org.apache.karaf.shell.cfg");
        String cfg = Files.readString(shell);
        String patched = cfg.replaceFirst("(?m)^sshPort\\s*=.*$", "sshPort = " + sshPort);
        assertTrue(!patched.equals(cfg) || cfg.contains("sshPort = " + sshPort), "sshPort set in " + shell);
        Files.writeString(shell, patched);
        Files.writeString(node.home.resolve("etc/io.pando.distribution.cfg"),
            "# written by the system test " + name + "\ningress.host = 127.0.0.1\ningress.port = " + ingressPort
                + "\n");
        return node;
    }

    /** A Karaf of an earlier, aborted run of this test in the same directory would hold the ports: end it. */
    private void killLeftover() {
        pid().flatMap(ProcessHandle::of).filter(ProcessHandle::isAlive)
            .filter(p -> p.info().commandLine().map(c -> c.contains(home.toString())).orElse(false))
            .ifPresent(p -> {
                System.out.println("[system] " + name + ": killing the Karaf left over by an earlier run, pid "
                    + p.pid());
                p.destroyForcibly();
                p.onExit().orTimeout(30, TimeUnit.SECONDS).exceptionally(t -> null).join();
            });
    }

    private Optional<Long> pid() {
        try {
            Path f = home.resolve("karaf.pid");
            return Files.isRegularFile(f) ? Optional.of(Long.parseLong(Files.readString(f).strip()))
                : Optional.empty();
        } catch (IOException | NumberFormatException e) {
            return Optional.empty();
        }
    }

    /**
     * Runs the node, its console and {@code bin/stop} in {@code ns} (call before {@link #start}): its ports are
     * those of that namespace, so nodes in different namespaces may use the same ones.
     */
    KarafNode inNamespace(NetNs ns) {
        this.netns = ns;
        this.host = ns.address;
        return this;
    }

    /** @return the address other nodes reach this node's unit server or aggregation server at */
    String host() {
        return host;
    }

    /** @return {@code cmd}, run in the node's namespace if it has one */
    private List<String> here(List<String> cmd) {
        return netns == null ? cmd : netns.wrap(cmd);
    }

    /**
     * Makes the node boot {@code features} instead of {@code pando-all} (a node of one role: {@code pando-unit-node},
     * {@code pando-router-node}, possibly with more features after a comma) and drops the configurations of the local
     * units u1 and u2 that pando-all brings. Call before {@link #start}.
     */
    void bootFeatures(String features) throws IOException {
        Path cfg = home.resolve("etc/org.apache.karaf.features.cfg");
        String f = Files.readString(cfg);
        String boot = f.replaceFirst("pando-all(/[^,\\s]*)?", java.util.regex.Matcher.quoteReplacement(features));
        assertTrue(!boot.equals(f), "featuresBoot names pando-all: " + cfg);
        Files.writeString(cfg, boot);
        Files.deleteIfExists(home.resolve("etc/io.pando.unit-u1.cfg"));
        Files.deleteIfExists(home.resolve("etc/io.pando.unit-u2.cfg"));
    }

    /**
     * Sets the node's JMX RMI ports (Karaf's defaults, 1099 and 44444, are taken by the first node of a test that
     * starts several). Call before {@link #start}.
     */
    void managementPorts(int rmiRegistry, int rmiServer) throws IOException {
        Files.writeString(home.resolve("etc/org.apache.karaf.management.cfg"), "# written by the system test " + name
            + "\nrmiRegistryHost = 127.0.0.1\nrmiRegistryPort = " + rmiRegistry + "\nrmiServerHost = 127.0.0.1"
            + "\nrmiServerPort = " + rmiServer + "\nserviceUrl = service:jmx:rmi://127.0.0.1:" + rmiServer
            + "/jndi/rmi://127.0.0.1:" + rmiRegistry + "/karaf-${karaf.name}\n");
    }

    /**
     * Configures the node as a router node whose units run on unit nodes (bundles/remote/README.md): boots
     * {@code features}, JMX on {@code rmi} and {@code rmi + 1}, the aggregation unit's egress on {@code egressPort},
     * remote units' results on {@code aggregationData}, and the unit servers at {@code unitControlPorts} (each
     * takes data on the next port). Call before {@link #start}.
     */
    void configureRouterNode(String features, int rmi, int egressPort, int aggregationData,
        List<Integer> unitControlPorts) throws IOException {
        configureRouterNode(features, rmi, egressPort, aggregationData, unitControlPorts.stream()
            .map(p -> LOOPBACK + ":" + p).toList());
    }

    /**
     * {@link #configureRouterNode(String, int, int, int, List)} with unit nodes elsewhere: each as {@code HOST:PORT}
     * of its unit server's control (data on the next port); the aggregation server binds this node's
     * {@link #host()}.
     */
    void configureRouterNode(String features, int rmi, int egressPort, int aggregationData, Collection<String> unitNodes)
        throws IOException {
        bootFeatures(features);
        managementPorts(rmi, rmi + 1);
        Path etc = home.resolve("etc");
        Files.writeString(etc.resolve("io.pando.aggregation.cfg"), "egress.host = " + LOOPBACK + "\negress.port = "
            + egressPort + "\n");
        Files.writeString(etc.resolve("io.pando.remote.aggregationserver.cfg"), "data.host = " + host
            + "\ndata.port = " + aggregationData + "\n");
        List<String> nodes = new ArrayList<>();
        for (String control : unitNodes) {
            int port = Integer.parseInt(control.substring(control.lastIndexOf(':') + 1));
            nodes.add(control + "/" + (port + 1));
        }
        Files.writeString(etc.resolve("io.pando.remote.units.cfg"), "nodes = " + String.join(", ", nodes)
            + "\naggregation.address = " + host + ":" + aggregationData + "\n");
    }

    /**
     * Configures the node as a unit node serving one unit to a router node: boots {@code features}, JMX on
     * {@code rmi} and {@code rmi + 1}, its unit server's control on {@code controlPort} and data on the next port,
     * no distribution unit. Call before {@link #start}.
     */
    void configureUnitNode(String features, String unit, int controlPort, int rmi) throws IOException {
        bootFeatures(features);
        managementPorts(rmi, rmi + 1);
        Path etc = home.resolve("etc");
        Files.writeString(etc.resolve("io.pando.unit-" + unit + ".cfg"), "unit.id = " + unit + "\n");
        Files.writeString(etc.resolve("io.pando.remote.unitserver.cfg"), "control.host = " + host
            + "\ncontrol.port = " + controlPort + "\ndata.host = " + host + "\ndata.port = " + (controlPort + 1)
            + "\n");
        Files.deleteIfExists(etc.resolve("io.pando.distribution.cfg"));
    }

    /**
     * Waits until the node's {@code pando:units} lists exactly {@code expected} (its remote units connected).
     *
     * @return the unit ids, sorted
     */
    List<String> awaitUnits(List<String> expected, long seconds) throws IOException, InterruptedException {
        List<String> want = expected.stream().sorted().toList();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        List<String> ids = List.of();
        while (System.nanoTime() < deadline) {
            Console units = console("pando:units --json");
            if (units.exit() == 0) {
                ids = units.jsonArray().stream().map(u -> (String) u.get("id")).sorted().toList();
                if (ids.equals(want)) {
                    return ids;
                }
            }
            Thread.sleep(1000);
        }
        throw new AssertionError(name + " lists the units " + ids + ", not " + want + " within " + seconds
            + " s; karaf.log: " + home.resolve("data/log/karaf.log"));
    }

    /**
     * Boots a router node and its unit nodes together (several JVMs booting at once on a loaded machine take minutes):
     * the router counts as up when {@code pando:units} answers (before its remote units are connected), a unit node
     * when its unit server listens ({@link #startUnitNode}).
     *
     * @param unitNodes each unit node with its unit server's control port
     */
    static void startRouterAndUnitNodes(KarafNode router, Map<KarafNode, Integer> unitNodes, long bootSeconds,
        long stallSeconds) throws Exception {
        java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(
            1 + unitNodes.size());
        try {
            List<java.util.concurrent.Future<?>> boots = new ArrayList<>();
            boots.add(pool.submit(() -> {
                router.start(new Readiness("pando:units --json", con -> true, "pando:units answers", bootSeconds,
                    stallSeconds));
                return null;
            }));
            unitNodes.forEach((n, port) -> boots.add(pool.submit(() -> {
                n.startUnitNode(port, bootSeconds, stallSeconds);
                return null;
            })));
            for (java.util.concurrent.Future<?> f : boots) {
                f.get(3 * bootSeconds, TimeUnit.SECONDS);
            }
        } finally {
            pool.shutdownNow();
        }
    }

    /** Starts a unit node ({@link #configureUnitNode}): it is up once its unit server listens on {@code controlPort}. */
    void startUnitNode(int controlPort, long bootSeconds, long stallSeconds) throws Exception {
        start(new Readiness("feature:list -i", con -> listens(host, controlPort), "its unit server listens on "
            + host + ":" + controlPort, bootSeconds, stallSeconds));
    }

    /** @return whether something accepts TCP connections on the loopback port */
    static boolean listens(int port) {
        return listens(LOOPBACK, port);
    }

    /** @return whether something accepts TCP connections on the address and port */
    static boolean listens(String address, int port) {
        try (java.net.Socket s = new java.net.Socket()) {
            s.connect(new InetSocketAddress(address, port), 1000);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    /**
     * When a node counts as up: {@code command} (a console command) answers and {@code ready} holds for its result.
     *
     * @param what the condition, for messages
     * @param seconds how long the boot may take
     * @param stallSeconds how long a boot may go without a new karaf.log line before the console answers
     */
    record Readiness(String command, java.util.function.Predicate<Console> ready, String what, long seconds,
        long stallSeconds) {

        /** A node of pando-all: {@code pando:units} lists its local units u1 and u2 within 120 s. */
        static final Readiness LOCAL_UNITS = new Readiness("pando:units --json", c -> c.exit() == 0
            && c.jsonArray().stream().map(u -> u.get("id")).toList().containsAll(List.of("u1", "u2")),
            "pando:units lists u1 and u2", 120, STALL_SECONDS);
    }

    /**
     * Starts the node and waits (up to 120 s) until {@code pando:units} lists u1 and u2. A boot that stalls before the
     * console answers (the JVM gone, or its karaf.log unchanged for {@value #STALL_SECONDS} s) is reported with a
     * thread dump in the work directory, killed, and started once more from a clean {@code data/}. Nodes of other
     * roles, or several nodes booting at once, use {@link #start(Readiness)}.
     */
    void start() throws Exception {
        start(Readiness.LOCAL_UNITS);
    }

    /** {@link #start()}, waiting for {@code readiness} (and its times) instead of the local units. */
    void start(Readiness readiness) throws Exception {
        for (int attempt = 1; ; attempt++) {
            String stalled = startOnce(readiness);
            if (stalled == null) {
                return;
            }
            if (attempt == 2) {
                throw new AssertionError(name + ": the boot stalled twice: " + stalled);
            }
            Path dump = work.resolve("boot-stall-" + attempt + ".txt");
            Optional<ProcessHandle> jvm = pid().flatMap(ProcessHandle::of).filter(ProcessHandle::isAlive);
            if (jvm.isPresent()) {
                run(List.of("sh", "-c", "jcmd " + jvm.get().pid() + " Thread.print > '" + dump + "' 2>&1"), 60);
                jvm.get().destroyForcibly();
                jvm.get().onExit().get(30, TimeUnit.SECONDS);
            }
            Files.copy(home.resolve("data/log/karaf.log"), work.resolve("boot-stall-" + attempt + ".log"),
                java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            System.out.println("[system] " + name + ": the boot stalled (" + stalled + "); thread dump " + dump
                + ", log kept; starting again from a clean data/");
            started = false;
            run(List.of("rm", "-rf", home.resolve("data").toString(), home.resolve("karaf.pid").toString(),
                home.resolve("lock").toString()), 60);
            Files.createDirectories(home.resolve("data/tmp"));
        }
    }

    /** Seconds without a new karaf.log line, before the console answers, after which a boot counts as stalled. */
    private static final int STALL_SECONDS = 45;

    /** @return null once the node is up, or why its boot stalled */
    private String startOnce(Readiness readiness) throws Exception {
        assertPortFree();
        Map<String, String> env = new HashMap<>();
        env.put("JAVA_HOME", System.getProperty("java.home"));
        env.put("EXTRA_JAVA_OPTS", String.join(" ", leakDetectionOptions()));
        started = true;
        List<String> startCommand = here(List.of(home.resolve("bin/start").toString()));
        try (SystemProcess start = SystemProcess.start("start", work, startCommand, env)) {
            assertEquals(0, start.waitFor(60), "bin/start" + start.describe());
        }
        long t0 = System.nanoTime();
        long deadline = t0 + TimeUnit.SECONDS.toNanos(readiness.seconds());
        String last = "";
        Path log = home.resolve("data/log/karaf.log");
        long logSize = -1;
        long logChanged = t0;
        boolean answered = false;
        while (System.nanoTime() < deadline) {
            Console check = console("--wait", "10", readiness.command());
            last = check.describe();
            if (check.exit() == 0) {
                answered = true;
                if (readiness.ready().test(check)) {
                    System.out.printf(Locale.ROOT, "[system] %s: node up in %.1f s (ssh %d, ingress %d): %s%n",
                        name, (System.nanoTime() - t0) / 1e9, sshPort, ingressPort, readiness.what());
                    return null;
                }
            } else if (!answered) {
                long size = Files.exists(log) ? Files.size(log) : 0;
                long now = System.nanoTime();
                if (size != logSize) {
                    logSize = size;
                    logChanged = now;
                }
                boolean alive = pid().flatMap(ProcessHandle::of).map(ProcessHandle::isAlive).orElse(false);
                if (!alive && now - t0 > TimeUnit.SECONDS.toNanos(10)) {
                    return "the Karaf JVM is gone before its console answered";
                }
                if (now - logChanged > TimeUnit.SECONDS.toNanos(readiness.stallSeconds())) {
                    return "no console and no new karaf.log line for " + readiness.stallSeconds() + " s";
                }
            }
            Thread.sleep(500);
        }
        throw new AssertionError(name + ": not up within " + readiness.seconds() + " s (" + readiness.what() + ")"
            + last);
    }

    private void assertPortFree() throws IOException {
        if (netns != null) {
            return; // a namespace of its own: nothing else listens there
        }
        try (ServerSocket s = new ServerSocket()) {
            s.setReuseAddress(true);
            s.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), sshPort));
        } catch (IOException e) {
            throw new AssertionError(name + ": TCP port " + sshPort + " (SSH) is taken: is another Karaf running? "
                + e);
        }
        InetSocketAddress ingress = new InetSocketAddress(InetAddress.getLoopbackAddress(), ingressPort);
        try (DatagramSocket s = new DatagramSocket(ingress)) {
            s.getLocalPort();
        } catch (IOException e) {
            throw new AssertionError(name + ": UDP port " + ingressPort + " (ingress) is taken: " + e);
        }
    }

    /**
     * The Netty leak detection of this test JVM (the build's {@code pando.test.argLine}), for the node and the
     * client children; paranoid when the test runs without it (from an IDE).
     */
    static List<String> leakDetectionOptions() {
        List<String> opts = new ArrayList<>();
        for (String key : List.of("io.netty.leakDetection.level", "io.netty.leakDetection.acquireAndReleaseOnly",
            "io.netty.leakDetection.targetRecords")) {
            String v = System.getProperty(key);
            if (v != null) {
                opts.add("-D" + key + "=" + v);
            }
        }
        if (opts.isEmpty()) {
            opts.addAll(List.of("-Dio.netty.leakDetection.level=paranoid",
                "-Dio.netty.leakDetection.acquireAndReleaseOnly=true", "-Dio.netty.leakDetection.targetRecords=8"));
        }
        return opts;
    }

    /** The result of one {@code bin/pando console} call. */
    record Console(String command, int exit, String out, String err, double seconds) {

        /** @return the JSON object on the last line of output (commands run with --json) */
        Map<String, Object> json() {
            return JsonValue.object(lastLine());
        }

        /** @return the JSON array of objects on the last line of output */
        List<Map<String, Object>> jsonArray() {
            return JsonValue.objects(lastLine());
        }

        String lastLine() {
            String[] lines = out.strip().split("\\R");
            return lines[lines.length - 1].strip();
        }

        String describe() {
            return "\n--- console '" + command + "' exit " + exit + "\n--- stdout:\n" + out + "\n--- stderr:\n" + err;
        }
    }

    /**
     * Runs {@code bin/pando console [options] COMMAND} (no stdin, no terminal) and waits for it.
     *
     * @param args console options first, the command last
     */
    Console console(String... args) throws IOException, InterruptedException {
        int n = calls.incrementAndGet();
        List<String> cmd = new ArrayList<>();
        cmd.add(home.resolve("bin/pando").toString());
        cmd.add("console");
        cmd.addAll(List.of(args));
        String label = String.format(Locale.ROOT, "%03d-%s", n,
            args[args.length - 1].split(" ")[0].replaceAll("[^A-Za-z0-9-]", "_"));
        long t0 = System.nanoTime();
        try (SystemProcess p = SystemProcess.start(label, work.resolve("console"), here(cmd),
            Map.of("PANDO_JAVA_OPTS", CONSOLE_JAVA_OPTS))) {
            int exit = p.waitFor(180);
            return new Console(args[args.length - 1], exit, p.out(), p.err(), (System.nanoTime() - t0) / 1e9);
        }
    }

    /** Runs a console command that must succeed and prints JSON; @return its last line, parsed */
    Map<String, Object> consoleJson(String command) throws IOException, InterruptedException {
        Console c = console(command);
        assertEquals(0, c.exit(), "console " + command + c.describe());
        try {
            return c.json();
        } catch (IllegalArgumentException e) {
            throw new AssertionError("console " + command + ": no JSON object on the last line" + c.describe(), e);
        }
    }

    /** Runs a console command that must succeed. */
    Console consoleOk(String command) throws IOException, InterruptedException {
        Console c = console(command);
        assertEquals(0, c.exit(), "console " + command + c.describe());
        return c;
    }

    /**
     * Starts {@code bin/pando ARGS} (the client: {@code artp send|recv}) with the leak detection of the test JVM, in
     * the node's namespace if it has one.
     */
    SystemProcess pando(String label, Path dir, List<String> args) throws IOException {
        List<String> cmd = new ArrayList<>();
        cmd.add(home.resolve("bin/pando").toString());
        cmd.addAll(args);
        List<String> opts = new ArrayList<>(leakDetectionOptions());
        // C1 only: a child that lives for seconds reaches its rate sooner and leaves more CPU to the node than
        // with C2 compiling in the background (measured on 2 cores)
        opts.addAll(List.of("-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1"));
        // in the node's namespace, if it has one: a client talks to the node on its loopback
        return SystemProcess.start(label, dir, here(cmd), Map.of("PANDO_JAVA_OPTS", String.join(" ", opts)));
    }

    /**
     * Kills the node's JVM with SIGKILL ({@code kill -9}), as a crash would: no shutdown, its sockets closed by the
     * kernel. Returns once the process is gone; {@link #close()} then has nothing left to stop.
     *
     * @return the moment the signal was sent
     */
    Instant kill() throws Exception {
        ProcessHandle jvm = pid().flatMap(ProcessHandle::of).filter(ProcessHandle::isAlive)
            .orElseThrow(() -> new AssertionError(name + ": no running Karaf to kill (karaf.pid)"));
        Instant at = Instant.now();
        jvm.destroyForcibly();
        jvm.onExit().get(30, TimeUnit.SECONDS);
        started = false;
        return at;
    }

    /**
     * Freezes the node's JVM with SIGSTOP, as a machine that stalls would (its sockets stay open, nothing answers),
     * and lets it go on with SIGCONT after {@code millis}.
     *
     * @return the moments the two signals were sent
     */
    Instant[] pause(long millis) throws Exception {
        long pid = pid().flatMap(ProcessHandle::of).filter(ProcessHandle::isAlive).map(ProcessHandle::pid)
            .orElseThrow(() -> new AssertionError(name + ": no running Karaf to stop (karaf.pid)"));
        Instant stopped = Instant.now();
        assertEquals(0, run(List.of("kill", "-STOP", Long.toString(pid)), 10), "kill -STOP " + pid);
        try {
            Thread.sleep(millis);
        } finally {
            run(List.of("kill", "-CONT", Long.toString(pid)), 10); // also when interrupted: never leave it frozen
        }
        return new Instant[] {stopped, Instant.now()};
    }

    /**
     * @return the time of the first karaf.log line at or after {@code after} that contains both texts
     *     ({@code second} may be empty)
     */
    Instant logTime(Instant after, String first, String second) {
        Instant notBefore = after.minusMillis(1); // the log has millisecond timestamps
        for (String line : log().lines().toList()) {
            if (!line.contains(first) || !line.contains(second)) {
                continue;
            }
            Optional<Instant> t = lineTime(line);
            if (t.isPresent() && !t.get().isBefore(notBefore)) {
                return t.get();
            }
        }
        throw new AssertionError(name + ": no karaf.log line with '" + first + "' and '" + second + "' after "
            + after + ": see " + home.resolve("data/log/karaf.log"));
    }

    /** @return the time of a karaf.log line ({@code 2026-11-26T02:21:19,400 | ...}, the JVM's time zone) */
    static Optional<Instant> lineTime(String line) {
        int bar = line.indexOf(" |");
        if (bar < 0) {
            return Optional.empty();
        }
        try {
            return Optional.of(java.time.LocalDateTime.parse(line.substring(0, bar).strip().replace(',', '.'))
                .atZone(java.time.ZoneId.systemDefault()).toInstant());
        } catch (java.time.format.DateTimeParseException e) {
            return Optional.empty();
        }
    }

    /** A task on one node, for {@link #onEach}. */
    interface Task<T> {
        T run(KarafNode n) throws Exception;
    }

    /**
     * Runs a task on each node at once on {@code pool}.
     *
     * @return the results in the nodes' order; fails with the first failure (the others suppressed in it)
     */
    static <T> List<T> onEach(java.util.concurrent.ExecutorService pool, List<KarafNode> nodes, Task<T> task)
        throws Exception {
        List<java.util.concurrent.Future<T>> futures = new ArrayList<>();
        for (KarafNode n : nodes) {
            java.util.concurrent.Callable<T> c = () -> task.run(n);
            futures.add(pool.submit(c));
        }
        List<T> results = new ArrayList<>();
        Throwable failed = null;
        for (java.util.concurrent.Future<T> f : futures) {
            try {
                results.add(f.get());
            } catch (java.util.concurrent.ExecutionException e) {
                if (failed == null) {
                    failed = e.getCause();
                } else {
                    failed.addSuppressed(e.getCause());
                }
            }
        }
        if (failed instanceof Exception e) {
            throw e;
        } else if (failed instanceof Error e) {
            throw e;
        }
        return results;
    }

    /**
     * Polls each node (all at once, on {@code pool}) until the check holds there.
     *
     * @param check empty when it holds on the node, else what the node shows instead
     * @return per node name, the seconds from {@code t0} (a {@link System#nanoTime()}) to the first poll that held
     */
    static Map<String, Double> awaitOnEach(java.util.concurrent.ExecutorService pool, List<KarafNode> nodes, long t0,
        String what, long seconds, Task<Optional<String>> check) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        List<Double> times = onEach(pool, nodes, n -> {
            String last = "";
            while (System.nanoTime() < deadline) {
                Optional<String> wrong;
                try {
                    wrong = check.run(n);
                } catch (AssertionError | IllegalArgumentException e) {
                    wrong = Optional.of(String.valueOf(e.getMessage()));
                }
                if (wrong.isEmpty()) {
                    return Figures.since(t0);
                }
                last = wrong.get();
                Thread.sleep(200);
            }
            throw new AssertionError(n.name + ": not " + what + " within " + seconds + " s; last seen: " + last
                + "\nkaraf.log: " + n.home.resolve("data/log/karaf.log"));
        });
        Map<String, Double> out = new java.util.LinkedHashMap<>();
        for (int i = 0; i < nodes.size(); i++) {
            out.put(nodes.get(i).name, times.get(i));
        }
        return out;
    }

    /** Prints the number of ERROR lines in the node's karaf.log after {@code tag} and fails on a leaked buffer. */
    void checkLog(String tag) {
        String log = log();
        long errors = log.lines().filter(l -> l.contains("| ERROR |")).count();
        System.out.println(tag + " " + name + " karaf.log: " + errors + " ERROR lines ("
            + home.resolve("data/log/karaf.log") + ")");
        assertTrue(!log.contains("LEAK:"), name + " leaked buffers: see " + home.resolve("data/log/karaf.log"));
    }

    /** @return the node's karaf.log so far */
    String log() {
        try {
            Path log = home.resolve("data/log/karaf.log");
            return Files.exists(log) ? Files.readString(log, StandardCharsets.UTF_8) : "";
        } catch (IOException e) {
            return "(unreadable karaf.log: " + e + ")";
        }
    }

    /**
     * Stops every node (a test class's teardown): a node that does not stop cleanly is reported with {@code tag} and
     * the others are stopped all the same.
     */
    static void closeAll(String tag, List<KarafNode> nodes) {
        for (KarafNode n : nodes) {
            try {
                n.close();
            } catch (Exception e) {
                System.out.println("[" + tag + "] stopping " + n.name + ": " + e);
            }
        }
    }

    /** Stops the node: {@code bin/stop}, then kills its JVM if it is still alive after 30 s. */
    @Override
    public void close() throws Exception {
        if (!started) {
            return;
        }
        Optional<ProcessHandle> jvm = pid().flatMap(ProcessHandle::of);
        int stop = -2;
        try (SystemProcess p = SystemProcess.start("stop", work, here(List.of(home.resolve("bin/stop").toString())),
            Map.of("JAVA_HOME", System.getProperty("java.home")))) {
            stop = p.waitFor(60);
        } catch (IOException e) {
            System.out.println("[system] " + name + ": bin/stop failed: " + e);
        }
        if (jvm.isPresent() && jvm.get().isAlive()) {
            boolean ended = jvm.get().onExit().completeOnTimeout(null, 30, TimeUnit.SECONDS).join() != null;
            if (!ended || jvm.get().isAlive()) {
                System.out.println("[system] " + name + ": bin/stop (exit " + stop + ") did not stop Karaf pid "
                    + jvm.get().pid() + " in 30 s: killing it");
                jvm.get().destroyForcibly();
                jvm.get().onExit().completeOnTimeout(null, 10, TimeUnit.SECONDS).join();
            }
        }
        started = false;
    }

    static int run(List<String> cmd, long seconds) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        if (!p.waitFor(seconds, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            return -1;
        }
        return p.exitValue();
    }
}
