package io.pando.shell.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pando.ee.api.Finding;
import io.pando.ee.api.InstallResult;
import io.pando.ee.api.ProgramStore;
import io.pando.ee.api.ProgramStoreException;
import io.pando.ee.api.StoredProgram;
import io.pando.ee.api.VerificationReport;
import java.net.URI;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/** {@code pando:program-install}, {@code program-list}, {@code program-remove} over a fake store. */
class ProgramStoreCommandsTest {

    /** Records what it was asked; installs whatever it is told to. */
    static final class FakeStore implements ProgramStore {
        final Map<String, StoredProgram> programs = new TreeMap<>();
        final List<Object> calls = new ArrayList<>();
        VerificationReport next = VerificationReport.of("com.example.echo", "1.0.0", List.of());

        static StoredProgram program(String name, String version, long id) {
            return new StoredProgram(name, "com.example.echo", version, id, "ACTIVE", List.of("echo"),
                Path.of("/data/pando/programs/" + name + "-" + version + ".jar"), 2048, "ab".repeat(32),
                Instant.parse("2026-01-02T03:04:05.678Z"));
        }

        private InstallResult install(Object source, Optional<String> name) throws ProgramStoreException {
            calls.add(source);
            calls.add(name);
            if (!next.accepted()) {
                return InstallResult.refused(next);
            }
            String n = name.orElse(next.symbolicName());
            if (n.contains(" ")) {
                throw new ProgramStoreException("invalid program name '" + n + "'");
            }
            StoredProgram old = programs.get(n);
            StoredProgram p = program(n, next.version(), 40 + programs.size());
            programs.put(n, p);
            return new InstallResult(next, Optional.of(p), Optional.ofNullable(old).map(StoredProgram::version));
        }

        @Override
        public InstallResult install(Path file, Optional<String> name) throws ProgramStoreException {
            return install((Object) file, name);
        }

        @Override
        public InstallResult install(URI url, Optional<String> name) throws ProgramStoreException {
            return install((Object) url, name);
        }

        @Override
        public List<StoredProgram> list() {
            return List.copyOf(programs.values());
        }

        @Override
        public Optional<StoredProgram> get(String name) {
            return Optional.ofNullable(programs.get(name));
        }

        @Override
        public StoredProgram remove(String name) throws ProgramStoreException {
            StoredProgram p = programs.remove(name);
            if (p == null) {
                throw new ProgramStoreException("no stored program '" + name + "'");
            }
            return p;
        }
    }

    private final FakeStore store = new FakeStore();

    private ProgramInstallCommand install(String source, String name, boolean json) {
        ProgramInstallCommand c = new ProgramInstallCommand();
        c.store = store;
        c.source = source;
        c.name = name;
        c.json = json;
        return c;
    }

    @Test
    void aFileIsInstalledAndTheReportPrinted() throws Exception {
        String out = Console.run(install("/tmp/echo.jar", null, false));
        assertEquals(List.of(Path.of("/tmp/echo.jar"), Optional.empty()), store.calls);
        assertTrue(out.contains("/tmp/echo.jar: com.example.echo 1.0.0: accepted"), out);
        assertTrue(out.contains("installed com.example.echo 1.0.0 as bundle 40 (active), programs: echo"), out);
    }

    @Test
    void aUrlIsPassedAsAUrlWithTheName() throws Exception {
        Map<String, Object> m = Console.object(Console.json(install("https://example.com/echo.jar", "echo", true)));
        assertEquals(List.of(URI.create("https://example.com/echo.jar"), Optional.of("echo")), store.calls);
        assertEquals(true, m.get("accepted"));
        Map<String, Object> p = Console.object(m.get("installed"));
        assertEquals("echo", p.get("name"));
        assertEquals(40L, p.get("bundle_id"));
        assertEquals("active", p.get("state"));
        assertEquals(List.of("echo"), p.get("programs"));
        assertEquals("2026-01-02T03:04:05.678Z", p.get("installed"));
        assertNull(m.get("replaced_version"));
        // every scheme goes to the store, which decides (ftp: is refused there, not guessed to be a file)
        store.calls.clear();
        Console.run(install("ftp://example.com/echo.jar", null, true));
        assertEquals(URI.create("ftp://example.com/echo.jar"), store.calls.get(0));
    }

    @Test
    void anUpgradeSaysFromWhichVersion() throws Exception {
        Console.run(install("/tmp/echo.jar", "echo", false));
        store.next = VerificationReport.of("com.example.echo", "1.1.0", List.of());
        String out = Console.run(install("/tmp/echo-1.1.jar", "echo", false));
        assertTrue(out.contains("upgraded echo 1.0.0 -> 1.1.0 as bundle"), out);
        Map<String, Object> m = Console.object(Console.json(install("/tmp/echo-1.1.jar", "echo", true)));
        assertEquals("1.1.0", m.get("replaced_version"));
    }

    @Test
    void aRefusalPrintsEveryReasonAndFails() throws Exception {
        store.next = VerificationReport.of("com.example.evil", "1.0.0", List.of(
            new Finding(Finding.Code.FORBIDDEN_IMPORT, "MANIFEST.MF Import-Package", "Import-Package java.io: not allowed"),
            new Finding(Finding.Code.FORBIDDEN_REFERENCE, "x.Evil.run()V", "x.Evil.run()V calls System.exit")));
        ProgramInstallCommand c = install("/tmp/evil.jar", null, false);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Console.run(c));
        assertEquals("/tmp/evil.jar refused: 2 reasons: FORBIDDEN_IMPORT MANIFEST.MF Import-Package: Import-Package "
            + "java.io: not allowed; FORBIDDEN_REFERENCE x.Evil.run()V: x.Evil.run()V calls System.exit", e.getMessage(),
            "the error line names the first reasons");

