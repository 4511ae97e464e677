package io.pando.ep.rtpsync;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
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
 * The packaged bundle, as the router sees an upload: Pando's upload verifier must accept it, and it must declare
 * the prototype-scope {@code rtp-sync} component. Runs in the integration-test phase, after the jar is
 * built (failsafe; the jar's path comes in the system property {@code pando.program.jar}).
 */
class RtpSyncBundleIT {

    private static Path jar() {
        String path = System.getProperty("pando.program.jar", "");
        assertTrue(!path.isEmpty() && Files.isRegularFile(Path.of(path)), "no packaged jar at '" + path + "'");
        return Path.of(path);
    }

    @Test
    void passesUploadVerification() throws IOException {
        VerificationReport report = new JarProgramVerifier().verify(jar());
        assertTrue(report.accepted(), report.describe());
        assertEquals("io.pando.ep.rtpsync", report.symbolicName());
    }

    @Test
    void declaresThePrototypeScopeComponent() throws IOException {
        try (JarFile jar = new JarFile(jar().toFile())) {
            String imports = jar.getManifest().getMainAttributes().getValue("Import-Package");
            assertTrue(imports.contains("io.pando.api.program"), imports);
            assertEquals(null, jar.getManifest().getMainAttributes().getValue("Export-Package"));
            ZipEntry xml = jar.getEntry("OSGI-INF/io.pando.ep.rtpsync.xml");
            assertNotNull(xml, "component description");
            String component = new String(jar.getInputStream(xml).readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(component.contains("scope=\"prototype\""), component);
            assertTrue(component.contains("name=\"name\"") && component.contains("value=\"rtp-sync\""),
                component);
            assertTrue(component.contains("io.pando.api.program.ActiveProgram"), component);
        }
    }
}
