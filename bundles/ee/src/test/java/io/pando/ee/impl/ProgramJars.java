package io.pando.ee.impl;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pando.api.program.ActiveProgram;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.StringWriter;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.jar.Attributes;
import java.util.jar.Manifest;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import javax.tools.JavaCompiler;
import javax.tools.ToolProvider;

/** Builds program bundles for the tests: compiles Java sources against the program API and jars them. */
final class ProgramJars {

    private ProgramJars() {
    }

    /** @return the jar (or directory) holding the program API on the test class path */
    static Path apiJar() {
        try {
            return Path.of(ActiveProgram.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * Compiles sources into class files.
     *
     * @param dir a scratch directory
     * @param sources class name (dotted) to source text
     * @return entry name (a/b/C.class) to bytes, nested classes included
     */
    static Map<String, byte[]> compile(Path dir, Map<String, String> sources) throws IOException {
        Path src = Files.createDirectories(dir.resolve("src"));
        Path out = Files.createDirectories(dir.resolve("classes"));
        List<String> args = new java.util.ArrayList<>(List.of("-d", out.toString(), "-classpath",
            apiJar().toString(), "-nowarn", "-XDsuppressNotes", "-Xlint:none"));
        for (Map.Entry<String, String> s : sources.entrySet()) {
            Path file = src.resolve(s.getKey().replace('.', '/') + ".java");
            Files.createDirectories(file.getParent());
            Files.writeString(file, s.getValue());
            args.add(file.toString());
        }
        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        StringWriter log = new StringWriter();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int rc = javac.run(null, null, err, args.toArray(String[]::new));
        assertTrue(rc == 0, "javac failed: " + err + log);
        Map<String, byte[]> classes = new LinkedHashMap<>();
        try (Stream<Path> files = Files.walk(out)) {
            for (Path p : (Iterable<Path>) files.filter(Files::isRegularFile).sorted()::iterator) {
                classes.put(out.relativize(p).toString().replace('\\', '/'), Files.readAllBytes(p));
            }
        }
        return classes;
    }

    /** @return a program manifest as bnd would write it for a bundle using the program and session API */
    static Manifest manifest(String symbolicName) {
        Manifest m = new Manifest();
        Attributes a = m.getMainAttributes();
        a.put(Attributes.Name.MANIFEST_VERSION, "1.0");
        a.putValue("Bundle-ManifestVersion", "2");
        a.putValue("Bundle-SymbolicName", symbolicName);
        a.putValue("Bundle-Version", "1.0.0");
        a.putValue("Import-Package", "io.pando.api.program;version=\"[1.1,2)\",io.pando.api.session;version=\"[1.0,2)\"");
        return m;
    }

    /**
     * Writes a jar: the manifest first (if any), then the entries, deflated.
     */
    static Path jar(Path file, Manifest manifest, Map<String, byte[]> entries) throws IOException {
        try (OutputStream os = Files.newOutputStream(file); ZipOutputStream zip = new ZipOutputStream(os)) {
            if (manifest != null) {
                zip.putNextEntry(new ZipEntry("META-INF/MANIFEST.MF"));
                manifest.write(zip);
                zip.closeEntry();
            }
            for (Map.Entry<String, byte[]> e : entries.entrySet()) {
                zip.putNextEntry(new ZipEntry(e.getKey()));
                zip.write(e.getValue());
                zip.closeEntry();
            }
        }
        return file;
    }

    /** @return the source of a program class {@code test.Evil} whose process method runs {@code body} */
    static String program(String className, String body) {
        int dot = className.lastIndexOf('.');
        return "package " + className.substring(0, dot) + ";\n"
            + "import io.pando.api.program.*;\n"
            + "import java.nio.ByteBuffer;\n"
            + "import java.util.*;\n"
            + "public final class " + className.substring(dot + 1) + " implements ActiveProgram {\n"
            + "  @Override public void process(Datagram in, ProgramContext ctx) throws Exception {\n"
            + "    " + body + "\n"
            + "    ctx.emit(in.flow(), in.data());\n"
            + "  }\n"
            + "}\n";
    }
}
