package io.pando.ee.impl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.pando.ee.api.Finding;
import io.pando.ee.api.Finding.Code;
import io.pando.ee.api.VerificationLimits;
import io.pando.ee.api.VerificationReport;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import java.util.jar.Manifest;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class JarProgramVerifierTest {

    private static final String PROCESS = "test.Evil.process(Lio/pando/api/program/Datagram;"
        + "Lio/pando/api/program/ProgramContext;)V";

    private final JarProgramVerifier verifier = new JarProgramVerifier();

    @TempDir
    Path tmp;

    private static final String GOOD = """
        package good;
        import io.pando.api.program.*;
        import io.pando.api.session.FlowId;
        import java.nio.ByteBuffer;
        import java.nio.charset.StandardCharsets;
        import java.util.*;
        import java.util.function.Function;
        public final class Passthrough implements ActiveProgram {
          record Stat(String key, long count) { }
          enum Mode { COPY, UPPER }
          private final Map<FlowId, Long> counts = new HashMap<>();
          private final Function<byte[], ByteBuffer> wrap = ByteBuffer::wrap;
          private Mode mode = Mode.COPY;
          @Override public void validate(Map<String, String> parameters) {
            parameters.forEach((k, v) -> { if (k.isEmpty()) throw new IllegalArgumentException("empty key " + k); });
          }
          @Override public void process(Datagram in, ProgramContext ctx) {
            long n = counts.merge(in.flow(), 1L, Long::sum);
            Stat s = new Stat("count-" + in.flow() + "-" + n, n);
            switch (mode) {
              case COPY -> ctx.emit(in.flow(), in.data());
              case UPPER -> ctx.emit(in.flow(), wrap.apply(new String(in.copyData(), StandardCharsets.UTF_8)
                  .toUpperCase(Locale.ROOT).getBytes(StandardCharsets.UTF_8)));
            }
            ByteBuffer b = ByteBuffer.allocate(8);
            b.putLong(s.count()).flip();
            ctx.putState(s.key().substring(0, Math.min(8, s.key().length())), Arrays.copyOf(b.array(), 8));
            List<String> keys = new ArrayList<>(ctx.parameters().keySet());
            keys.sort(Comparator.naturalOrder());
            keys.stream().map(String::length).filter(l -> l > 1000).findFirst()
                .ifPresent(l -> { throw new IllegalStateException("key too long: " + l); });
            try {
              java.security.MessageDigest.getInstance("SHA-256").digest(in.copyData());
            } catch (java.security.NoSuchAlgorithmException e) {
              throw new IllegalStateException(e);
            }
            synchronized (this) { mode = n % 2 == 0 ? Mode.COPY : mode; }
          }
        }
        """;

    private Path jarOf(Map<String, String> sources, Manifest manifest) throws IOException {
        Map<String, byte[]> classes = ProgramJars.compile(Files.createTempDirectory(tmp, "c"), sources);
        return ProgramJars.jar(Files.createTempFile(tmp, "program", ".jar"), manifest, classes);
    }

    private VerificationReport verifySources(Map<String, String> sources) throws IOException {
        return verifier.verify(jarOf(sources, ProgramJars.manifest("test.program")));
    }

    private static void assertRejected(VerificationReport r, Code code, String messagePart) {
        assertFalse(r.accepted(), "expected a rejection: " + r.describe());
        assertTrue(r.findings().stream().anyMatch(f -> f.code() == code && f.message().contains(messagePart)),
            "expected " + code + " mentioning '" + messagePart + "' in " + r.describe());
    }

    @Test
    void goodProgramIsAccepted() throws IOException {
        VerificationReport r = verifySources(Map.of("good.Passthrough", GOOD));
        assertTrue(r.accepted(), r.describe());
        assertEquals("test.program", r.symbolicName());
        assertEquals("1.0.0", r.version());
        assertEquals("test.program 1.0.0: accepted", r.describe());
    }

    @Test
    void goodProgramIsAcceptedFromAStream() throws IOException {
        Path jar = jarOf(Map.of("good.Passthrough", GOOD), ProgramJars.manifest("test.program"));
        try (InputStream in = Files.newInputStream(jar)) {
            assertTrue(verifier.verify(in, Files.size(jar)).accepted());
        }
        try (InputStream in = Files.newInputStream(jar)) {
            assertRejected(verifier.verify(in, Files.size(jar) + 10), Code.CORRUPT_ARCHIVE, "declared as");
        }
    }

    static Stream<Arguments> hostile() {
        return Stream.of(
            Arguments.of("reflection", "String.class.getDeclaredMethods()[0].invoke(null);",
                "calls java.lang.Class.getDeclaredMethods()[Ljava/lang/reflect/Method;: not allowed (reflection)"),
            Arguments.of("Class.forName", "Class.forName(\"io.pando.unit.impl.Secret\");",
                "calls java.lang.Class.forName(Ljava/lang/String;)Ljava/lang/Class;: not allowed (reflection)"),
            Arguments.of("class loading", "new java.net.URLClassLoader(new java.net.URL[0]).loadClass(\"x\");",
                "instantiates java.net.URLClassLoader: not allowed (sockets)"),
            Arguments.of("thread creation", "new Thread(() -> { while (true) { } }).start();",
                "instantiates java.lang.Thread: not allowed (threads)"),
            Arguments.of("file access", "new java.io.FileInputStream(\"/etc/passwd\").read();",
                "instantiates java.io.FileInputStream: not allowed (files and streams)"),
            Arguments.of("Files.readAllBytes", "java.nio.file.Files.readAllBytes(java.nio.file.Path.of(\"/etc/passwd\"));",
                "calls java.nio.file.Files.readAllBytes(Ljava/nio/file/Path;)[B: not allowed (files)"),
            Arguments.of("socket", "new java.net.Socket(\"localhost\", 22).getOutputStream().write(1);",
                "instantiates java.net.Socket: not allowed (sockets)"),
            Arguments.of("ProcessBuilder", "new ProcessBuilder(\"sh\", \"-c\", \"reboot\").start();",
                "instantiates java.lang.ProcessBuilder: not allowed (process control)"),
            Arguments.of("System.exit", "System.exit(1);",
                PROCESS + " calls java.lang.System.exit(I)V: not allowed (process control)"),
            Arguments.of("Runtime.halt", "Runtime.getRuntime().halt(1);",
                "calls java.lang.Runtime.halt(I)V: not allowed (process control)"),
            Arguments.of("System.loadLibrary", "System.loadLibrary(\"evil\");",
                "calls java.lang.System.loadLibrary(Ljava/lang/String;)V: not allowed (native code)"),
            Arguments.of("Unsafe", "Object u = sun.misc.Unsafe.class; System.out.println(u);",
                "uses sun.misc.Unsafe: not allowed (JDK internals)"),
            Arguments.of("MethodHandles.lookup", "java.lang.invoke.MethodHandles.lookup();",
                "calls java.lang.invoke.MethodHandles.lookup()Ljava/lang/invoke/MethodHandles$Lookup;: not allowed "
                    + "(method handles)"),
            Arguments.of("ObjectInputStream", "new java.io.ObjectInputStream(null).readObject();",
                "instantiates java.io.ObjectInputStream: not allowed (serialization)"),
            Arguments.of("System.out", "System.out.println(\"hello\");",
                "reads java.lang.System.out: not allowed (console)"),
            Arguments.of("method reference to a denied method", "Runnable r = System::gc; r.run();",
                "refers to java.lang.System.gc()V: not allowed (process control)"),
            Arguments.of("parallel stream (inherited member)", "new ArrayList<String>().parallelStream().count();",
                "calls java.util.ArrayList.parallelStream()Ljava/util/stream/Stream;: not allowed (threads (common pool))"),
            Arguments.of("executor", "java.util.concurrent.Executors.newSingleThreadExecutor();",
                "not allowed (threads)"),
            Arguments.of("system property", "Integer.getInteger(\"x\");",
                "calls java.lang.Integer.getInteger(Ljava/lang/String;)Ljava/lang/Integer;: not allowed (system properties)"),
            Arguments.of("direct memory", "ByteBuffer.allocateDirect(1 << 30);",
                "not allowed (off-heap memory)"),
            Arguments.of("OSGi framework", "Object o = org.osgi.framework.FrameworkUtil.class;",
                "uses org.osgi.framework.FrameworkUtil: not allowed (not on the allowlist)"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("hostile")
    void hostileProgramIsRejectedWithItsReason(String name, String body, String expected) throws IOException {
        Map<String, String> sources = Map.of("test.Evil", ProgramJars.program("test.Evil", body));
        if (body.contains("org.osgi.framework")) {
            // compile against a stand-in: the verifier sees only the reference
            sources = new HashMap<>(sources);
            sources.put("org.osgi.framework.FrameworkUtil", "package org.osgi.framework; public class FrameworkUtil {}");
            Map<String, byte[]> classes = ProgramJars.compile(Files.createTempDirectory(tmp, "c"), sources);
            classes.remove("org/osgi/framework/FrameworkUtil.class");
            VerificationReport r = verifier.verify(ProgramJars.jar(tmp.resolve("osgi.jar"),
                ProgramJars.manifest("test.program"), classes));
            assertRejected(r, Code.FORBIDDEN_REFERENCE, expected);
            return;
        }
        VerificationReport r = verifySources(sources);
        assertRejected(r, Code.FORBIDDEN_REFERENCE, expected);
        assertTrue(r.findings().stream().allMatch(f -> f.where().startsWith("test.Evil")), r.describe());
    }

    @Test
    void everyReasonIsReportedNotJustTheFirst() throws IOException {
        VerificationReport r = verifySources(Map.of("test.Evil", ProgramJars.program("test.Evil",
            "if (in.length() == 0) System.exit(1); new Thread(() -> {}).start(); Class.forName(\"x\");")));
        assertRejected(r, Code.FORBIDDEN_REFERENCE, "java.lang.System.exit");
        assertRejected(r, Code.FORBIDDEN_REFERENCE, "java.lang.Thread");
        assertRejected(r, Code.FORBIDDEN_REFERENCE, "java.lang.Class.forName");
        assertTrue(r.findings().size() >= 3, r.describe());
        assertTrue(r.describe().startsWith("test.program 1.0.0: rejected, "), r.describe());
    }

    @Test
    void deniedReferenceInAStaticInitializerIsFound() throws IOException {
        VerificationReport r = verifySources(Map.of("test.Sneaky", """
            package test;
            public final class Sneaky { static final String HOME = System.getenv("HOME"); }
            """));
        assertRejected(r, Code.FORBIDDEN_REFERENCE,
            "test.Sneaky.<clinit>()V calls java.lang.System.getenv(Ljava/lang/String;)Ljava/lang/String;: "
                + "not allowed (environment)");
    }

    @Test
    void subclassOfADeniedClassIsRejected() throws IOException {
        VerificationReport r = verifySources(Map.of("test.MyThread", """
            package test;
            public final class MyThread extends Thread { @Override public void run() { } }
            """));
        assertRejected(r, Code.FORBIDDEN_REFERENCE, "test.MyThread extends java.lang.Thread: not allowed (threads)");
    }

    @Test
    void finalizerIsRejected() throws IOException {
        VerificationReport r = verifySources(Map.of("test.Finalizing", """
            package test;
            public final class Finalizing { @SuppressWarnings("removal") @Override protected void finalize() { } }
            """));
        assertRejected(r, Code.FINALIZER, "test.Finalizing.finalize()V overrides Object.finalize()");
    }

    @Test
    void classInAnApiPackageIsASplitPackage() throws IOException {
        VerificationReport r = verifySources(Map.of("io.pando.api.program.Sneaky",
            "package io.pando.api.program; public final class Sneaky { }"));
        assertRejected(r, Code.FORBIDDEN_PACKAGE, "split package");
    }

    @Test
    void classInAJavaPackageIsRejected() throws IOException {
        Map<String, byte[]> classes = Map.of("java/lang/Evil.class", new byte[] {(byte) 0xca, (byte) 0xfe});
        Path jar = ProgramJars.jar(tmp.resolve("java.jar"), ProgramJars.manifest("test.program"), classes);
        assertRejected(verifier.verify(jar), Code.BAD_CLASS, "java/lang/Evil.class cannot be parsed");
        Map<String, byte[]> good = ProgramJars.compile(tmp.resolve("j"), Map.of("x.Y", "package x; public class Y {}"));
        Map<String, byte[]> moved = new LinkedHashMap<>();
        moved.put("Y.class", good.get("x/Y.class"));
        assertRejected(verifier.verify(ProgramJars.jar(tmp.resolve("moved.jar"), ProgramJars.manifest("t"), moved)),
            Code.BAD_CLASS, "declares class x.Y: the name must match the entry");
    }

    // ---- manifest ----

    private VerificationReport verifyGoodWith(Manifest m) throws IOException {
        return verifier.verify(jarOf(Map.of("good.Passthrough", GOOD), m));
    }

    @Test
    void importOfJavaIoIsRejected() throws IOException {
        Manifest m = ProgramJars.manifest("test.program");
        m.getMainAttributes().putValue("Import-Package", "io.pando.api.program;version=\"[1.1,2)\",java.io");
        assertRejected(verifyGoodWith(m), Code.FORBIDDEN_IMPORT, "Import-Package java.io: not allowed");
    }

    @Test
    void importOfTheOsgiFrameworkIsRejected() throws IOException {
        Manifest m = ProgramJars.manifest("test.program");
        m.getMainAttributes().putValue("Import-Package",
            "io.pando.api.program;version=\"[1.1,2)\",org.osgi.framework;version=\"[1.10,2)\"");
        assertRejected(verifyGoodWith(m), Code.FORBIDDEN_IMPORT, "Import-Package org.osgi.framework: not allowed");
    }

    @Test
    void importOfTheApiOutsideMajorOneIsRejected() throws IOException {
        Manifest m = ProgramJars.manifest("test.program");
        m.getMainAttributes().putValue("Import-Package", "io.pando.api.program;version=1.1,io.pando.api.session");
        VerificationReport r = verifyGoodWith(m);
        assertRejected(r, Code.FORBIDDEN_IMPORT, "io.pando.api.program;version=\"1.1\": the version range must lie");
        assertRejected(r, Code.FORBIDDEN_IMPORT, "io.pando.api.session;version=(none)");
    }

    @Test
    void requireBundleIsRejected() throws IOException {
        Manifest m = ProgramJars.manifest("test.program");
        m.getMainAttributes().putValue("Require-Bundle", "org.apache.felix.scr");
        assertRejected(verifyGoodWith(m), Code.FORBIDDEN_HEADER, "Require-Bundle: org.apache.felix.scr: not allowed");
    }

    @Test
    void nativeCodeActivatorAndFragmentAreRejected() throws IOException {
        Manifest m = ProgramJars.manifest("test.program");
        m.getMainAttributes().putValue("Bundle-NativeCode", "lib/evil.so;osname=Linux");
        m.getMainAttributes().putValue("Bundle-Activator", "good.Passthrough");
        m.getMainAttributes().putValue("Fragment-Host", "io.pando.unit");
        m.getMainAttributes().putValue("DynamicImport-Package", "*");
        VerificationReport r = verifyGoodWith(m);
        assertRejected(r, Code.FORBIDDEN_HEADER, "Bundle-NativeCode: lib/evil.so;osname=Linux: not allowed (native code)");
        assertRejected(r, Code.FORBIDDEN_HEADER, "Bundle-Activator");
        assertRejected(r, Code.FORBIDDEN_HEADER, "Fragment-Host");
        assertRejected(r, Code.FORBIDDEN_HEADER, "DynamicImport-Package");
        assertEquals(4, r.findings().size(), r.describe());
    }

    @Test
    void missingManifestIsRejected() throws IOException {
        assertRejected(verifier.verify(jarOf(Map.of("good.Passthrough", GOOD), null)), Code.MISSING_MANIFEST,
            "no META-INF/MANIFEST.MF");
    }

    @Test
    void missingSymbolicNameIsRejected() throws IOException {
        Manifest m = ProgramJars.manifest("x");
        m.getMainAttributes().remove(new java.util.jar.Attributes.Name("Bundle-SymbolicName"));
        m.getMainAttributes().putValue("Bundle-ManifestVersion", "1");
        VerificationReport r = verifyGoodWith(m);
        assertRejected(r, Code.BAD_MANIFEST, "Bundle-SymbolicName is missing");
        assertRejected(r, Code.BAD_MANIFEST, "Bundle-ManifestVersion must be 2, is '1'");
        assertEquals("", r.symbolicName());
    }

    @Test
    void exportOfAForeignPackageIsRejectedButOwnPackageIsAllowed() throws IOException {
        Manifest m = ProgramJars.manifest("test.program");
        m.getMainAttributes().putValue("Export-Package", "good;version=\"1.0.0\"");
        m.getMainAttributes().putValue("Import-Package",
            "io.pando.api.program;version=\"[1.1,2)\",good;version=\"[1.0,2)\",javax.crypto");
        assertTrue(verifyGoodWith(m).accepted());
        m.getMainAttributes().putValue("Export-Package", "io.pando.api.program;version=\"1.2.0\",other.pkg");
        VerificationReport r = verifyGoodWith(m);
        assertRejected(r, Code.FORBIDDEN_EXPORT, "Export-Package io.pando.api.program: not allowed");
        assertRejected(r, Code.FORBIDDEN_EXPORT, "Export-Package other.pkg: not allowed (the bundle has no classes");
    }

    // ---- archive ----

    @Test
    void randomBytesAreNotAJar() throws IOException {
        byte[] junk = new byte[4096];
        new Random(1).nextBytes(junk);
        VerificationReport r = verifier.verify(new ByteArrayInputStream(junk), junk.length);
        assertRejected(r, Code.NOT_A_JAR, "not a jar");
        assertEquals(1, r.findings().size());
    }

    @Test
    void truncatedJarIsCorrupt() throws IOException {
        byte[] jar = Files.readAllBytes(jarOf(Map.of("good.Passthrough", GOOD), ProgramJars.manifest("t")));
        byte[] half = java.util.Arrays.copyOf(jar, jar.length / 2);
        assertRejected(verifier.verify(new ByteArrayInputStream(half), -1), Code.CORRUPT_ARCHIVE, "corrupt jar");
    }

    @Test
    void zipBombIsRejectedWithoutInflatingIt() throws IOException {
        Path bomb = tmp.resolve("bomb.jar");
        try (OutputStream os = Files.newOutputStream(bomb); ZipOutputStream zip = new ZipOutputStream(os)) {
            zip.putNextEntry(new ZipEntry("META-INF/MANIFEST.MF"));
            ProgramJars.manifest("bomb").write(zip);
            zip.putNextEntry(new ZipEntry("zeros.bin"));
            byte[] zeros = new byte[1 << 20];
            for (int i = 0; i < 100; i++) {
                zip.write(zeros);
            }
            zip.closeEntry();
        }
        assertTrue(Files.size(bomb) < 200_000, "the bomb compresses: " + Files.size(bomb));
        VerificationReport r = verifier.verify(bomb);
        assertRejected(r, Code.COMPRESSION_RATIO, "zeros.bin inflates more than 100 times");
        // with a lax ratio the total limit stops it
        VerificationReport lax = new JarProgramVerifier(new VerificationLimits(8L << 20, 32L << 20, 4096, 100_000),
            Allowlist.builtIn()).verify(bomb);
        assertRejected(lax, Code.TOO_LARGE, "inflate to more than 33554432 bytes");
    }

    @Test
    void oversizedJarIsRejected() throws IOException {
        byte[] big = new byte[9 << 20];
        new Random(2).nextBytes(big);
        Path jar = ProgramJars.jar(tmp.resolve("big.jar"), ProgramJars.manifest("big"), Map.of("big.bin", big));
        assertRejected(verifier.verify(jar), Code.TOO_LARGE, "the limit is 8388608 bytes");
        try (InputStream in = Files.newInputStream(jar)) {
            assertRejected(verifier.verify(in, -1), Code.TOO_LARGE, "larger than the limit of 8388608 bytes");
        }
        assertRejected(verifier.verify(InputStream.nullInputStream(), 1L << 30), Code.TOO_LARGE,
            "declared as 1073741824 bytes");
        VerificationReport many = new JarProgramVerifier(new VerificationLimits(8L << 20, 32L << 20, 3, 100),
            Allowlist.builtIn()).verify(jarOf(Map.of("good.Passthrough", GOOD), ProgramJars.manifest("t")));
        assertRejected(many, Code.TOO_MANY_ENTRIES, "the limit is 3");
    }

    @Test
    void pathTraversalNestedJarAndNativeLibraryAreRejected() throws IOException {
        Map<String, byte[]> entries = new LinkedHashMap<>();
        entries.put("../../etc/cron.d/evil", new byte[] {1});
        entries.put("/abs/path.txt", new byte[] {1});
        entries.put("lib/evil.so", new byte[] {1});
        entries.put("lib/evil.dll", new byte[] {1});
        entries.put("lib/inner.jar", new byte[] {1});
        VerificationReport r = verifier.verify(ProgramJars.jar(tmp.resolve("t.jar"), ProgramJars.manifest("t"), entries));
        assertRejected(r, Code.UNSAFE_ENTRY_NAME, "'../../etc/cron.d/evil'");
        assertRejected(r, Code.UNSAFE_ENTRY_NAME, "'/abs/path.txt'");
        assertRejected(r, Code.FORBIDDEN_ENTRY, "lib/evil.so is a native library");
        assertRejected(r, Code.FORBIDDEN_ENTRY, "lib/evil.dll is a native library");
        assertRejected(r, Code.FORBIDDEN_ENTRY, "lib/inner.jar is a nested archive");
    }

    // ---- the real example ----

    @Test
    void theAesGcmExampleIsAccepted() throws IOException {
        String path = System.getProperty("pando.ee.example.jar", "");
        assumeTrue(!path.isEmpty() && Files.isRegularFile(Path.of(path)), "build ep-plugins/aes-gcm first");
        VerificationReport r = verifier.verify(Path.of(path));
        System.out.println(r.describe());
        assertTrue(r.accepted(), r.describe());
        assertEquals("io.pando.ep.aesgcm", r.symbolicName());
    }

    @Test
    void reportRequiresFindingsExactlyWhenRejected() {
        Finding f = new Finding(Code.NOT_A_JAR, "jar", "x");
        org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
            () -> new VerificationReport(true, "", "", java.util.List.of(f)));
        org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
            () -> new VerificationReport(false, "", "", java.util.List.of()));
    }
}
