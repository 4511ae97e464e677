package io.pando.test.system;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * The Karaf distribution, as a user gets it: boots offline with the Pando features and the ARTP bundle active,
 * its {@code bin/pando demo} (README command 1) runs the main job and verifies it, and {@code bin/pando console}
 * runs console commands for scripts (no stdin) with an exit status that tells failure.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class KarafAssemblyIT {

    private static Path home;
    private static Path work;

    @BeforeAll
    static void copyDistribution() throws Exception {
        Path built = Path.of(System.getProperty("pando.assembly.dir", "../../karaf-assembly/target/assembly"));
        assertTrue(Files.isDirectory(built.resolve("bin")), "the Karaf assembly is built first: " + built);
        work = Path.of(System.getProperty("pando.work.dir", "target/system-tests")).resolve("karaf");
        home = work.resolve("pando");
        run(List.of("rm", "-rf", home.toString()), 30);
        Files.createDirectories(work);
        assertEquals(0, run(List.of("cp", "-a", built.toString(), home.toString()), 60), "copy the distribution");
    }

    @AfterAll
    static void stop() throws Exception {
        if (home != null && Files.exists(home.resolve("bin/stop"))) {
            run(List.of(home.resolve("bin/stop").toString()), 60);
        }
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

    /** Runs one console command over SSH with bin/client; stdin stays open (bin/client quits at EOF). */
    private static String console(String command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(home.resolve("bin/client").toString(), "-u", "pando", "-p", "pando", "-r", "3",
            "-d", "2", command).redirectErrorStream(true).start();
        OutputStream keepOpen = p.getOutputStream();
        try {
            if (!p.waitFor(60, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return "(timeout)";
            }
            return new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        } finally {
            keepOpen.close();
        }
    }

    @Test
    @Order(1)
    void bootsOfflineWithPandoActive() throws Exception {
        assertEquals(0, run(List.of(home.resolve("bin/start").toString()), 60), "bin/start");
        String bundles = "";
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (System.nanoTime() < deadline) {
            bundles = console("bundle:list -t 0 -s");
            if (lineOf(bundles, "io.pando.artp").contains("Active") && lineOf(bundles, "io.pando.api").contains("Active")) {
                break;
            }
            Thread.sleep(2000);
        }
        System.out.println("[system] karaf bundle:list\n" + bundles);
        assertTrue(lineOf(bundles, "io.pando.artp").contains("Active"), "Pando ARTP/1 active:\n" + bundles);
        assertTrue(lineOf(bundles, "io.pando.api").contains("Active"), "Pando API active:\n" + bundles);
        String epoll = lineOf(bundles, "io.netty.transport-native-epoll.linux-x86_64");
        assertTrue(epoll.contains("Resolved") || epoll.contains("Active"), "epoll fragment attached:\n" + bundles);
        String features = console("feature:list -i");
        assertTrue(features.contains("pando-all"), "pando-all installed:\n" + features);
        String log = Files.readString(home.resolve("data/log/karaf.log"));
        assertTrue(!log.contains("Error installing boot features"), "boot features installed offline");
    }

    @Test
    @Order(2)
    void binPandoDemoRunsTheMainJob() throws Exception {
        Path out = work.resolve("demo.out");
        Process p = new ProcessBuilder(home.resolve("bin/pando").toString(), "demo", "--count", "50000")
            .redirectErrorStream(true).redirectOutput(out.toFile()).start();
        assertTrue(p.waitFor(180, TimeUnit.SECONDS), "demo finished");
        String text = Files.readString(out);
        System.out.println("[system] bin/pando demo\n" + text);
        assertEquals(0, p.exitValue(), text);
        assertTrue(text.contains("received   50000 of 50000 datagrams, 0 duplicates, 0 corrupt"), text);
        assertTrue(text.contains("demo: OK"), text);
    }

    @Test
    @Order(3)
    void binPandoConsoleRunsACommandWithoutStdin() throws Exception {
        ChildProcess p = pando("console-ok", "console", "--wait", "60", "bundle:list -s");
        assertEquals(0, p.waitFor(90), p.err());
        assertTrue(lineOf(p.out(), "io.pando.artp").contains("Active"), p.out());
        assertEquals("", p.err(), "nothing on stderr");
    }

    @Test
    @Order(4)
    void binPandoConsoleFailsOnUnknownAndFailingCommands() throws Exception {
        ChildProcess unknown = pando("console-unknown", "console", "no-such-command");
        assertEquals(1, unknown.waitFor(60), unknown.out() + unknown.err());
        assertTrue(unknown.err().contains("Command not found: no-such-command"), unknown.err());

        ChildProcess failing = pando("console-failing", "console", "bundle:start 99999");
        assertEquals(1, failing.waitFor(60), failing.out() + failing.err());
        assertTrue(failing.err().contains("console: command failed") && failing.err().contains("exit status 1"),
            failing.err());
        assertTrue(!failing.out().contains("\u001B"), "no ANSI escapes: " + failing.out());
    }

    @Test
    @Order(5)
    void binPandoConsoleFailsOnWrongPasswordAndClosedPort() throws Exception {
        Path pw = work.resolve("wrong.pw");
        Files.writeString(pw, "not-the-password\n");
        ChildProcess auth = pando("console-auth", "console", "--user", "pando", "--password-file", pw.toString(),
            "bundle:list");
        assertEquals(4, auth.waitFor(60), auth.out() + auth.err());
        assertTrue(auth.err().contains("authentication failed"), auth.err());

        int closed;
        try (java.net.ServerSocket s = new java.net.ServerSocket(0)) {
            closed = s.getLocalPort();
        }
        ChildProcess refused = pando("console-refused", "console", "--port", Integer.toString(closed), "bundle:list");
        assertEquals(3, refused.waitFor(60), refused.out() + refused.err());
        assertTrue(refused.err().contains("connection refused"), refused.err());
    }

    @Test
    @Order(6)
    void builtInPoliciesAreActiveServices() throws Exception {
        // a DS component registers its service only once it is satisfied and activated
        java.util.Map<String, List<String>> expected = java.util.Map.of(
            "io.pando.api.policy.LoadBalancingPolicy", List.of("affinity", "round-robin", "weighted", "least-loaded"),
            "io.pando.api.policy.PacketScheduler", List.of("fifo", "drr"),
            "io.pando.api.policy.AggregationStrategy", List.of("pass-through", "reorder-window"));
        for (java.util.Map.Entry<String, List<String>> e : expected.entrySet()) {
            String role = e.getKey().substring(e.getKey().lastIndexOf('.') + 1);
            ChildProcess p = pando("services-" + role, "console", "--wait", "30", "service:list " + e.getKey());
            assertEquals(0, p.waitFor(60), p.err());
            for (String name : e.getValue()) {
                assertTrue(p.out().contains(" name = " + name), role + " " + name + " registered:\n" + p.out());
            }
        }
    }

    @Test
    @Order(7)
    void policyListShowsEveryBuiltInPolicyWithItsRole() throws Exception {
        ChildProcess p = pando("policy-list-json", "console", "--wait", "30", "pando:policy-list --json");
        assertEquals(0, p.waitFor(60), p.out() + p.err());
        String[] lines = p.out().strip().split("\\R");
        List<java.util.Map<String, Object>> policies = Json.parseArray(lines[lines.length - 1].strip());
        System.out.println("[system] pando:policy-list --json\n" + p.out());
        java.util.Map<String, String> roleByName = new java.util.HashMap<>();
        for (java.util.Map<String, Object> policy : policies) {
            assertEquals("io.pando.policies", policy.get("bundle"), policy.toString());
            assertTrue(policy.get("bundle_id") instanceof Number && policy.get("service_id") instanceof Number
                && policy.get("ranking") instanceof Number, policy.toString());
            roleByName.put((String) policy.get("name"), (String) policy.get("role"));
        }
        assertEquals(java.util.Map.of("affinity", "load-balancing", "round-robin", "load-balancing",
            "weighted", "load-balancing", "least-loaded", "load-balancing", "fifo", "scheduler", "drr", "scheduler",
            "pass-through", "aggregation", "reorder-window", "aggregation"), roleByName, p.out());
        assertEquals(8, policies.size(), p.out());

        ChildProcess table = pando("policy-list-table", "console", "pando:policy-list --role scheduler");
        assertEquals(0, table.waitFor(60), table.out() + table.err());
        assertTrue(table.out().contains("fifo") && table.out().contains("drr")
            && !table.out().contains("round-robin"), table.out());

        ChildProcess bad = pando("policy-list-bad-role", "console", "pando:policy-list --role nonsense");
        assertEquals(1, bad.waitFor(60), bad.out() + bad.err());
        assertTrue(bad.err().contains("unknown policy role 'nonsense'")
            && bad.err().contains("load-balancing, scheduler, aggregation"), bad.err());
    }

    /** Runs {@code bin/pando args...} with no stdin and no terminal, as a script or CI job would. */
    private static ChildProcess pando(String name, String... args) throws IOException {
        List<String> cmd = new java.util.ArrayList<>();
        cmd.add(home.resolve("bin/pando").toString());
        cmd.addAll(List.of(args));
        return ChildProcess.start(name, work, cmd);
    }

    private static String lineOf(String text, String needle) {
        for (String line : text.split("\n")) {
            if (line.contains(needle)) {
                return line;
            }
        }
        return "";
    }
}
