package io.pando.ee.impl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpServer;
import io.pando.api.program.ActiveProgram;
import io.pando.ee.api.Finding.Code;
import io.pando.ee.api.InstallResult;
import io.pando.ee.api.ProgramStoreException;
import io.pando.ee.api.StoredProgram;
import io.pando.ee.api.VerificationLimits;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.HexFormat;
import java.util.Hashtable;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.TreeMap;
import java.util.jar.Manifest;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.osgi.framework.Bundle;
import org.osgi.framework.ServiceReference;
import org.osgi.framework.wiring.BundleWire;
import org.osgi.framework.wiring.BundleWiring;

/** The program store against a real Felix framework with SCR: install, list, upgrade, remove, restart, refusals. */
class BundleProgramStoreTest {

    @TempDir
    Path tmp;

    private Path storeDir;
    private Path cache;
    private ProgramBundles programs;
    private ProgramWiringHook hook;
    private TestFramework fw;
    private BundleProgramStore store;
    private HttpServer http;

    @BeforeEach
    void start() throws Exception {
        storeDir = tmp.resolve("store");
        cache = tmp.resolve("felix-cache");
        programs = new ProgramBundles(Files.createDirectories(tmp.resolve("jars")));
        hook = new ProgramWiringHook();
        fw = new TestFramework(cache, true, hook);
        store = store(new JarProgramVerifier(), 64);
    }

    @AfterEach
    void stop() throws Exception {
        if (http != null) {
            http.stop(0);
        }
        fw.close();
    }

    private BundleProgramStore store(io.pando.ee.api.ProgramVerifier verifier, int max) throws IOException {
        return new BundleProgramStore(fw.context, verifier, hook, new BundleProgramStore.Settings(storeDir, max,
            Duration.ofMillis(800), Duration.ofSeconds(2), Duration.ofSeconds(2), Duration.ofSeconds(10)));
    }

    private void restart() throws Exception {
        fw.close();
        hook = new ProgramWiringHook();
        fw = new TestFramework(cache, false, hook);
        store = store(new JarProgramVerifier(), 64);
    }

    /** Everything an install could change: program bundles, store files with their content, the list. */
    private Object snapshot() throws IOException {
        Map<String, String> files = new TreeMap<>();
        try (Stream<Path> s = Files.list(storeDir)) {
            for (Path p : (Iterable<Path>) s::iterator) {
                files.put(p.getFileName().toString(), sha(Files.readAllBytes(p)));
            }
        }
        return List.of(fw.programBundles().stream().map(b -> b.getBundleId() + "@" + b.getLocation()).toList(),
            files, store.list(), List.of(fw.context.getBundles()).size());
    }

    private static String sha(byte[] b) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private static List<String> registeredPrograms(org.osgi.framework.BundleContext ctx) throws Exception {
        ServiceReference<?>[] refs = ctx.getAllServiceReferences(ActiveProgram.class.getName(), null);
        return refs == null ? List.of() : Stream.of(refs).map(r -> r.getProperty("name") + "@"
            + r.getBundle().getLocation()).sorted().toList();
    }

    private void assertRefused(Object before, Path jar, String messagePart) throws Exception {
        ProgramStoreException e = assertThrows(ProgramStoreException.class, () -> store.install(jar, Optional.empty()));
        assertTrue(e.getMessage().contains(messagePart), e::getMessage);
        assertEquals(before, snapshot(), "the failed install changed something: " + e.getMessage());
    }

    private void assertRejected(Object before, InstallResult r, Code code, String messagePart) throws IOException {
        assertFalse(r.installed());
        assertFalse(r.report().accepted());
        assertTrue(r.report().findings().stream().anyMatch(f -> f.code() == code && f.message().contains(messagePart)),
            r.report()::describe);
        assertEquals(before, snapshot(), "the refused install changed something");
    }

    // ---- the good path

