package io.pando.system;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pando.system.HostilePrograms.Hostile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * The hostile-program corpus ({@link HostilePrograms}) on the real node: every program that tries to escape the
 * program API or to take the router down is either refused at upload ({@code pando:program-install} exits 1 and the
 * report names the forbidden class or member) or, installed, stopped at run time by its {@code process} sandbox (a
 * session with {@code --isolation process --units 1} gets a few datagrams, and the counter of the sandbox's reaction
 * moves: over budget, blocked, killed, out of memory, program errors).
 *
 * <p>The node has one unit (the factory configuration of u2 is deleted with {@code config:delete} at the start), so
 * that every session shares it. While each run-time case runs, a victim session on that same unit (the built-in
 * {@code passthrough}, in-process) streams {@value #VICTIM_RATE} datagrams/s of {@value #SIZE} B for
 * {@value #VICTIM_SECONDS} s; it must keep at least 90 % of the rate it had alone (measured first, in the same run)
 * and lose nothing (every datagram received once and intact). The rate compared is the receiver's mean over its
 * 100 ms intervals from 1 s after the first datagram on (the first second is the sender's JVM warming up, in the
 * baseline as in every case); the lowest 500 ms is printed too. No console call runs while the victim streams (each
 * is a JVM start, which on a 2-core machine would cost the victim more than most hostile programs). After every
 * case the Karaf JVM must still be the same live process and {@code pando:units} must answer. The figures are
 * printed as a table with the prefix {@code [hostile]}, with the load average: the victim's rate is only as steady
 * as the machine.
 *
 * <p>"Until stopped" is the time from the start of the hostile sender (a {@code pando artp send} JVM: about half a
 * second of it is the JVM starting) to the timestamp of the unit's log line that says the sandbox ended; the reason
 * in that line says what the sandbox itself measured (CPU on the datagram, time blocked, exit status).
 *
 * <p>Ports: SSH 8601, ingress 17700, receivers 17701-17719 (RouterIT 8301/17400-17409, HotSwapIT 8302/17420-17439,
 * MultiNodeIT 8401-8403/17500-17529). Work files are under {@code target/system-tests/hostile}; the program bundles (source, classes, jar) under {@code programs/NAME}. Run alone with
 * {@code ./mvnw -o -pl test/system verify -Dit.test=HostileProgramsIT} after building the assembly.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class HostileProgramsIT {

    private static final int SSH_PORT = 8601;
    private static final int INGRESS_PORT = 17700;
    private static final int BASELINE_RECEIVER = 17701;
    /** the run-time cases take two receivers each from here on: hostile, victim */
    private static final int FIRST_CASE_RECEIVER = 17702;
    private static final int LAST_RECEIVER = 17719;

    private static final int SIZE = 512;
    private static final int VICTIM_RATE = 2000;
    private static final int VICTIM_SECONDS = 6;
    private static final int VICTIM_COUNT = VICTIM_RATE * VICTIM_SECONDS;
    private static final int INTERVAL_MS = 100;
    /** the victim keeps at least this share of its rate alone */
    private static final double MIN_RATIO = 0.90;
    /** SandboxRunner.State: RUNNING */
    private static final long SANDBOX_RUNNING = 1;

    private static final Pattern LOG_LINE = Pattern.compile(
        "^(\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d,\\d{3}) \\|.*?\\| (.*)$", Pattern.MULTILINE);
    private static final DateTimeFormatter LOG_TIME = DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss,SSS");

    private static KarafNode node;
    private static long karafPid;
    private static double baselineRate = Double.NaN;
    private static final List<String> TABLE = Collections.synchronizedList(new ArrayList<>());

    @BeforeAll
    static void startNodeWithOneUnit() throws Exception {
        node = KarafNode.create("hostile", SSH_PORT, INGRESS_PORT);
        node.start();
        karafPid = Long.parseLong(Files.readString(node.home.resolve("karaf.pid")).strip());

        // one unit: the hostile session and its victim share it. The assembly's units are factory configurations
        // io.pando.unit (etc/io.pando.unit-u1.cfg, -u2.cfg); deleting u2's configuration stops that unit.
        KarafNode.Console list = node.consoleOk("config:list '(unit.id=u2)'");
        Matcher pid = Pattern.compile("(?m)^Pid:\\s+(\\S+)").matcher(list.out());
        assertTrue(pid.find(), "config:list shows the configuration of unit u2" + list.describe());
        String u2 = pid.group(1);
        node.consoleOk("config:delete " + u2);
        List<Object> ids = List.of();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (System.nanoTime() < deadline) {
            ids = unitIds();
            if (ids.equals(List.of("u1"))) {
                break;
            }
            Thread.sleep(300);
        }
        assertEquals(List.of("u1"), ids, "pando:units after config:delete " + u2);
        System.out.println("[hostile] node up, Karaf pid " + karafPid + "; deleted configuration " + u2
            + ": units " + ids);
    }

    @AfterAll
    static void stopNode() throws Exception {
        if (!TABLE.isEmpty()) {
            System.out.printf(Locale.ROOT, "[hostile] victim: passthrough in-process on the same unit, %d datagrams/s "
                + "x %d B for %d s; alone %.0f datagrams/s (from 1 s in); load average at the end %s%n", VICTIM_RATE,
                SIZE, VICTIM_SECONDS, baselineRate, loadAverage());
            System.out.println("[hostile] | case | outcome | until stopped | victim rate ratio | victim lost |");
            System.out.println("[hostile] |------|---------|---------------|-------------------|-------------|");
            TABLE.forEach(row -> System.out.println("[hostile] " + row));
        }
        if (node == null) {
            return;
        }
        String running = node.log();
        node.close();
        String log = node.log();
        System.out.println("[hostile] karaf.log: " + count(running, "| ERROR |") + " ERROR and "
            + count(running, "| WARN  |") + " WARN lines while running (" + node.home.resolve("data/log/karaf.log")
            + ")");
        assertFalse(log.contains("LEAK:"), "the node leaked buffers: see " + node.home.resolve("data/log/karaf.log"));
    }


    // ---- upload -------------------------------------------------------------------------------------------------

    @TestFactory
    @Order(1)
    Stream<DynamicTest> rejectedAtUpload() {
        // the uploads are independent: three at a time (each console call is a JVM), checked in order
        ExecutorService pool = Executors.newFixedThreadPool(3);
        List<DynamicTest> tests = new ArrayList<>();
        for (Hostile h : HostilePrograms.UPLOAD) {
            Future<Upload> upload = pool.submit(() -> upload(h));
            tests.add(DynamicTest.dynamicTest(h.name(), () -> rejected(h, upload.get(5, TimeUnit.MINUTES))));
        }
        pool.shutdown();
        tests.add(DynamicTest.dynamicTest("nothing refused is stored, the router lives", () -> {
            List<String> stored = programNames();
            for (Hostile h : HostilePrograms.UPLOAD) {
                assertFalse(stored.contains(h.name()), h.name() + " is not in the program store: " + stored);
            }
            assertRouterAlive("the refused uploads");
        }));
        return tests.stream();
    }

    /** One program-install of a hostile bundle. */
    private record Upload(KarafNode.Console console) {
    }

    private static Upload upload(Hostile h) throws Exception {
        Path jar = build(h);
        return new Upload(node.console("pando:program-install --name " + h.name() + " --json " + jar));
    }

    private static void rejected(Hostile h, Upload upload) {
        KarafNode.Console c = upload.console();
        Map<String, Object> report = lastJsonObject(c.out());
        List<Object> findings = JsonValue.list(report, "findings");
        List<String> messages = findings.stream().map(f -> {
            @SuppressWarnings("unchecked")
            Map<String, Object> m = (Map<String, Object>) f;
            String where = String.valueOf(m.get("where"));
            String message = String.valueOf(m.get("message"));
            // "WHERE calls java.lang.System.exit(I)V: not allowed (process control)": the class and member named
            return m.get("code") + " " + (message.startsWith(where + " ") ? message.substring(where.length() + 1)
                : message);
        }).toList();
        String first = h.named().isEmpty() ? "" : h.named().get(0);
        String shown = messages.stream().filter(m -> m.contains(first)).findFirst()
            .orElse(messages.isEmpty() ? "(no findings)" : messages.get(0));
        TABLE.add(String.format(Locale.ROOT, "| %s | %s | at upload | - | - |", h.name(),
            c.exit() == 1 ? "rejected (" + messages.size() + " reasons): " + shorten(shown, 150)
                : "NOT REJECTED: exit " + c.exit()));

        assertEquals(1, c.exit(), h.name() + " (" + h.what() + ") is refused at upload" + c.describe());
        assertEquals(Boolean.FALSE, report.get("accepted"), h.name() + ": the report says refused" + c.describe());
        assertEquals(null, report.get("installed"), h.name() + ": nothing installed" + c.describe());
        for (String named : h.named()) {
            assertTrue(messages.stream().anyMatch(m -> m.startsWith("forbidden_reference ") && m.contains(named)),
                h.name() + ": a FORBIDDEN_REFERENCE finding names " + named + ": " + messages + c.describe());
        }
        assertTrue(c.err().contains("refused"), h.name() + ": the error names the refusal" + c.describe());
    }

    // ---- baseline -----------------------------------------------------------------------------------------------

    /** The victim alone, after a warm-up stream: the rate the run-time cases are compared with. */
    @Test
    @Order(2)
    void victimBaselineAlone() throws Exception {
        // warm up the in-process data path (a fresh JVM interprets it) with an unpaced stream
        try (ArtpStream warmUp = ArtpStream.receive(node, "warm-up", BASELINE_RECEIVER, 4_000, null, 0)) {
            String id = createVictim("warm-up", BASELINE_RECEIVER);
            warmUp.send(id, SIZE, 0);
            warmUp.awaitSender(120);
            node.consoleJson("pando:session-close --json " + id);
            warmUp.finish(60).assertDeliveredExactlyOnce();
        }
        try (ArtpStream victim = ArtpStream.receive(node, "baseline", BASELINE_RECEIVER, VICTIM_COUNT, null,
            INTERVAL_MS)) {
            String id = createVictim("baseline", BASELINE_RECEIVER);
            victim.send(id, SIZE, VICTIM_RATE);
            assertEquals(0, victim.awaitSender(VICTIM_SECONDS + 60L), "baseline send" + victim.sender().describe());
            Map<String, Object> closed = node.consoleJson("pando:session-close --json " + id);
            ArtpStream.Result r = victim.finish(60);
            r.assertDeliveredExactlyOnce();
            baselineRate = steadyRate(r);
            System.out.printf(Locale.ROOT, "[hostile] victim alone: %d x %d B paced at %d/s: %.0f datagrams/s from 1 s in"
                    + " (lowest 500 ms: %.0f/s), latency p99 %.1f ms; unit %s%n", VICTIM_COUNT, SIZE, VICTIM_RATE,
                baselineRate, lowestWindow(r, 5), JsonValue.dbl(r.recv(), "latency_us", "p99") / 1e3,
                JsonValue.obj(closed, "unit_counters").keySet());
            assertTrue(baselineRate >= VICTIM_RATE * 0.8, "the victim alone nearly reaches its pace: " + baselineRate
                + r.context());
        }
    }

    // ---- run time -----------------------------------------------------------------------------------------------

    @TestFactory
    @Order(3)
    Stream<DynamicTest> stoppedAtRunTime() {
        // install them all first, three at a time, before any victim streams
        ExecutorService pool = Executors.newFixedThreadPool(3);
        Map<String, Future<Upload>> installs = new java.util.LinkedHashMap<>();
        for (Hostile h : HostilePrograms.RUN) {
            installs.put(h.name(), pool.submit(() -> upload(h)));
        }
        pool.shutdown();
        try {
            pool.awaitTermination(5, TimeUnit.MINUTES);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        List<DynamicTest> tests = new ArrayList<>();
        int port = FIRST_CASE_RECEIVER;
        for (Hostile h : HostilePrograms.RUN) {
            int hostilePort = port++;
            int victimPort = port++;
            assertTrue(victimPort <= LAST_RECEIVER, "receiver ports within 17701-17719");
            Future<Upload> install = installs.get(h.name());
            tests.add(DynamicTest.dynamicTest(h.name(), () -> stopped(h, install.get(1, TimeUnit.MINUTES),
                hostilePort, victimPort)));
        }
        tests.add(DynamicTest.dynamicTest("the programs stay stored, the router lives", () -> {
            List<String> stored = programNames();
            for (Hostile h : HostilePrograms.RUN) {
                assertTrue(stored.contains(h.name()), h.name() + " is in the program store: " + stored);
            }
            assertRouterAlive("the run-time cases");
        }));
        return tests.stream();
    }

    /**
     * One run-time case: install, a hostile session (process, one unit) and the victim (in-process, same unit), the
     * victim's paced stream and, 0.5 s into it, the hostile datagrams. No console call runs while the victim streams
     * (each is a JVM: on a 2-core machine it would cost the victim more than most hostile programs): the hostile
     * session's counters are read once the victim's stream is over, until every hostile datagram is dealt with.
     */
    private static void stopped(Hostile h, Upload upload, int hostilePort, int victimPort) throws Exception {
        Assumptions.assumeFalse(Double.isNaN(baselineRate), "the victim's baseline was measured");
        long caseStart = System.nanoTime();
        KarafNode.Console install = upload.console();
        assertEquals(0, install.exit(), h.name() + " is installed" + install.describe());
        Map<String, Object> installed = lastJsonObject(install.out());
        assertEquals(Boolean.TRUE, installed.get("accepted"), h.name() + " passes verification: " + installed);
        assertTrue(JsonValue.list(installed, "installed", "programs").contains(h.name()),
            h.name() + " is installed and registers program " + h.name() + ": " + installed);

        boolean control = h.counters().isEmpty();
        String hostileId;
        ArtpStream.Result victimResult;
        ArtpStream.Result hostileResult = null;
        Map<String, Object> hostileClosed;
        Map<String, Object> info = Map.of();
        Map<String, Object> c = Map.of();
        long hostileStartMillis;
        CompletableFuture<ArtpStream> victimReceiver = async(() -> ArtpStream.receive(node, "victim-" + h.name(),
            victimPort, VICTIM_COUNT, null, INTERVAL_MS));
        ArtpStream hostileReceiver;
        try {
            hostileReceiver = ArtpStream.receive(node, "hostile-" + h.name(), hostilePort, h.count(), null, 0);
        } catch (Exception | Error e) {
            victimReceiver.thenAccept(ArtpStream::close);
            throw e;
        }
        try (ArtpStream hostile = hostileReceiver; ArtpStream victim = victimReceiver.get(2, TimeUnit.MINUTES)) {
            long t0 = System.nanoTime();
            CompletableFuture<String> victimCreated = async(() -> createVictim(h.name(), victimPort));
            Map<String, Object> created = node.consoleJson("pando:session-create --name hostile-" + h.name()
                + " --program " + h.name() + " --units 1 --isolation process " + h.options() + " --to 127.0.0.1:"
                + hostilePort + " --json");
            double createSeconds = (System.nanoTime() - t0) / 1e9;
            hostileId = JsonValue.str(created, "id");
            assertEquals(List.of("u1"), JsonValue.list(created, "units"), "the hostile session is on u1: " + created);
            String victimId = victimCreated.get(2, TimeUnit.MINUTES);

            victim.send(victimId, SIZE, VICTIM_RATE);
            Thread.sleep(500); // the victim streams when the hostile datagrams come
            hostileStartMillis = System.currentTimeMillis();
            hostile.send(hostileId, SIZE, h.rate());

            int victimSent = victim.awaitSender(VICTIM_SECONDS + 60L);
            CompletableFuture<Map<String, Object>> victimClosing = async(() -> node.consoleJson(
                "pando:session-close --json " + victimId));

            // every hostile datagram dealt with (or given up on after 25 s)
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(25);
            do {
                info = node.consoleJson("pando:session-info --json " + hostileId);
                c = JsonValue.obj(info, "unit_counters", "u1");
                if (settled(h, c)) {
                    break;
                }
                Thread.sleep(500);
            } while (System.nanoTime() < deadline);
            Map<String, Object> victimClosed = victimClosing.get(2, TimeUnit.MINUTES);
            victimResult = victim.finish(60);
            assertEquals(0, victimSent, "victim send" + victimResult.context());
            assertEquals("closed", victimClosed.get("state"), victimClosed.toString());

            int hostileSent = hostile.awaitSender(control ? 60 : 5);
            KarafNode.Console close = node.console("pando:session-close --json " + hostileId);
            hostileClosed = close.exit() == 0 ? lastJsonObject(close.out()) : Map.of();
            if (control) {
                hostileResult = hostile.finish(30);
                assertEquals(0, hostileSent, "benign send" + hostileResult.context());
            }
            System.out.printf(Locale.ROOT, "[hostile] %s: session-create with a process sandbox took %.1f s; "
                    + "hostile sender exit %d; session-close exit %d (%.1f s)%n", h.name(), createSeconds,
                hostileSent, close.exit(), close.seconds());
        }

        // ---- figures, then the assertions
        List<LogEnd> ends = ends(hostileId, h.name());
        String outcome = control ? String.format(Locale.ROOT, "ran: %d of %d datagrams delivered, program_errors %d, "
                + "sandbox ends %d", num(c, "datagrams_out"), h.count(), num(c, "program_errors"),
            num(c, "sandbox_ends"))
            : String.format(Locale.ROOT, "stopped: %s", movedCounters(h, c));
        String until = ends.isEmpty()
            ? (control ? "-" : "no sandbox end: each datagram's error is its result")
            : String.format(Locale.ROOT, "%.2f s (%s)%s", (ends.get(0).epochMillis() - hostileStartMillis) / 1e3,
                shorten(ends.get(0).reason(), 100), ends.size() > 1 ? "; " + ends.size() + " ends in all" : "");
        double rate = steadyRate(victimResult);
        double ratio = rate / baselineRate;
        long lost = JsonValue.num(victimResult.send(), "sent") - JsonValue.num(victimResult.recv(), "received");
        TABLE.add(String.format(Locale.ROOT, "| %s | %s | %s | %.2f (%.0f/s; lowest 500 ms %.0f/s) | %d |", h.name(),
            outcome, until, ratio, rate, lowestWindow(victimResult, 5), lost));
        System.out.printf(Locale.ROOT, "[hostile] %s: hostile unit counters %s%n", h.name(), c);
        ends.forEach(e -> System.out.printf(Locale.ROOT, "[hostile] %s: +%.2f s sandbox ended: %s%n", h.name(),
            (e.epochMillis() - hostileStartMillis) / 1e3, e.reason()));
        System.out.printf(Locale.ROOT, "[hostile] %s: victim %s of %d received, %.0f datagrams/s from 1 s in (alone "
                + "%.0f/s), lowest 500 ms %.0f/s, latency p99 %.1f ms, max %.1f ms; the case took %.1f s%n", h.name(),
            victimResult.recv().get("received"), VICTIM_COUNT, rate, baselineRate, lowestWindow(victimResult, 5),
            JsonValue.dbl(victimResult.recv(), "latency_us", "p99") / 1e3,
            JsonValue.dbl(victimResult.recv(), "latency_us", "max") / 1e3, (System.nanoTime() - caseStart) / 1e9);

        victimResult.assertDeliveredExactlyOnce();
        assertTrue(ratio >= MIN_RATIO, String.format(Locale.ROOT, "%s: the victim keeps %.0f %% of its rate alone "
            + "(%.0f/s): %.0f/s%s", h.name(), MIN_RATIO * 100, baselineRate, rate, victimResult.context()));
        if (control) {
            assertEquals(h.count(), num(c, "datagrams_out"), "the benign program delivered everything: " + info);
            assertEquals(0, num(c, "program_errors"), "benign: " + info);
            assertEquals(0, num(c, "sandbox_ends"), "benign: " + info);
            assertEquals(1, num(c, "isolation_process"), "benign: ran in a process: " + info);
            hostileResult.assertDeliveredExactlyOnce();
        } else {
            assertEquals(1, num(c, "isolation_process"), h.name() + " ran in a process: " + info);
            assertTrue(moved(h, c), h.name() + " (" + h.what() + ") is stopped: one of " + h.counters()
                + " moves: " + info + "\nkaraf.log lines of the session:\n" + logLines(hostileId));
            assertEquals(h.count(), num(c, "datagrams_in"), h.name() + ": every hostile datagram reached the unit: "
                + info);
            if (h.name().equals("exception-storm")) {
                assertEquals(h.count(), num(c, "program_errors"), "every datagram of the storm is a program error: "
                    + info);
                assertEquals(0, num(c, "sandbox_ends"), "a program that throws keeps its sandbox: " + info);
            }
        }
        assertFalse(hostileClosed.isEmpty(), h.name() + ": the hostile session closed");
        assertRouterAlive("run-time case " + h.name());
    }

    /** @return whether one of the case's counters moved */
    private static boolean moved(Hostile h, Map<String, Object> counters) {
        return h.counters().stream().anyMatch(k -> num(counters, k) > 0);
    }

    /**
     * @return whether the unit has every hostile datagram and none is waiting or at the sandbox (for a control,
     *         also: all delivered)
     */
    private static boolean settled(Hostile h, Map<String, Object> c) {
        boolean idle = num(c, "datagrams_in") >= h.count() && num(c, "waiting_for_program") == 0
            && num(c, "sandbox_inflight") == 0;
        if (h.counters().isEmpty()) {
            return idle && num(c, "datagrams_out") >= h.count();
        }
        if (h.name().equals("exception-storm")) {
            return idle && num(c, "program_errors") >= h.count();
        }
        return idle;
    }

    private static String movedCounters(Hostile h, Map<String, Object> c) {
        List<String> parts = new ArrayList<>();
        for (String k : h.counters()) {
            if (num(c, k) > 0) {
                parts.add(k + " " + num(c, k));
            }
        }
        if (parts.isEmpty()) {
            parts.add("NOTHING of " + h.counters());
        }
        List<String> more = new ArrayList<>();
        for (String k : List.of("program_killed", "program_over_budget", "program_blocked", "program_errors",
            "sandbox_crashes", "sandbox_oom_kills", "sandbox_ends", "sandbox_quarantines", "sandbox_resent")) {
            if (!h.counters().contains(k) && num(c, k) > 0) {
                more.add(k + " " + num(c, k));
            }
        }
        return String.join(", ", parts) + (more.isEmpty() ? "" : " (" + String.join(", ", more) + ")")
            + String.format(Locale.ROOT, "; sandbox starts %d, memory peak %.0f MiB", num(c, "sandbox_starts"),
                num(c, "sandbox_memory_peak_bytes") / 1048576.0);
    }

    // ---- helpers ------------------------------------------------------------------------------------------------

    private static Path build(Hostile h) throws Exception {
        Path dir = node.work.resolve("programs").resolve(h.name());
        KarafNode.run(List.of("rm", "-rf", dir.toString()), 30);
        Files.createDirectories(dir);
        return ProgramBundle.build(dir, h.symbolicName(), h.name(), h.packageName(), h.source());
    }

    /** A console step run beside another. */
    @FunctionalInterface
    private interface Step<T> {
        T run() throws Exception;
    }

    /** @return {@code step} running on a thread of its own; its failure fails the get */
    private static <T> CompletableFuture<T> async(Step<T> step) {
        CompletableFuture<T> f = new CompletableFuture<>();
        Thread t = new Thread(() -> {
            try {
                f.complete(step.run());
            } catch (Throwable e) {
                f.completeExceptionally(e);
            }
        }, "hostile-it-step");
        t.setDaemon(true);
        t.start();
        return f;
    }

    /** Creates the victim: the built-in passthrough, in-process, on the one unit; @return its id */
    private static String createVictim(String label, int port) throws Exception {
        Map<String, Object> created = node.consoleJson("pando:session-create --name victim-" + label
            + " --program passthrough --units 1 --isolation in-process --to 127.0.0.1:" + port + " --json");
        assertEquals(List.of("u1"), JsonValue.list(created, "units"), "the victim is on u1: " + created);
        return JsonValue.str(created, "id");
    }

    private static List<Object> unitIds() throws Exception {
        KarafNode.Console units = node.console("pando:units --json");
        if (units.exit() != 0) {
            return List.of();
        }
        return units.jsonArray().stream().map(u -> u.get("id")).sorted().map(o -> (Object) o).toList();
    }

    private static List<String> programNames() throws Exception {
        KarafNode.Console c = node.consoleOk("pando:program-list --json");
        String last = c.lastLine();
        if (!last.startsWith("[")) {
            return List.of();
        }
        return c.jsonArray().stream().map(p -> String.valueOf(p.get("name"))).toList();
    }

    /** The router lives: the same Karaf JVM as at the start, and {@code pando:units} answers with the one unit. */
    private static void assertRouterAlive(String after) throws Exception {
        Optional<ProcessHandle> jvm = ProcessHandle.of(karafPid);
        assertTrue(jvm.isPresent() && jvm.get().isAlive(), "the Karaf JVM (pid " + karafPid + ") is alive after "
            + after);
        String pidNow = Files.readString(node.home.resolve("karaf.pid")).strip();
        assertEquals(Long.toString(karafPid), pidNow, "Karaf was not restarted after " + after);
        KarafNode.Console units = node.console("pando:units --json");
        assertEquals(0, units.exit(), "pando:units answers after " + after + units.describe());
        assertEquals(List.of("u1"), units.jsonArray().stream().map(u -> u.get("id")).toList(),
            "pando:units after " + after);
    }

    /**
     * @return the last line of {@code out} that is a JSON object: a refused install prints its report and then
     *         (the console client repeats the command's error on stdout) the error line
     */
    private static Map<String, Object> lastJsonObject(String out) {
        List<String> lines = out.strip().lines().map(String::strip).toList();
        for (int i = lines.size() - 1; i >= 0; i--) {
            if (lines.get(i).startsWith("{")) {
                Map<String, Object> m = JsonValue.objectOrEmpty(lines.get(i));
                if (!m.isEmpty()) {
                    return m;
                }
            }
        }
        return Map.of();
    }

    private static long num(Map<String, Object> counters, String key) {
        Object v = counters.get(key);
        return v instanceof Number n ? n.longValue() : 0;
    }

    /** A unit's log line saying that the session's sandbox ended. */
    private record LogEnd(long epochMillis, String reason) {
    }

    /** @return the unit's log lines saying that the session's sandbox ended, in order */
    private static List<LogEnd> ends(String sessionId, String program) {
        String marker = "session " + sessionId + ": sandbox of program " + program + " ended: ";
        List<LogEnd> ends = new ArrayList<>();
        Matcher m = LOG_LINE.matcher(node.log());
        while (m.find()) {
            String message = m.group(2);
            int at = message.indexOf(marker);
            if (at >= 0) {
                long millis = LocalDateTime.parse(m.group(1), LOG_TIME).atZone(ZoneId.systemDefault()).toInstant()
                    .toEpochMilli();
                ends.add(new LogEnd(millis, message.substring(at + marker.length())));
            }
        }
        return ends;
    }

    private static String logLines(String sessionId) {
        StringBuilder b = new StringBuilder();
        node.log().lines().filter(l -> l.contains("session " + sessionId)).limit(40)
            .forEach(l -> b.append(l).append('\n'));
        return b.toString();
    }

    /** @return the receiver's per-interval rates (datagrams/s), without the last, partial interval */
    private static double[] intervalRates(ArtpStream.Result r) {
        List<Object> intervals = JsonValue.list(r.recv(), "intervals");
        long ms = intervals.isEmpty() ? 0 : JsonValue.num(r.recv(), "interval_ms");
        double[] rates = new double[Math.max(0, intervals.size() - 1)];
        for (int i = 0; i < rates.length; i++) {
            rates[i] = ((Number) intervals.get(i)).doubleValue() * 1000.0 / ms;
        }
        return rates;
    }

    /** @return the lowest mean rate over {@code n} consecutive intervals, NaN if the stream was shorter */
    private static double lowestWindow(ArtpStream.Result r, int n) {
        double[] rates = intervalRates(r);
        double lowest = Double.NaN;
        for (int i = 0; i + n <= rates.length; i++) {
            double sum = 0;
            for (int k = i; k < i + n; k++) {
                sum += rates[k];
            }
            lowest = Double.isNaN(lowest) ? sum / n : Math.min(lowest, sum / n);
        }
        return lowest;
    }

    /**
     * @return the stream's mean rate over its whole {@value #INTERVAL_MS} ms intervals from 1 s after its first
     *         datagram on: the first second is the sender's JVM warming up (it paces by a token bucket that does not
     *         catch up), in the baseline as in every case; NaN if the stream was shorter than 2 s
     */
    private static double steadyRate(ArtpStream.Result r) {
        double[] rates = intervalRates(r);
        int from = 1000 / INTERVAL_MS;
        if (rates.length - from < 1000 / INTERVAL_MS) {
            return Double.NaN;
        }
        double sum = 0;
        for (int i = from; i < rates.length; i++) {
            sum += rates[i];
        }
        return sum / (rates.length - from);
    }

    private static String shorten(String s, int max) {
        String one = s.replace('\n', ' ').replace('|', '/');
        return one.length() <= max ? one : one.substring(0, max - 3) + "...";
    }

    private static String loadAverage() {
        try {
            return Files.readString(Path.of("/proc/loadavg")).strip();
        } catch (java.io.IOException e) {
            return "?";
        }
    }

    private static long count(String text, String needle) {
        return text.lines().filter(l -> l.contains(needle)).count();
    }
}
