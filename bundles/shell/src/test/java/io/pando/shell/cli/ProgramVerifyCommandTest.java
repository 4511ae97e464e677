package io.pando.shell.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pando.ee.impl.JarProgramVerifier;
import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.jar.Attributes;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code pando:program-verify} over the real verifier of bundles/ee. */
class ProgramVerifyCommandTest {

    @TempDir
    Path dir;

    private ProgramVerifyCommand command(Path file, boolean json) {
        ProgramVerifyCommand c = new ProgramVerifyCommand();
        c.verifier = new JarProgramVerifier();
        c.file = file.toString();
        c.json = json;
        return c;
    }

    private Path program(String imports) throws Exception {
        Manifest m = new Manifest();
        Attributes a = m.getMainAttributes();
        a.put(Attributes.Name.MANIFEST_VERSION, "1.0");
        a.putValue("Bundle-ManifestVersion", "2");
        a.putValue("Bundle-SymbolicName", "com.example.empty");
        a.putValue("Bundle-Version", "1.0.0");
        a.putValue("Import-Package", imports);
        Path jar = dir.resolve("program.jar");
        try (OutputStream out = Files.newOutputStream(jar); JarOutputStream j = new JarOutputStream(out, m)) {
            j.flush();
        }
        return jar;
    }

    /** Runs the command; @return what it printed and the exception it ended with, if any. */
    private static Object[] run(ProgramVerifyCommand c) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        PrintStream old = System.out;
        System.setOut(new PrintStream(bytes, true, StandardCharsets.UTF_8));
        Exception failure = null;
        try {
            c.execute();
        } catch (Exception e) {
            failure = e;
        } finally {
            System.setOut(old);
        }
        return new Object[] {bytes.toString(StandardCharsets.UTF_8), failure};
    }

    @Test
    void aPlainProgramBundleIsAccepted() throws Exception {
        Path jar = program("io.pando.api.program;version=\"[1.1,2)\"");
        Object[] r = run(command(jar, true));
        assertEquals(null, r[1], () -> String.valueOf(r[0]));
        Map<String, Object> m = Console.object(Console.parse(((String) r[0]).strip()));
        assertEquals(true, m.get("accepted"));
        assertEquals("com.example.empty", m.get("symbolic_name"));
        assertEquals(List.of(), m.get("findings"));
    }

    @Test
    void aRefusedProgramFailsTheCommandAfterListingEveryReason() throws Exception {
        Path jar = program("io.pando.api.program;version=\"[1.1,2)\",java.io,org.osgi.framework");
        Object[] r = run(command(jar, true));
        assertTrue(r[1] instanceof IllegalArgumentException, () -> "fails: " + r[1]);
        assertTrue(((Exception) r[1]).getMessage().contains("would be refused: 2 reasons"), ((Exception) r[1])::getMessage);
        Map<String, Object> m = Console.object(Console.parse(((String) r[0]).strip()));
        assertEquals(false, m.get("accepted"));
        List<Object> findings = Console.array(m.get("findings"));
        assertEquals(2, findings.size(), findings::toString);
        assertTrue(findings.toString().contains("java.io") && findings.toString().contains("org.osgi.framework"),
            findings::toString);
    }

    @Test
    void notAJarIsRefusedWithATable() throws Exception {
        Path junk = dir.resolve("junk.jar");
        Files.write(junk, "not a jar at all".getBytes(StandardCharsets.US_ASCII));
        Object[] r = run(command(junk, false));
        assertTrue(r[1] instanceof IllegalArgumentException);
        String out = (String) r[0];
        assertTrue(out.contains("refused") && out.contains("not_a_jar"), out);
    }

    @Test
    void aMissingFileOrVerifierIsAClearError() {
        ProgramVerifyCommand missing = command(dir.resolve("nope.jar"), false);
        assertTrue(assertThrows(IllegalArgumentException.class, missing::execute).getMessage().contains("no file"));
        ProgramVerifyCommand noVerifier = command(dir.resolve("nope.jar"), false);
        noVerifier.verifier = null;
        assertTrue(assertThrows(IllegalStateException.class, noVerifier::execute).getMessage()
            .contains("feature pando-ee"));
    }
}