    @Test
    void installListGetRemove() throws Exception {
        Path jar = programs.program("test.echo", "1.0.0", "echo");
        InstallResult r = store.install(jar, Optional.empty());
        assertTrue(r.installed(), r.report()::describe);
        assertEquals(Optional.empty(), r.replacedVersion());
        StoredProgram p = r.program().orElseThrow();
        assertEquals("test.echo", p.name());
        assertEquals("test.echo", p.symbolicName());
        assertEquals("1.0.0", p.version());
        assertEquals("ACTIVE", p.state());
        assertEquals(List.of("echo"), p.programs());
        assertEquals(Files.size(jar), p.size());
        assertEquals(sha(Files.readAllBytes(jar)), p.sha256());
        assertEquals(storeDir.toAbsolutePath().resolve("test.echo-1.0.0.jar"), p.jar());
        assertTrue(Files.isRegularFile(p.jar()));
        Bundle b = fw.context.getBundle(p.bundleId());
        assertEquals("pando-program:test.echo:1.0.0", b.getLocation());
        assertEquals(List.of("echo@pando-program:test.echo:1.0.0"), registeredPrograms(fw.context));
        // the source may go away: the store has its own copy
        Files.delete(jar);
        assertEquals(List.of(p), store.list());
        assertEquals(Optional.of(p), store.get("test.echo"));
        assertEquals(Optional.empty(), store.get("nope"));

        StoredProgram removed = store.remove("test.echo");
        assertEquals(p, removed);
        assertEquals(Bundle.UNINSTALLED, b.getState());
        assertEquals(List.of(), registeredPrograms(fw.context));
        assertFalse(Files.exists(p.jar()));
        assertEquals(List.of(), store.list());
        assertFalse(Files.readString(storeDir.resolve(StoreIndex.FILE)).contains("test.echo"));
        ProgramStoreException e = assertThrows(ProgramStoreException.class, () -> store.remove("test.echo"));
        assertEquals("no stored program 'test.echo': the store is empty", e.getMessage());
    }

    @Test
    void theNameOptionNamesTheProgramAndIsValidated() throws Exception {
        Path jar = programs.program("test.echo", "1.0.0", "echo");
        InstallResult r = store.install(jar, Optional.of("my-echo_2.x"));
        assertEquals("my-echo_2.x", r.program().orElseThrow().name());
        assertEquals("pando-program:my-echo_2.x:1.0.0", fw.context.getBundle(r.program().get().bundleId())
            .getLocation());
        Object before = snapshot();
        for (String bad : new String[] {"", "a b", "x:y", "../etc", "a".repeat(65), "é"}) {
            ProgramStoreException e = assertThrows(ProgramStoreException.class,
                () -> store.install(programs.program("test.other", "1.0.0", "other"), Optional.of(bad)));
            assertTrue(e.getMessage().startsWith("invalid program name '" + bad + "'"), e::getMessage);
        }
        assertEquals(before, snapshot());
    }

    @Test
    void anUpgradeInstallsTheNewVersionThenRemovesTheOld() throws Exception {
        StoredProgram v1 = store.install(programs.program("test.echo", "1.0.0", "echo"), Optional.empty())
            .program().orElseThrow();
        Bundle old = fw.context.getBundle(v1.bundleId());
        InstallResult r = store.install(programs.program("test.echo", "1.1.0", "echo"), Optional.empty());
        assertEquals(Optional.of("1.0.0"), r.replacedVersion());
        StoredProgram v2 = r.program().orElseThrow();
        assertEquals("1.1.0", v2.version());
        assertTrue(v2.bundleId() > v1.bundleId());
        assertEquals(Bundle.UNINSTALLED, old.getState());
        assertFalse(Files.exists(v1.jar()));
        assertTrue(Files.exists(v2.jar()));
        assertEquals(List.of(v2), store.list());
        assertEquals(List.of("echo@pando-program:test.echo:1.1.0"), registeredPrograms(fw.context));
        assertEquals(1, fw.programBundles().size());
    }

    @Test
    void theSameVersionTwiceIsRefused() throws Exception {
        Path jar = programs.program("test.echo", "1.0.0", "echo");
        store.install(jar, Optional.empty());
        Object before = snapshot();
        assertRefused(before, jar, "test.echo 1.0.0 is already installed");
        // other bytes under the same version: said so, and refused
        Path other = programs.program("test.echo", "1.0", "echo", "changed");
        assertRefused(before, other, "test.echo 1.0.0 is already installed with other content");
        assertRefused(before, other, "change Bundle-Version to upgrade it");
    }