        java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
        ProgramInstallCommand.print(new java.io.PrintStream(bytes, true, java.nio.charset.StandardCharsets.UTF_8),
            "/tmp/evil.jar", InstallResult.refused(store.next), false);
        String out = bytes.toString(java.nio.charset.StandardCharsets.UTF_8);
        assertTrue(out.contains("refused, 2 reasons") && out.contains("forbidden_import")
            && out.contains("calls System.exit"), out);

        bytes.reset();
        ProgramInstallCommand.print(new java.io.PrintStream(bytes, true, java.nio.charset.StandardCharsets.UTF_8),
            "/tmp/evil.jar", InstallResult.refused(store.next), true);
        Map<String, Object> m = Console.object(Console.parse(bytes.toString(java.nio.charset.StandardCharsets.UTF_8)
            .strip()));
        assertEquals(false, m.get("accepted"));
        assertNull(m.get("installed"));
        assertEquals(2, Console.array(m.get("findings")).size());
        assertEquals("forbidden_import", Console.object(Console.array(m.get("findings")).get(0)).get("code"));
        assertTrue(store.programs.isEmpty());
    }

    @Test
    void storeErrorsAndAMissingStoreAreClear() {
        ProgramStoreException e = assertThrows(ProgramStoreException.class,
            () -> Console.run(install("/tmp/echo.jar", "a b", false)));
        assertEquals("invalid program name 'a b'", e.getMessage());
        ProgramInstallCommand none = install("/tmp/echo.jar", null, false);
        none.store = null;
        assertEquals(StoreAction.NOT_RUNNING, assertThrows(IllegalStateException.class, () -> Console.run(none))
            .getMessage());
        ProgramListCommand list = new ProgramListCommand();
        assertEquals(StoreAction.NOT_RUNNING, assertThrows(IllegalStateException.class, () -> Console.run(list))
            .getMessage());
    }

    @Test
    void theListIsATableOrJson() throws Exception {
        ProgramListCommand c = new ProgramListCommand();
        c.store = store;
        assertTrue(Console.run(c).contains("no programs stored"));
        store.programs.put("echo", FakeStore.program("echo", "1.0.0", 41));
        store.programs.put("zip", new StoredProgram("zip", "com.example.zip", "2.0.0", -1, StoredProgram.MISSING,
            List.of(), Path.of("/x/zip-2.0.0.jar"), 3 << 20, "", Instant.parse("2026-02-03T04:05:06Z")));
        String out = Console.run(c);
        List<String> lines = out.lines().toList();
        assertEquals(List.of("Name", "Version", "Bundle ID", "State", "Programs", "Size", "Installed"),
            java.util.Arrays.stream(lines.get(0).split("\\|")).map(String::strip).toList());
        assertTrue(out.contains("echo") && out.contains("41") && out.contains("active") && out.contains("2.0 KiB")
            && out.contains("2026-01-02 03:04:05Z"), out);
        assertTrue(out.contains("missing") && out.contains("3.0 MiB"), out);
        c.json = true;
        List<Object> a = Console.array(Console.json(c));
        assertEquals(2, a.size());
        assertEquals("echo", Console.object(a.get(0)).get("name"));
        assertEquals("missing", Console.object(a.get(1)).get("state"));
        assertEquals(-1L, Console.object(a.get(1)).get("bundle_id"));
    }

    @Test
    void removeRemovesOrSaysThereIsNoSuchProgram() throws Exception {
        store.programs.put("echo", FakeStore.program("echo", "1.0.0", 41));
        ProgramRemoveCommand c = new ProgramRemoveCommand();
        c.store = store;
        c.name = "echo";
        assertEquals("removed echo 1.0.0 (bundle 41), programs: echo", Console.run(c).strip());
        assertTrue(store.programs.isEmpty());
        ProgramStoreException e = assertThrows(ProgramStoreException.class, () -> Console.run(c));
        assertEquals("no stored program 'echo'", e.getMessage());
        store.programs.put("echo", FakeStore.program("echo", "1.0.0", 41));
        c.json = true;
        assertEquals("echo", Console.object(Console.json(c)).get("name"));
    }

    @Test
    void theCompleterOffersTheStoredNames() {
        StoredProgramCompleter c = new StoredProgramCompleter();
        store.programs.put("echo", FakeStore.program("echo", "1.0.0", 41));
        store.programs.put("zip", FakeStore.program("zip", "1.0.0", 42));
        c.store = store;
        List<String> candidates = new ArrayList<>();
        c.complete(null, new FakeCommandLine(""), candidates);
        assertEquals(List.of("echo", "zip"), candidates.stream().map(String::strip).sorted().toList());
        c.store = null;
        candidates.clear();
        c.complete(null, new FakeCommandLine(""), candidates);
        assertEquals(List.of(), candidates);
    }

    /** A command line whose cursor is at the end of one argument. */
    record FakeCommandLine(String word) implements org.apache.karaf.shell.api.console.CommandLine {
        @Override
        public int getCursorArgumentIndex() {
            return 0;
        }

        @Override
        public String getCursorArgument() {
            return word;
        }

        @Override
        public int getArgumentPosition() {
            return word.length();
        }

        @Override
        public String[] getArguments() {
            return new String[] {word};
        }

        @Override
        public int getBufferPosition() {
            return word.length();
        }

        @Override
        public String getBuffer() {
            return word;
        }
    }
}
