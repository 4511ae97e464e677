package io.pando.system;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pando.ee.sandbox.testing.ProgramJars;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.jar.Attributes;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * Uploaded programs on the real node ({@code pando:program-install/list/remove}, bundles/ee README): the program
 * store changes under load without losing a datagram, a session whose program is removed holds its datagrams until
 * the program is back, the {@code process} sandbox is real, and bad uploads are refused without changing anything.
 *
 * <ol>
 * <li><b>Upload under load</b>: while a paced passthrough "victim" session ({@value #VICTIM_RATE} datagrams/s x
 * {@value #SIZE} B) and a session running the uploaded program {@code upload-tag} in {@code --isolation process}
 * ({@value #TAG_RATE} datagrams/s) stream, a new program is installed, {@code upload-tag} is upgraded from 1.0.0 to
 * 2.0.0, another program is installed and removed, and an unused one is removed. Version 1.0.0 passes each datagram
 * on unchanged and keeps the highest sequence number it saw in the session state; 2.0.0 cuts the last 8 bytes and
 * writes the test payload's CRC again, so the receiver still verifies every datagram and its byte count says how
 * many each version processed ({@code 512 n1 + 504 n2}). 2.0.0 also reports, as a control datagram (counted in the
 * unit's {@code control_sent}), every datagram it gets whose sequence number is not above 1.0.0's last: with the
 * stream in sender order (the receiver saw nothing reordered) that number is 0 exactly when every datagram 1.0.0
 * processed came before every datagram 2.0.0 processed. Both sessions lose, duplicate and corrupt nothing; the
 * victim's rate dip around each store command is printed (lowest 100 ms interval rate / median, as in
 * {@link HotSwapIT}).</li>
 * <li><b>Sandbox</b>: the process-isolated session's unit counters show a started sandbox with cgroup CPU time and
 * a memory peak within its limit: for 1.0.0 (during 1), for 2.0.0 after the upgrade (case 2, from the counters case
 * 1 took) and for a re-installed program (case 3).</li>
 * <li><b>Remove in use</b>: {@code pando:program-remove} of the program an open session runs: the session holds
 * its datagrams (nothing comes out, {@code waiting_for_program} grows, charged to its quota); the program installed
 * again, the session goes on and delivers every datagram exactly once.</li>
 * <li><b>Bad uploads</b>: not a jar, a truncated jar, a zip bomb, no Bundle-SymbolicName, a Bundle-Activator, no
 * import of the program API, over 8 MiB, a program using {@code java.lang.Thread}, an {@code ftp:} URL and a missing
 * file each fail with exit status 1 and a message naming the problem, and leave {@code pando:program-list}, the
 * bundle count and the store directory as they were.</li>
 * </ol>
 *
 * <p>Ports: SSH 8701, ingress 17800, receivers 17801-17819. Work files are under {@code target/system-tests/upload};
 * the program bundles (and the bad uploads) under {@code programs/}. Figures are printed with
 * {@code [upload]}. {@code -Dpando.upload.seconds} sets how long the streams of case 1 last (default
 * {@value #DEFAULT_SECONDS}).
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ProgramUploadIT {

    private static final int SSH_PORT = 8701;
    private static final int INGRESS_PORT = 17800;
    private static final int WARM_UP_RECEIVER = 17801;
    private static final int VICTIM_RECEIVER = 17802;
    private static final int TAG_RECEIVER = 17803;
    private static final int HOLD_RECEIVER = 17804;

    private static final int SIZE = 512;
    /** what upload-tag 2.0.0 cuts off each datagram */
    private static final int CUT = 8;
    private static final int INTERVAL_MS = 100;
    private static final int DEFAULT_SECONDS = 40;
    private static final int SECONDS = Integer.getInteger("pando.upload.seconds", DEFAULT_SECONDS);
    private static final int VICTIM_RATE = 3000;
    private static final int TAG_RATE = 1000;
    private static final int HOLD_RATE = 2000;
    private static final int HOLD_SECONDS = 12;
    private static final int MEMORY_MB = 128;
    private static final int STEP_GAP_MS = 300;
    /** SandboxRunner.State RUNNING, as {@code sandbox_state} shows it */
    private static final long SANDBOX_RUNNING = 1;

    private static KarafNode node;
    private static Path programs;
    private static final List<String> SUMMARY = Collections.synchronizedList(new ArrayList<>());
    /** the tagged session's unit counters once upload-tag 2.0.0 ran in its sandbox (case 1), for case 2 */
    private static Map<String, Object> upgradedSandbox;
    /** sessions a test created and has not closed yet: closed after it, so that a failure leaves none behind */
    private static final List<String> OPEN = new ArrayList<>();

    @BeforeAll
    static void startNode() throws Exception {
        node = KarafNode.create("upload", SSH_PORT, INGRESS_PORT);
        node.start();
        programs = Files.createDirectories(node.work.resolve("programs"));
        // the first stream through a fresh JVM runs in the interpreter: warm the data path up before measuring
        try (ArtpStream warmUp = ArtpStream.receive(node, "warm-up", WARM_UP_RECEIVER, 6_000, null, 0)) {
            String id = JsonValue.str(node.consoleJson("pando:session-create --name warm-up --program passthrough "
                + "--to 127.0.0.1:" + WARM_UP_RECEIVER + " --json"), "id");
            warmUp.send(id, SIZE, 0);
            warmUp.awaitSender(120);
            node.consoleJson("pando:session-close --json " + id);
            warmUp.finish(60).assertDeliveredExactlyOnce();
        }
    }


    @AfterAll
    static void stopNode() throws Exception {
        SUMMARY.forEach(line -> System.out.println("[upload] " + line));
        if (node == null) {
            return;
        }
        String running = node.log();
        node.close();
        String log = node.log();
        System.out.println("[upload] karaf.log: " + count(running, "| ERROR |") + " ERROR and "
            + count(running, "| WARN  |") + " WARN lines while running (" + node.home.resolve("data/log/karaf.log")
            + ")");
        assertFalse(log.contains("LEAK:"), "the node leaked buffers: see " + node.home.resolve("data/log/karaf.log"));
    }

    @AfterEach
    void closeLeftoverSessions() throws Exception {
        for (String id : OPEN) {
            node.console("pando:session-close " + id);
        }
        OPEN.clear();
    }

    // ---- 1 and 2: the store changes under load ------------------------------------------------------------------

    /** A console command run while the streams ran. */
    record Step(String command, long startNanos, long endNanos, boolean underLoad, String output) {
    }

    @Test
    @Order(1)
    void storeChangesUnderLoadLoseNothingAndTheUpgradeTakesOver() throws Exception {
        Path tagV1 = tag("1.0.0", false);
        Path tagV2 = tag("2.0.0", true);
        Path extraA = passthrough("upload.extra-a", "upload-extra-a");
        Path extraB = passthrough("upload.extra-b", "upload-extra-b");
        Path unused = passthrough("upload.unused", "upload-unused");
        install(unused);
        Map<String, Object> v1 = install(tagV1);
        assertEquals("1.0.0", JsonValue.str(v1, "installed", "version"), v1.toString());

        int victimCount = VICTIM_RATE * SECONDS;
        int tagCount = TAG_RATE * SECONDS;
        try (ArtpStream victim = ArtpStream.receive(node, "victim", VICTIM_RECEIVER, victimCount, null, INTERVAL_MS);
             ArtpStream tagged = ArtpStream.receive(node, "tagged", TAG_RECEIVER, tagCount, null, 0)) {
            String victimId = JsonValue.str(createSession("--name victim --program passthrough --to 127.0.0.1:"
                + VICTIM_RECEIVER), "id");
            Map<String, Object> created = createSession("--name tagged --program upload-tag --isolation process "
                + "--units 1 --memory-mb " + MEMORY_MB + " --to 127.0.0.1:" + TAG_RECEIVER);
            String tagId = JsonValue.str(created, "id");
            String unit = (String) JsonValue.list(created, "units").get(0);
            victim.send(victimId, SIZE, VICTIM_RATE);
            tagged.send(tagId, SIZE, TAG_RATE);

            Map<String, Object> beforeUpgrade = awaitFirstDelivered(60, victimId, tagId).get(tagId);

            // the upgrade first (the tagged session must stream on after it), then the other changes back to back
            List<Step> steps = new ArrayList<>();
            List<SystemProcess> senders = List.of(victim.sender(), tagged.sender());
            Map<String, Object> v2 = JsonValue.object(
                step(steps, senders, "pando:program-install --json " + tagV2).lastLine());
            assertEquals("2.0.0", JsonValue.str(v2, "installed", "version"), "upgraded: " + v2);
            assertEquals("1.0.0", v2.get("replaced_version"), "upgraded from 1.0.0: " + v2);
            Map<String, Object> a = JsonValue.object(
                step(steps, senders, "pando:program-install --json " + extraA).lastLine());
            assertEquals(List.of("upload-extra-a"), JsonValue.list(a, "installed", "programs"), a.toString());
            step(steps, senders, "pando:program-install --json " + extraB);
            step(steps, senders, "pando:program-remove --json upload.extra-b");
            step(steps, senders, "pando:program-remove --json upload.unused");

            // 2: the sandbox of the upgraded program, once it runs
            Map<String, Object> afterUpgrade = awaitSandboxRunning(tagId, unit, 30);
            upgradedSandbox = JsonValue.obj(afterUpgrade, "unit_counters", unit);
            assertSandboxIsReal(JsonValue.obj(beforeUpgrade, "unit_counters", unit), "1.0.0 (before the upgrade)");
            assertEquals((long) MEMORY_MB << 20, JsonValue.num(beforeUpgrade, "unit_counters", unit,
                "sandbox_memory_limit_bytes"), "the memory limit is --memory-mb " + MEMORY_MB);

            Map<String, Map<String, Object>> listed = programList();
            assertEquals("2.0.0", listed.get("upload.tag").get("version"), "program-list shows 2.0.0: " + listed);
            assertEquals("active", listed.get("upload.tag").get("state"), "upload.tag " + listed);
            assertTrue(listed.containsKey("upload.extra-a"), "upload.extra-a stays installed: " + listed.keySet());
            assertFalse(listed.containsKey("upload.extra-b"), "upload.extra-b was removed: " + listed.keySet());
            assertFalse(listed.containsKey("upload.unused"), "upload.unused was removed: " + listed.keySet());

            int victimExit = victim.awaitSender(170);
            int tagExit = tagged.awaitSender(170);
            Map<String, Object> victimClosed = closeSession(victimId);
            Map<String, Object> tagClosed = closeSession(tagId);
            ArtpStream.Result rv = victim.finish(60);
            ArtpStream.Result rt = tagged.finish(60);

            System.out.printf(Locale.ROOT, "[upload] under load: victim sent %s, received %s, duplicates %s, corrupt "
                    + "%s (%.0f datagrams/s); tagged sent %s, received %s, duplicates %s, corrupt %s, reordered %s%n",
                rv.send().get("sent"), rv.recv().get("received"), rv.recv().get("duplicates"),
                rv.recv().get("corrupt"), JsonValue.dbl(rv.recv(), "datagrams_per_s"), rt.send().get("sent"),
                rt.recv().get("received"), rt.recv().get("duplicates"), rt.recv().get("corrupt"),
                rt.recv().get("reordered"));
            rateDip(rv, steps);
            assertTrue(steps.stream().allMatch(Step::underLoad), "every store change ran while both sessions "
                + "streamed (else raise -Dpando.upload.seconds): " + steps.stream().map(st -> st.command() + ": "
                + (st.underLoad() ? "under load" : "NOT under load")).toList());
            assertEquals(0, victimExit, "victim send exit status" + rv.context());
            assertEquals(0, tagExit, "tagged send exit status" + rt.context());
            rv.assertDeliveredExactlyOnce();
            rt.assertDeliveredExactlyOnce();
            assertEquals(victimCount, JsonValue.num(victimClosed, "counters", "datagrams_out"),
                "victim " + victimClosed);
            assertEquals(tagCount, JsonValue.num(tagClosed, "counters", "datagrams_out"), "tagged " + tagClosed);

            // every datagram of the tagged session was processed by exactly one version, 1.0.0 first
            long bytes = JsonValue.num(rt.recv(), "bytes");
            long cut = (long) SIZE * tagCount - bytes;
            assertEquals(0, cut % CUT, "the received bytes are 512 n1 + 504 n2: " + bytes + rt.context());
            long byV2 = cut / CUT;
            long byV1 = tagCount - byV2;
            long swaps = JsonValue.num(tagClosed, "unit_counters", unit, "program_swaps");
            long late = JsonValue.num(tagClosed, "unit_counters", unit, "control_sent");
            long reordered = JsonValue.num(rt.recv(), "reordered");
            System.out.printf(Locale.ROOT, "[upload] upgrade: of %d datagrams 1.0.0 processed %d, then 2.0.0 "
                    + "%d (receiver bytes %d = 512 x %d + 504 x %d; session bytes_out %d); program_swaps %d, "
                    + "program_errors %d; datagrams 2.0.0 got that were not after 1.0.0's last: %d (reordered at the "
                    + "receiver: %d)%n", tagCount, byV1, byV2, bytes, byV1, byV2,
                JsonValue.num(tagClosed, "counters", "bytes_out"), swaps,
                JsonValue.num(tagClosed, "unit_counters", unit, "program_errors"), late, reordered);
            assertTrue(byV1 > 0 && byV2 > 0, "both versions processed datagrams: 1.0.0 " + byV1 + ", 2.0.0 " + byV2);
            assertEquals(bytes, JsonValue.num(tagClosed, "counters", "bytes_out"), "bytes out " + tagClosed);
            assertEquals(1, swaps, "one program swap on " + unit + ": " + tagClosed);
            assertEquals(0, JsonValue.num(tagClosed, "unit_counters", unit, "program_errors"), tagClosed.toString());
            assertTrue(late <= reordered, late + " datagrams reached 2.0.0 that were not after 1.0.0's last one, "
                + "with " + reordered + " reordered at the receiver" + rt.context());
            for (String u : JsonValue.obj(victimClosed, "unit_counters").keySet()) {
                assertEquals(0, JsonValue.num(victimClosed, "unit_counters", u, "program_errors"), victimClosed + "");
            }
        }
    }

    /**
     * Acceptance 3 for the sandbox after the upgrade: a program's new version must be confined as its first was
     * (its own cgroup: CPU time accounted, memory peak within the limit). Kept apart from the stream case, so that a
     * failure here names this one problem.
     */
    @Test
    @Order(2)
    void theUpgradedProgramRunsInAConfinedSandboxToo() {
        Assumptions.assumeTrue(upgradedSandbox != null, "the upgrade case did not get as far as its sandbox");
        assertSandboxIsReal(upgradedSandbox, "2.0.0 (after the upgrade)");
    }

    /**
     * Prints a unit's sandbox counters for a process-isolated session and asserts that they show a real sandbox: a
     * child JVM in its own cgroup (CPU time read from the cgroup, a memory peak within the cgroup's limit).
     */
    private static void assertSandboxIsReal(Map<String, Object> u, String what) {
        long starts = JsonValue.num(u, "sandbox_starts");
        long cpu = JsonValue.num(u, "sandbox_cgroup_cpu_ns");
        long peak = JsonValue.num(u, "sandbox_memory_peak_bytes");
        long limit = JsonValue.num(u, "sandbox_memory_limit_bytes");
        System.out.printf(Locale.ROOT, "[upload] sandbox of %s: pid %d, isolation_process %d, sandbox_starts %d, "
                + "start %d ms, sandbox_cgroup_cpu_ns %d (%.1f ms), sandbox_memory_peak_bytes %d (%.1f MiB) of "
                + "sandbox_memory_limit_bytes %d (%.0f MiB), throttled %d, datagrams in %d%n", what,
            JsonValue.num(u, "sandbox_pid"), JsonValue.num(u, "isolation_process"), starts,
            JsonValue.num(u, "sandbox_start_ms"), cpu, cpu / 1e6, peak, peak / 1048576.0, limit, limit / 1048576.0,
            JsonValue.num(u, "sandbox_throttled"), JsonValue.num(u, "datagrams_in"));
        assertEquals(1, JsonValue.num(u, "isolation_process"), what + ": the session runs in a process: " + u);
        assertTrue(starts >= 1, what + ": sandbox_starts >= 1: " + u);
        assertTrue(cpu > 0, what + ": sandbox_cgroup_cpu_ns > 0 (the sandbox's cgroup accounts its CPU time; 0 "
            + "means it runs without a cgroup: no CPU quota, no memory cap): " + u);
        assertTrue(peak > 0 && peak <= limit, what + ": 0 < sandbox_memory_peak_bytes <= sandbox_memory_limit_bytes: "
            + u);
    }

    // ---- 1b: a program removed while a session runs it ----------------------------------------------------------

    @Test
    @Order(3)
    void removingAProgramInUseHoldsItsDatagramsUntilItIsBack() throws Exception {
        Path jar = passthrough("upload.hold", "upload-hold");
        install(jar);
        int count = HOLD_RATE * HOLD_SECONDS;
        try (ArtpStream stream = ArtpStream.receive(node, "hold", HOLD_RECEIVER, count, null, 0)) {
            Map<String, Object> created = createSession("--name hold --program upload-hold --isolation process "
                + "--units 1 --to 127.0.0.1:" + HOLD_RECEIVER);
            String id = JsonValue.str(created, "id");
            String unit = (String) JsonValue.list(created, "units").get(0);
            stream.send(id, SIZE, HOLD_RATE);
            awaitFirstDelivered(60, id);

            long removeStart = System.nanoTime();
            KarafNode.Console removed = node.consoleOk("pando:program-remove --json upload.hold");
            long removed1 = System.nanoTime();
            assertEquals("upload.hold", removed.json().get("name"), removed.describe());
            assertFalse(programList().containsKey("upload.hold"), "program-list no longer lists upload.hold");
            // the sandbox answers what it had; from then on nothing comes out
            sleepUntil(removed1 + TimeUnit.SECONDS.toNanos(1));
            Map<String, Object> a = node.consoleJson("pando:session-info --json " + id);
            Thread.sleep(1500);
            Map<String, Object> b = node.consoleJson("pando:session-info --json " + id);
            boolean senderAlive = stream.sender().isAlive();
            long reinstallStart = System.nanoTime();
            Map<String, Object> again = install(jar);
            long reinstalled = System.nanoTime();
            Map<String, Object> back = awaitSandboxRunning(id, unit, 30);

            Map<String, Object> ua = JsonValue.obj(a, "unit_counters", unit);
            Map<String, Object> ub = JsonValue.obj(b, "unit_counters", unit);
            System.out.printf(Locale.ROOT, "[upload] remove in use: program-remove took %.2f s; 1 s later: out %d, "
                    + "waiting_for_program %d, buffer %d B; 2.5 s later: out %d, in %d, waiting_for_program %d, "
                    + "buffer %d B (quota %d B, high water %d B), quota_overflows %d, pushbacks %d, sender paused "
                    + "%d times; sender still sending: %s; re-installed %.1f s after the removal began (install took "
                    + "%.2f s) as bundle %s%n",
                (removed1 - removeStart) / 1e9, JsonValue.num(ua, "datagrams_out"),
                JsonValue.num(ua, "waiting_for_program"), JsonValue.num(ua, "buffer_bytes"),
                JsonValue.num(ub, "datagrams_out"), JsonValue.num(ub, "datagrams_in"),
                JsonValue.num(ub, "waiting_for_program"), JsonValue.num(ub, "buffer_bytes"),
                JsonValue.num(ub, "quota_bytes"), JsonValue.num(ub, "buffer_high_water"),
                JsonValue.num(ub, "quota_overflows"), JsonValue.num(ub, "pushbacks"), JsonValue.num(b, "counters",
                    "pauses"), senderAlive,
                (reinstalled - removeStart) / 1e9, (reinstalled - reinstallStart) / 1e9,
                JsonValue.obj(again, "installed").get("bundle_id"));
            assertEquals(JsonValue.num(ua, "datagrams_out"), JsonValue.num(ub, "datagrams_out"),
                "nothing is processed while the program is away:\n" + a + "\n" + b);
            assertTrue(JsonValue.num(ub, "waiting_for_program") > 0, "the session holds its datagrams: " + b);
            assertTrue(JsonValue.num(ub, "buffer_bytes") > 0, "held datagrams are charged to the session: " + b);
            // held under the quota: above it the sender is paused; what was on its way then is accepted and counted
            long quota = JsonValue.num(ub, "quota_bytes");
            assertTrue(JsonValue.num(ub, "buffer_bytes") <= quota + JsonValue.num(ub, "quota_overflows") * SIZE,
                "the held datagrams stay within the quota (plus what overflowed it): " + b);
            if (JsonValue.num(ub, "buffer_bytes") >= quota) {
                assertTrue(JsonValue.num(b, "counters", "pauses") >= 1, "at its quota the sender is paused: " + b);
            }

            int sendExit = stream.awaitSender(170);
            Map<String, Object> closed = closeSession(id);
            ArtpStream.Result r = stream.finish(60);
            System.out.printf(Locale.ROOT, "[upload] remove in use: sent %s, received %s, duplicates %s, corrupt %s; "
                    + "program_swaps %d, program_errors %d, buffer high water %d B of a %d B quota%n",
                r.send().get("sent"), r.recv().get("received"), r.recv().get("duplicates"), r.recv().get("corrupt"),
                JsonValue.num(closed, "unit_counters", unit, "program_swaps"),
                JsonValue.num(closed, "unit_counters", unit, "program_errors"),
                JsonValue.num(closed, "unit_counters", unit, "buffer_high_water"),
                JsonValue.num(closed, "unit_counters", unit, "quota_bytes"));
            assertEquals(0, sendExit, "send exit status" + r.context());
            r.assertDeliveredExactlyOnce();
            assertEquals(count, JsonValue.num(closed, "counters", "datagrams_out"), closed.toString());
            assertEquals(0, JsonValue.num(closed, "unit_counters", unit, "program_errors"), closed.toString());
            assertSandboxIsReal(JsonValue.obj(back, "unit_counters", unit), "upload-hold (re-installed)");
        }
    }

    // ---- 4: bad uploads -----------------------------------------------------------------------------------------

    /** A bad upload: what is installed, and what the output must name. */
    record Bad(String name, String source, String named) {
    }

    @Test
    @Order(4)
    void badUploadsAreRefusedClearlyAndChangeNothing() throws Exception {
        Path dir = Files.createDirectories(programs.resolve("bad"));
        Path good = passthrough("upload.bad-base", "upload-bad-base");
        Path thread = ProgramJars.build(Files.createDirectories(programs.resolve("bad-thread")),
            ProgramJars.program("com.example.upload.thread.Spawn", "new Thread(() -> { }).start(); "
                + "ctx.emit(in.flow(), in.data());", "").name("upload-thread").symbolicName("upload.thread"));
        Path noApiImport = ProgramJars.build(Files.createDirectories(programs.resolve("bad-no-api-import")),
            ProgramJars.program("com.example.upload.noimport.Pass", "ctx.emit(in.flow(), in.data());", "")
                .name("upload-no-import").symbolicName("upload.no-import")
                .imports("io.pando.api.session;version=\"[1.0,2)\""));
        long t0 = System.nanoTime();
        List<Bad> cases = List.of(
            new Bad("not a jar", BadUploads.textFile(dir.resolve("text.jar")).toString(), "not_a_jar"),
            new Bad("truncated jar", BadUploads.truncated(good, dir.resolve("truncated.jar")).toString(),
                "corrupt_archive"),
            new Bad("zip bomb (200 MiB of zeros)", BadUploads.zipBomb(good, dir.resolve("bomb.jar"), 200).toString(),
                "compression_ratio"),
            new Bad("no Bundle-SymbolicName", BadUploads.withManifest(good, dir.resolve("no-bsn.jar"),
                m -> m.remove(new Attributes.Name("Bundle-SymbolicName"))).toString(), "Bundle-SymbolicName"),
            new Bad("a Bundle-Activator", BadUploads.withManifest(good, dir.resolve("activator.jar"),
                m -> m.putValue("Bundle-Activator", "com.example.upload.base.Pass")).toString(), "Bundle-Activator"),
            new Bad("no import of the program API", noApiImport.toString(), "does not import io.pando.api.program"),
            new Bad("over 8 MiB", BadUploads.oversized(good, dir.resolve("oversized.jar"), 9 << 20).toString(),
                "too_large"),
            new Bad("uses java.lang.Thread", thread.toString(), "java.lang.Thread"),
            new Bad("ftp: URL", "ftp://127.0.0.1/upload.jar", "scheme"),
            new Bad("no such file", dir.resolve("no-such-file.jar").toString(),
                "no file " + dir.resolve("no-such-file.jar")));
        System.out.printf(Locale.ROOT, "[upload] bad uploads built in %.1f s (bomb %d B, oversized %d B)%n",
            (System.nanoTime() - t0) / 1e9, Files.size(dir.resolve("bomb.jar")),
            Files.size(dir.resolve("oversized.jar")));

        String listBefore = node.consoleOk("pando:program-list --json").lastLine();
        int bundlesBefore = bundleCount();
        List<String> storeBefore = storeFiles();

        StringBuilder failures = new StringBuilder();
        for (Bad bad : cases) {
            KarafNode.Console c = node.console("pando:program-install " + bad.source());
            String error = c.err().strip().lines().reduce((x, y) -> y).orElse("");
            String reason = c.out().lines().map(String::strip).filter(l -> l.contains(bad.named())).findFirst()
                .orElse(error);
            SUMMARY.add(String.format(Locale.ROOT, "bad upload: %-30s -> exit %d: %s%s", bad.name(), c.exit(),
                shorten(error, 140), reason.equals(error) ? "" : " | " + shorten(reason, 160)));
            if (c.exit() != 1) {
                failures.append("\n").append(bad.name()).append(": exit status ").append(c.exit())
                    .append(", expected 1").append(c.describe());
            } else if (!(c.out() + c.err()).contains(bad.named())) {
                failures.append("\n").append(bad.name()).append(": the output does not name ").append(bad.named())
                    .append(c.describe());
            } else if ((c.out() + c.err()).contains("\tat ")) {
                failures.append("\n").append(bad.name()).append(": a stack trace instead of a message")
                    .append(c.describe());
            }
        }
        String listAfter = node.consoleOk("pando:program-list --json").lastLine();
        int bundlesAfter = bundleCount();
        List<String> storeAfter = storeFiles();
        System.out.println("[upload] bad uploads: program-list " + (listBefore.equals(listAfter) ? "unchanged"
            : "CHANGED") + ", bundles " + bundlesBefore + " -> " + bundlesAfter + ", store files " + storeBefore.size()
            + " -> " + storeAfter.size());
        assertEquals("", failures.toString(), "bad uploads");
        assertEquals(listBefore, listAfter, "pando:program-list --json is unchanged by the refused uploads");
        assertEquals(bundlesBefore, bundlesAfter, "bundle:list count is unchanged by the refused uploads");
        assertEquals(storeBefore, storeAfter, "the store directory is unchanged by the refused uploads");
    }

    // ---- programs -----------------------------------------------------------------------------------------------

    /**
     * upload-tag: 1.0.0 passes datagrams on and keeps the highest sequence number it saw in the session state;
     * 2.0.0 cuts {@value #CUT} bytes off, rewrites the payload's CRC32C, and sends a control datagram for each datagram
     * not after 1.0.0's last.
     */
    private static Path tag(String version, boolean cut) throws Exception {
        String load = "if (!loaded) { Optional<byte[]> s = ctx.state(\"v1.max\"); "
            + "if (s.isPresent()) { max = ByteBuffer.wrap(s.get()).getLong(); } loaded = true; }\n";
        String body = cut
            ? load
                + "byte[] b = in.copyData();\n"
                + "ByteBuffer w = ByteBuffer.wrap(b);\n"
                + "long seq = w.getLong(0);\n"
                + "if (seq <= max) { ctx.sendControl(in.flow(), bytes(\"upload-tag 2.0.0 got datagram \" + seq"
                + " + \", not after 1.0.0's last \" + max)); }\n"
                + "int n = b.length - " + CUT + ";\n"
                + "java.util.zip.CRC32C crc = new java.util.zip.CRC32C();\n"
                + "crc.update(b, 0, 16);\n"
                + "crc.update(b, 20, n - 20);\n"
                + "w.putInt(16, (int) crc.getValue());\n"
                + "ctx.emit(in.flow(), ByteBuffer.wrap(b, 0, n));"
            : load
                + "long seq = in.data().getLong(0);\n"
                + "if (seq > max) { max = seq; "
                + "ctx.putState(\"v1.max\", ByteBuffer.allocate(8).putLong(seq).array()); }\n"
                + "ctx.emit(in.flow(), in.data());";
        ProgramJars.Spec spec = ProgramJars.program("com.example.upload.tag.Tag", body,
            "private boolean loaded; private long max = -1;").name("upload-tag").symbolicName("upload.tag")
            .version(version);
        return ProgramJars.build(Files.createDirectories(programs.resolve("tag-" + version)), spec);
    }

    /** A program that passes every datagram on, in its own bundle {@code bsn}. */
    private static Path passthrough(String bsn, String programName) throws Exception {
        String pkg = "com.example." + bsn.replaceAll("[^A-Za-z0-9.]", "_");
        return ProgramJars.build(Files.createDirectories(programs.resolve(bsn)),
            ProgramJars.program(pkg + ".Pass", "ctx.emit(in.flow(), in.data());", "").name(programName)
                .symbolicName(bsn));
    }

    /** Installs (or upgrades) a program that must be accepted; @return the install report */
    private static Map<String, Object> install(Path jar) throws Exception {
        Map<String, Object> r = node.consoleJson("pando:program-install --json " + jar);
        assertTrue(r.get("installed") instanceof Map, "installed: " + r);
        return r;
    }

    /** @return the stored programs by store name */
    private static Map<String, Map<String, Object>> programList() throws Exception {
        return node.consoleOk("pando:program-list --json").jsonArray().stream()
            .collect(Collectors.toMap(p -> (String) p.get("name"), p -> p));
    }

    /** @return the number of bundles {@code bundle:list -t 0} shows */
    private static int bundleCount() throws Exception {
        KarafNode.Console c = node.consoleOk("bundle:list -t 0");
        int n = (int) c.out().lines().filter(l -> l.matches("^\\s*\\d+\\s*[│|].*")).count();
        assertTrue(n > 10, "bundle:list lists the bundles" + c.describe());
        return n;
    }

    /** @return the files in the program store's directory, with their sizes */
    private static List<String> storeFiles() throws Exception {
        Path store = node.home.resolve("data/pando/programs");
        if (!Files.isDirectory(store)) {
            return List.of();
        }
        try (Stream<Path> files = Files.list(store)) {
            return files.map(p -> p.getFileName() + " " + p.toFile().length()).sorted().toList();
        }
    }

    // ---- sessions and streams -----------------------------------------------------------------------------------

    /** {@code pando:session-create OPTIONS --json}, which must succeed; @return the session */
    private static Map<String, Object> createSession(String options) throws Exception {
        Map<String, Object> s = node.consoleJson("pando:session-create " + options + " --json");
        OPEN.add(JsonValue.str(s, "id"));
        return s;
    }

    /** {@code pando:session-close --json ID}, which must succeed; @return the final report */
    private static Map<String, Object> closeSession(String id) throws Exception {
        OPEN.remove(id);
        return node.consoleJson("pando:session-close --json " + id);
    }

    /**
     * Polls {@code pando:sessions} until every session delivered a datagram (at most {@code seconds}).
     *
     * @return the sessions then, by id
     */
    private static Map<String, Map<String, Object>> awaitFirstDelivered(long seconds, String... ids)
        throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        Map<String, Map<String, Object>> sessions = Map.of();
        while (System.nanoTime() < deadline) {
            sessions = node.consoleOk("pando:sessions --json").jsonArray().stream()
                .collect(Collectors.toMap(x -> (String) x.get("id"), x -> x));
            Map<String, Map<String, Object>> now = sessions;
            if (Arrays.stream(ids).allMatch(id -> now.containsKey(id)
                && JsonValue.num(now.get(id), "counters", "datagrams_out") > 0)) {
                return sessions;
            }
            Thread.sleep(100);
        }
        throw new AssertionError("sessions " + Arrays.toString(ids) + " did not all deliver within " + seconds
            + " s: " + sessions);
    }

    /** Polls session-info until the session's sandbox on {@code unit} runs; @return the last session-info */
    private static Map<String, Object> awaitSandboxRunning(String id, String unit, long seconds) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        Map<String, Object> info;
        do {
            info = node.consoleJson("pando:session-info --json " + id);
            if (JsonValue.dbl(info, "unit_counters", unit, "sandbox_state") == SANDBOX_RUNNING) {
                return info;
            }
            Thread.sleep(200);
        } while (System.nanoTime() < deadline);
        throw new AssertionError("the sandbox of session " + id + " on " + unit + " did not run within " + seconds
            + " s: " + info);
    }

    /**
     * Runs a console command that must succeed, {@value #STEP_GAP_MS} ms after the previous step returned; it ran
     * under load if every sender was still sending when it returned.
     */
    private static KarafNode.Console step(List<Step> steps, List<SystemProcess> senders, String command)
        throws Exception {
        if (!steps.isEmpty()) {
            sleepUntil(steps.get(steps.size() - 1).endNanos() + TimeUnit.MILLISECONDS.toNanos(STEP_GAP_MS));
        }
        long start = System.nanoTime();
        KarafNode.Console c = node.console(command);
        long end = System.nanoTime();
        steps.add(new Step(command, start, end, senders.stream().allMatch(SystemProcess::isAlive),
            c.out().strip()));
        assertEquals(0, c.exit(), command + c.describe());
        return c;
    }

    /**
     * Prints the victim's rate around every step: the stream's median 100 ms interval rate and the lowest interval
     * rate from the step's start to 1 s after it returned (the last interval, cut short by the end, left out).
     */
    private static void rateDip(ArtpStream.Result r, List<Step> steps) {
        List<Object> intervals = JsonValue.list(r.recv(), "intervals");
        double sendSeconds = JsonValue.dbl(r.send(), "seconds");
        long sendEnded = r.stream().sender().endedNanos();
        if (intervals.size() < 4 || Double.isNaN(sendSeconds) || sendEnded == 0) {
            System.out.println("[upload] victim rate dip: not measured (no receiver intervals or sender duration)");
            return;
        }
        double[] rate = intervals.stream().mapToDouble(n -> ((Number) n).doubleValue() * 1000.0 / INTERVAL_MS)
            .toArray();
        int full = rate.length - 1;
        double[] sorted = Arrays.copyOf(rate, full);
        Arrays.sort(sorted);
        double median = full % 2 == 1 ? sorted[full / 2] : (sorted[full / 2 - 1] + sorted[full / 2]) / 2;
        long firstNanos = sendEnded - (long) (sendSeconds * 1e9);
        System.out.println("[upload] victim datagrams per " + INTERVAL_MS + " ms: " + intervals);
        boolean[] inStep = new boolean[full];
        double overall = Double.MAX_VALUE;
        for (Step s : steps) {
            double from = (s.startNanos() - firstNanos) / 1e6;
            double until = (s.endNanos() - firstNanos) / 1e6 + 1000;
            int lo = (int) Math.max(0, Math.floor(from / INTERVAL_MS));
            int hi = (int) Math.min(full - 1, Math.ceil(until / INTERVAL_MS) - 1);
            double min = Double.NaN;
            for (int i = lo; i <= hi; i++) {
                min = Double.isNaN(min) ? rate[i] : Math.min(min, rate[i]);
                inStep[i] = true;
            }
            overall = Double.isNaN(min) ? overall : Math.min(overall, min);
            String row = String.format(Locale.ROOT, "victim rate dip: '%s' at %.2f-%.2f s%s: median %.0f/s, lowest "
                    + "%s/s, ratio %s", s.command().replaceAll(" /\\S+/", " .../"), from / 1000, (until - 1000) / 1000,
                s.underLoad() ? "" : " (NOT under load: a stream had ended)",
                median, Double.isNaN(min) ? "n/a (after the stream)" : String.format(Locale.ROOT, "%.0f", min),
                Double.isNaN(min) ? "n/a" : String.format(Locale.ROOT, "%.2f", min / median));
            SUMMARY.add(row);
        }
        // the control: the intervals no command overlaps (after the first second, the sender's ramp-up)
        double control = Double.NaN;
        int outside = 0;
        for (int i = 1000 / INTERVAL_MS; i < full; i++) {
            if (!inStep[i]) {
                control = Double.isNaN(control) ? rate[i] : Math.min(control, rate[i]);
                outside++;
            }
        }
        if (overall != Double.MAX_VALUE) {
            SUMMARY.add(String.format(Locale.ROOT, "victim rate dip over all store commands: lowest %.0f/s of a "
                    + "median %.0f/s (ratio %.2f); control, the %d intervals no command overlaps: lowest %s/s", overall,
                median, overall / median, outside, Double.isNaN(control) ? "n/a"
                    : String.format(Locale.ROOT, "%.0f", control)));
        }
    }

    private static void sleepUntil(long nanos) throws InterruptedException {
        long wait = nanos - System.nanoTime();
        if (wait > 0) {
            TimeUnit.NANOSECONDS.sleep(wait);
        }
    }

    private static String shorten(String s, int max) {
        String one = s.replace('\n', ' ');
        return one.length() <= max ? one : one.substring(0, max) + "...";
    }

    private static long count(String text, String needle) {
        return text.lines().filter(l -> l.contains(needle)).count();
    }
}