    @Test
    void aProgramNameTakenByAnotherStoredProgramOrBundleIsRefused() throws Exception {
        store.install(programs.program("test.first", "1.0.0", "echo"), Optional.empty());
        Object before = snapshot();
        assertRefused(before, programs.program("test.second", "1.0.0", "echo"),
            "program name 'echo' is already provided by stored program 'test.first' (bundle ");
        fw.context.registerService(ActiveProgram.class, (in, ctx) -> { }, new Hashtable<>(Map.of("name", "builtin")));
        before = snapshot();
        assertRefused(before, programs.program("test.third", "1.0.0", "builtin"),
            "program name 'builtin' is already provided by bundle org.apache.felix.framework");
        assertRefused(before, programs.program("test.third", "1.0.0", "builtin"), "which is not a stored program");
    }

    @Test
    void theStoreSurvivesARestart() throws Exception {
        StoredProgram a = store.install(programs.program("test.a", "1.0.0", "a"), Optional.empty()).program()
            .orElseThrow();
        StoredProgram b = store.install(programs.program("test.b", "2.0.0", "b"), Optional.empty()).program()
            .orElseThrow();
        Files.writeString(storeDir.resolve("stray-1.0.0.jar"), "left behind");
        Files.writeString(storeDir.resolve(".upload-123.tmp"), "an upload cut short");

        restart();
        List<StoredProgram> list = store.list();
        assertEquals(List.of("test.a", "test.b"), list.stream().map(StoredProgram::name).toList());
        assertEquals(List.of(a.bundleId(), b.bundleId()), list.stream().map(StoredProgram::bundleId).toList());
        assertEquals(List.of(a.sha256(), b.sha256()), list.stream().map(StoredProgram::sha256).toList());
        assertEquals(List.of(a.installedAt(), b.installedAt()), list.stream().map(StoredProgram::installedAt).toList());
        assertEquals(List.of("ACTIVE", "ACTIVE"), list.stream().map(StoredProgram::state).toList());
        assertEquals(List.of(List.of("a"), List.of("b")), list.stream().map(StoredProgram::programs).toList());
        assertFalse(Files.exists(storeDir.resolve("stray-1.0.0.jar")), "files without a program are cleaned");
        assertFalse(Files.exists(storeDir.resolve(".upload-123.tmp")));

        // without an index, the bundles the framework kept are adopted, their jars found again
        Files.delete(storeDir.resolve(StoreIndex.FILE));
        restart();
        assertEquals(List.of("test.a", "test.b"), store.list().stream().map(StoredProgram::name).toList());
        assertEquals(a.sha256(), store.get("test.a").orElseThrow().sha256());
        assertEquals("2.0.0", store.get("test.b").orElseThrow().version());

        // a bundle uninstalled outside the store: its entry and jar go at the next start
        fw.context.getBundle(a.bundleId()).uninstall();
        assertEquals(StoredProgram.MISSING, store.get("test.a").orElseThrow().state());
        restart();
        assertEquals(List.of("test.b"), store.list().stream().map(StoredProgram::name).toList());
        assertFalse(Files.exists(a.jar()));
        assertTrue(Files.exists(b.jar()));
    }

    @Test
    void anInterruptedUpgradeKeepsTheNewestAtRestart() throws Exception {
        StoredProgram a = store.install(programs.program("test.a", "1.0.0", "a"), Optional.empty()).program()
            .orElseThrow();
        // as if the store stopped between installing 1.1.0 and uninstalling 1.0.0
        Bundle newer;
        try (var in = Files.newInputStream(programs.program("test.a", "1.1.0", "a"))) {
            newer = fw.context.installBundle("pando-program:test.a:1.1.0", in);
        }
        restart();
        StoredProgram now = store.get("test.a").orElseThrow();
        assertEquals("1.1.0", now.version());
        assertEquals(newer.getBundleId(), now.bundleId());
        assertNull(fw.context.getBundle(a.bundleId()));
        assertEquals(1, fw.programBundles().size());
    }

