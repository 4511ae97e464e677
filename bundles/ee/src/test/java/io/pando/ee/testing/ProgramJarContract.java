package io.pando.ee.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pando.ee.api.VerificationReport;
import io.pando.ee.impl.JarProgramVerifier;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.jar.JarFile;
import java.util.zip.ZipEntry;
import org.junit.jupiter.api.Test;

/**
 * What every example program's packaged jar must be, checked as the router sees an upload: Pando's upload verifier
 * accepts it, it imports the program API and exports nothing, and it declares one prototype-scope
 * {@code ActiveProgram} component under the program's name. An example's integration test extends this class
 * (it runs after the jar is built, under failsafe; the jar's path comes in the system property
 * {@code pando.program.jar}).
 */
public abstract class ProgramJarContract {

    private final String symbolicName;
    private final String component;
    private final String programName;

    /**
     * @param symbolicName the bundle's symbolic name
     * @param component the component's name (its description is {@code OSGI-INF/<component>.xml})
     * @param programName the name the program registers under (its component's {@code name} property)
     */
    protected ProgramJarContract(String symbolicName, String component, String programName) {
        this.symbolicName = symbolicName;
        this.component = component;
        this.programName = programName;
    }

    private static Path jar() {
        String path = System.getProperty("pando.program.jar", "");
        assertTrue(!path.isEmpty() && Files.isRegularFile(Path.of(path)), "no packaged jar at '" + path + "'");
        return Path.of(path);
    }

    @Test
    void passesUploadVerification() throws IOException {
        VerificationReport report = new JarProgramVerifier().verify(jar());
        assertTrue(report.accepted(), report.describe());
        assertEquals(symbolicName, report.symbolicName());
    }

    @Test
    void declaresThePrototypeScopeComponent() throws IOException {
        try (JarFile jar = new JarFile(jar().toFile())) {
            String imports = jar.getManifest().getMainAttributes().getValue("Import-Package");
            assertTrue(imports.contains("io.pando.api.program"), imports);
            assertNull(jar.getManifest().getMainAttributes().getValue("Export-Package"));
            ZipEntry xml = jar.getEntry("OSGI-INF/" + component + ".xml");
            assertNotNull(xml, "component description OSGI-INF/" + component + ".xml");
            String description = new String(jar.getInputStream(xml).readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(description.contains("scope=\"prototype\""), description);
            assertTrue(description.contains("name=\"name\"")
                && description.contains("value=\"" + programName + "\""), description);
            assertTrue(description.contains("io.pando.api.program.ActiveProgram"), description);
        }
    }
}