    @Test
    void concurrentInstallsOfOneProgramAreSerialized() throws Exception {
        Path jar = programs.program("test.echo", "1.0.0", "echo");
        int n = 4;
        java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(n);
        try {
            java.util.concurrent.CyclicBarrier go = new java.util.concurrent.CyclicBarrier(n);
            List<java.util.concurrent.Future<String>> results = new java.util.ArrayList<>();
            for (int i = 0; i < n; i++) {
                results.add(pool.submit(() -> {
                    go.await();
                    try {
                        return store.install(jar, Optional.empty()).installed() ? "installed" : "refused";
                    } catch (ProgramStoreException e) {
                        return e.getMessage();
                    }
                }));
            }
            List<String> outcomes = new java.util.ArrayList<>();
            for (var f : results) {
                outcomes.add(f.get(30, java.util.concurrent.TimeUnit.SECONDS));
            }
            assertEquals(1, outcomes.stream().filter("installed"::equals).count(), outcomes::toString);
            assertEquals(n - 1, outcomes.stream().filter("test.echo 1.0.0 is already installed"::equals).count(),
                outcomes::toString);
        } finally {
            pool.shutdownNow();
        }
        assertEquals(1, fw.programBundles().size());
        assertEquals(1, store.list().size());
        try (Stream<Path> files = Files.list(storeDir)) {
            assertEquals(List.of("index.properties", "test.echo-1.0.0.jar"), files.map(p -> p.getFileName()
                .toString()).sorted().toList());
        }
    }

    @Test
    void theDeclaredProgramNamesAreReadWithoutLoadingClasses() throws Exception {
        assertEquals(List.of("echo"), DeclaredPrograms.names(programs.program("test.echo", "1.0.0", "echo")));
        assertEquals(List.of(), DeclaredPrograms.names(Files.writeString(tmp.resolve("x.jar"), "not a jar")));
        String two = "<components xmlns:scr=\"http://www.osgi.org/xmlns/scr/v1.3.0\">"
            + "<scr:component name=\"a\"><property name=\"name\" value=\" a \"/>"
            + "<service><provide interface=\"io.pando.api.program.ActiveProgram\"/></service></scr:component>"
            + "<scr:component name=\"b\"><property name=\"name\">b1\nb2</property>"
            + "<service><provide interface=\"io.pando.api.program.ActiveProgram\"/></service></scr:component>"
            + "<scr:component name=\"c\"><property name=\"name\" value=\"not-a-program\"/>"
            + "<service><provide interface=\"java.lang.Runnable\"/></service></scr:component></components>";
        assertEquals(List.of("a", "b1", "b2"), DeclaredPrograms.fromXml(new java.io.ByteArrayInputStream(
            two.getBytes(StandardCharsets.UTF_8))));
        String doctype = "<!DOCTYPE x [<!ENTITY e SYSTEM \"file:///etc/passwd\">]><x>&e;</x>";
        assertEquals(List.of(), DeclaredPrograms.fromXml(new java.io.ByteArrayInputStream(
            doctype.getBytes(StandardCharsets.UTF_8))));
    }

    @Test
    void theStoreHasALimit() throws Exception {
        store = store(new JarProgramVerifier(), 1);
        store.install(programs.program("test.a", "1.0.0", "a"), Optional.empty());
        Object before = snapshot();
        assertRefused(before, programs.program("test.b", "1.0.0", "b"), "the store is full: it holds 1 programs, "
            + "the limit is 1");
        // an upgrade does not count
        assertTrue(store.install(programs.program("test.a", "1.0.1", "a"), Optional.empty()).installed());
    }

    // ---- bad uploads: a clear error, nothing changed

    @Test
    void notAJarIsRejected() throws Exception {
        Path junk = Files.writeString(tmp.resolve("junk.jar"), "not a jar");
        Object before = snapshot();
        assertRejected(before, store.install(junk, Optional.empty()), Code.NOT_A_JAR, "not a jar");
    }

    @Test
    void aCorruptZipIsRejected() throws Exception {
        byte[] good = Files.readAllBytes(programs.program("test.echo", "1.0.0", "echo"));
        Path cut = Files.write(tmp.resolve("cut.jar"), java.util.Arrays.copyOf(good, good.length / 2));
        Object before = snapshot();
        assertRejected(before, store.install(cut, Optional.empty()), Code.CORRUPT_ARCHIVE, "corrupt");
    }

    @Test
    void aZipBombIsRejected() throws Exception {
        Path bomb = tmp.resolve("bomb.jar");
        try (OutputStream os = Files.newOutputStream(bomb); ZipOutputStream zip = new ZipOutputStream(os)) {
            zip.putNextEntry(new ZipEntry("META-INF/MANIFEST.MF"));
            ProgramBundles.manifest("test.bomb", "1.0.0").write(zip);
            zip.closeEntry();
            zip.putNextEntry(new ZipEntry("zeros.bin"));
            byte[] zeros = new byte[1 << 20];
            for (int i = 0; i < 40; i++) {
                zip.write(zeros);
            }
            zip.closeEntry();
        }
        Object before = snapshot();
        InstallResult r = store.install(bomb, Optional.empty());
        assertFalse(r.installed());
        assertTrue(r.report().has(Code.COMPRESSION_RATIO) || r.report().has(Code.TOO_LARGE), r.report()::describe);
        assertTrue(r.report().describe().contains("zip bomb"), r.report()::describe);
        assertEquals(before, snapshot());
    }

    @Test
    void aManifestWithoutSymbolicNameOrWithAnActivatorIsRejected() throws Exception {
        Map<String, byte[]> classes = programs.classes("test.x.Echo", ProgramBundles.echo("test.x.Echo", ""));
        Manifest m = ProgramBundles.manifest("test.x", "1.0.0");
        m.getMainAttributes().remove(new java.util.jar.Attributes.Name("Bundle-SymbolicName"));
        m.getMainAttributes().putValue("Bundle-Activator", "test.x.Echo");
        Object before = snapshot();
        InstallResult r = store.install(programs.jar(m, classes), Optional.empty());
        assertRejected(before, r, Code.BAD_MANIFEST, "Bundle-SymbolicName is missing");
        assertRejected(before, r, Code.FORBIDDEN_HEADER, "Bundle-Activator");
    }

    @Test
    void aProgramWithoutTheApiImportIsRefused() throws Exception {
        Path jar = programs.program("test.echo", "1.0.0", "echo");
        Map<String, byte[]> entries = new java.util.LinkedHashMap<>();
        Manifest m;
        try (var zip = new java.util.jar.JarFile(jar.toFile())) {
            m = zip.getManifest();
            for (var e : java.util.Collections.list(zip.entries())) {
                if (!e.getName().equals("META-INF/MANIFEST.MF")) {
                    entries.put(e.getName(), zip.getInputStream(e).readAllBytes());
                }
            }
        }
        m.getMainAttributes().remove(new java.util.jar.Attributes.Name("Import-Package"));
        Object before = snapshot();
        assertRefused(before, programs.jar(m, entries), "test.echo 1.0.0 does not import io.pando.api.program");
    }

    @Test
    void anOversizedJarIsRejected() throws Exception {
        Path jar = programs.program("test.echo", "1.0.0", "echo");
        store = store(new JarProgramVerifier(new VerificationLimits(Files.size(jar) - 1, 1 << 20, 100, 100),
            Allowlist.builtIn()), 64);
        Object before = snapshot();
        assertRejected(before, store.install(jar, Optional.empty()), Code.TOO_LARGE, "has " + Files.size(jar)
            + " bytes, the limit is " + (Files.size(jar) - 1) + " bytes");
    }

    @Test
    void aBundleThatRegistersNoProgramIsRefused() throws Exception {
        Map<String, byte[]> classes = programs.classes("test.quiet.Echo", ProgramBundles.echo("test.quiet.Echo", ""));
        Object before = snapshot();
        assertRefused(before, programs.jar(ProgramBundles.manifest("test.quiet", "1.0.0"), classes),
            "test.quiet 1.0.0 registers no ActiveProgram service");
    }

    @Test
    void aMissingFileIsAClearError() throws Exception {
        Object before = snapshot();
        assertRefused(before, tmp.resolve("nope.jar"), "no file " + tmp.resolve("nope.jar"));
    }

    // ---- URLs

    private URI serve(String path, byte[] body, boolean declareLength) throws IOException {
        if (http == null) {
            http = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
            http.start();
        }
        http.createContext(path, x -> {
            x.sendResponseHeaders(200, declareLength ? body.length : 0);
            try (OutputStream out = x.getResponseBody()) {
                out.write(body);
            } catch (IOException e) {
                // the store stopped reading
            }
        });
        return URI.create("http://127.0.0.1:" + http.getAddress().getPort() + path);
    }

    @Test
    void aProgramIsInstalledFromHttpAndFromAFileUrl() throws Exception {
        Path jar = programs.program("test.echo", "1.0.0", "echo");
        InstallResult r = store.install(serve("/echo.jar", Files.readAllBytes(jar), true), Optional.empty());
        assertTrue(r.installed(), r.report()::describe);
        assertEquals(sha(Files.readAllBytes(jar)), r.program().orElseThrow().sha256());
        r = store.install(programs.program("test.file", "1.0.0", "file").toUri(), Optional.of("from-file"));
        assertEquals(List.of("file"), r.program().orElseThrow().programs());
    }

    @Test
    void aBadSchemeOrUnreachableUrlIsAClearError() throws Exception {
        Object before = snapshot();
        for (String url : new String[] {"ftp://127.0.0.1/x.jar", "jar:file:/x.jar!/", "mailto:a@b", "x.jar"}) {
            ProgramStoreException e = assertThrows(ProgramStoreException.class,
                () -> store.install(URI.create(url), Optional.empty()));
            assertTrue(e.getMessage().contains("is not allowed: use file:, http: or https:"), e::getMessage);
        }
        int closed;
        try (var s = new java.net.ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            closed = s.getLocalPort();
        }
        ProgramStoreException e = assertThrows(ProgramStoreException.class,
            () -> store.install(URI.create("http://127.0.0.1:" + closed + "/x.jar"), Optional.empty()));
        assertTrue(e.getMessage().startsWith("cannot download http://127.0.0.1:" + closed + "/x.jar: cannot connect"),
            e::getMessage);
        serve("/other", new byte[0], true);
        URI missing = URI.create("http://127.0.0.1:" + http.getAddress().getPort() + "/missing.jar");
        e = assertThrows(ProgramStoreException.class, () -> store.install(missing, Optional.empty()));
        assertTrue(e.getMessage().contains("the server answered HTTP 404"), e::getMessage);
        assertEquals(before, snapshot());
    }

    @Test
    void aDownloadPastTheLimitIsStopped() throws Exception {
        long limit = VerificationLimits.DEFAULT.maxJarBytes();
        byte[] big = new byte[(int) limit + 100_000];
        new Random(1).nextBytes(big);
        Object before = snapshot();
        InstallResult r = store.install(serve("/chunked.jar", big, false), Optional.empty());
        assertRejected(before, r, Code.TOO_LARGE, "is larger than the limit of " + limit + " bytes; reading stopped");
        r = store.install(serve("/declared.jar", big, true), Optional.empty());
        assertRejected(before, r, Code.TOO_LARGE, "is declared as " + big.length + " bytes");
    }

    @Test
    void aSilentServerRunsIntoTheReadTimeout() throws Exception {
        http = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        http.setExecutor(java.util.concurrent.Executors.newCachedThreadPool());
        http.start();
        java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);
        http.createContext("/slow.jar", x -> {
            try {
                release.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            x.close();
        });
        try {
            Object before = snapshot();
            long t0 = System.nanoTime();
            ProgramStoreException e = assertThrows(ProgramStoreException.class, () -> store.install(
                URI.create("http://127.0.0.1:" + http.getAddress().getPort() + "/slow.jar"), Optional.empty()));
            assertTrue(e.getMessage().contains("within the time limit"), e::getMessage);
            assertTrue(System.nanoTime() - t0 < 9_000_000_000L);
            assertEquals(before, snapshot());
        } finally {
            release.countDown();
        }
    }

    // ---- confinement

    @Test
    void aProgramWiresOnlyToTheApiBundleEvenWhenAnotherExportsTheApi() throws Exception {
        // a rogue bundle (not a program) that exports the program API with a higher version
        Manifest rogue = ProgramBundles.manifest("test.rogue", "1.0.0");
        rogue.getMainAttributes().remove(new java.util.jar.Attributes.Name("Import-Package"));
        rogue.getMainAttributes().putValue("Export-Package", "io.pando.api.program;version=1.9.0");
        Bundle r = fw.context.installBundle("test:rogue", Files.newInputStream(programs.jar(rogue, Map.of(
            "io/pando/api/program/Marker.txt", new byte[] {1}))));
        r.start();
        // the control: an ordinary bundle with the same manifest wires to the rogue export
        Path jar = programs.program("test.echo", "1.0.0", "echo");
        Bundle plain = fw.context.installBundle("test:plain", Files.newInputStream(jar));
        assertTrue(plain.adapt(org.osgi.framework.wiring.FrameworkWiring.class) == null);
        fw.context.getBundle(0).adapt(org.osgi.framework.wiring.FrameworkWiring.class).resolveBundles(List.of(plain));
        assertEquals("test.rogue", apiProvider(plain));
        plain.uninstall();

        StoredProgram p = store.install(jar, Optional.empty()).program().orElseThrow();
        assertEquals("io.pando.api", apiProvider(fw.context.getBundle(p.bundleId())));
    }

    private static String apiProvider(Bundle b) {
        BundleWiring w = b.adapt(BundleWiring.class);
        assertNotNull(w, b + " is not resolved");
        for (BundleWire wire : w.getRequiredWires("osgi.wiring.package")) {
            if ("io.pando.api.program".equals(wire.getCapability().getAttributes().get("osgi.wiring.package"))) {
                return wire.getProvider().getSymbolicName();
            }
        }
        return null;
    }

    @Test
    void aWiringTheHookRefusesFailsTheInstallWithTheRequirementNamed() throws Exception {
        // a verifier that lets anything through: the hook is the last line of defence
        io.pando.ee.api.ProgramVerifier lax = new io.pando.ee.api.ProgramVerifier() {
            @Override
            public io.pando.ee.api.VerificationReport verify(java.io.InputStream jar, long declaredSize) {
                throw new UnsupportedOperationException();
            }

            @Override
            public io.pando.ee.api.VerificationReport verify(Path jar) {
                try (var j = new java.util.jar.JarFile(jar.toFile())) {
                    var a = j.getManifest().getMainAttributes();
                    return io.pando.ee.api.VerificationReport.of(a.getValue("Bundle-SymbolicName"),
                        a.getValue("Bundle-Version"), List.of());
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            }
        };
        store = store(lax, 64);
        Path jar = programs.program("test.echo", "1.0.0", "echo");
        Map<String, byte[]> entries = new java.util.LinkedHashMap<>();
        Manifest m;
        try (var zip = new java.util.jar.JarFile(jar.toFile())) {
            m = zip.getManifest();
            for (var e : java.util.Collections.list(zip.entries())) {
                if (!e.getName().equals("META-INF/MANIFEST.MF")) {
                    entries.put(e.getName(), zip.getInputStream(e).readAllBytes());
                }
            }
        }
        m.getMainAttributes().putValue("Import-Package", ProgramBundles.API_IMPORT
            + ",org.osgi.framework,org.apache.felix.scr.info");
        Object before = snapshot();
        ProgramStoreException e = assertThrows(ProgramStoreException.class,
            () -> store.install(programs.jar(m, entries), Optional.empty()));
        assertTrue(e.getMessage().startsWith("program wiring refused: "), e::getMessage);
        assertTrue(e.getMessage().contains("Import-Package org.osgi.framework"), e::getMessage);
        assertTrue(e.getMessage().contains("Import-Package org.apache.felix.scr.info"), e::getMessage);
        assertEquals(before, snapshot());
    }

    @Test
    void noOtherBundleWiresToAProgramsExports() throws Exception {
        String cls = "test.lib.Echo";
        Manifest m = ProgramBundles.manifest("test.lib", "1.0.0");
        m.getMainAttributes().putValue("Service-Component", "OSGI-INF/" + cls + ".xml");
        m.getMainAttributes().putValue("Require-Capability", ProgramBundles.EXTENDER);
        m.getMainAttributes().putValue("Export-Package", "test.lib;version=1.0.0");
        m.getMainAttributes().putValue("Import-Package", ProgramBundles.API_IMPORT + ",test.lib;version=\"[1.0,2)\"");
        Map<String, byte[]> entries = new java.util.LinkedHashMap<>(programs.classes(cls, ProgramBundles.echo(cls,
            "")));
        entries.put("OSGI-INF/" + cls + ".xml", ProgramBundles.descriptor(cls, "lib").getBytes(StandardCharsets.UTF_8));
        InstallResult r = store.install(programs.jar(m, entries), Optional.empty());
        assertTrue(r.installed(), r.report()::describe);

        Manifest user = ProgramBundles.manifest("test.user", "1.0.0");
        user.getMainAttributes().putValue("Import-Package", "test.lib");
        Bundle u = fw.context.installBundle("test:user", Files.newInputStream(programs.jar(user, Map.of())));
        assertFalse(fw.context.getBundle(0).adapt(org.osgi.framework.wiring.FrameworkWiring.class)
            .resolveBundles(List.of(u)), "a bundle wired to a program's export");
    }
}
