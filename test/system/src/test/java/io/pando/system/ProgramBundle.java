package io.pando.system;

import io.pando.api.program.ActiveProgram;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
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

/**
 * Builds an active-program bundle at test time, as an uploader's build would: one program class compiled with
 * {@code javax.tools} against the program API ({@code pando-api} on the test class path), a Declarative Services
 * descriptor that registers it as a prototype-scoped {@link ActiveProgram} service with property {@code name}, and a
 * manifest as bnd writes one for such a bundle. Nothing of the program is loaded into the test JVM.
 *
 * <p>The jar, the sources and the class files stay in the given directory, so that a refused or misbehaving program
 * can be looked at (and uploaded again by hand) after the test.
 */
final class ProgramBundle {

    /** What a DS program bundle requires: the DS extender. */
    static final String EXTENDER = "osgi.extender;filter:=\"(&(osgi.extender=osgi.component)(version>=1.3.0)"
        + "(!(version>=2.0.0)))\"";
    /** The program API (1.1: validate and parameters) and the session API (FlowId in the signatures). */
    static final String IMPORTS = "io.pando.api.program;version=\"[1.1,2)\",io.pando.api.session;version=\"[1.0,2)\"";

    private ProgramBundle() {
    }

    /**
     * @param packageName the program's package ({@code com.example.hostile.loop}); its class is {@code Program}
     * @param members fields and helper methods of the class, Java source (may be empty)
     * @param body statements run for every datagram before the datagram is emitted unchanged; the emit after them
     *        must stay reachable (javac refuses unreachable code), so an endless loop is written with a condition
     *        javac cannot decide ({@code while (in.length() >= 0)})
     * @return the source of a program class that implements {@link ActiveProgram}
     */
    static String source(String packageName, String members, String body) {
        return "package " + packageName + ";\n"
            + "\n"
            + "import io.pando.api.program.ActiveProgram;\n"
            + "import io.pando.api.program.Datagram;\n"
            + "import io.pando.api.program.ProgramContext;\n"
            + "import java.util.ArrayList;\n"
            + "import java.util.List;\n"
            + "\n"
            + "public final class Program implements ActiveProgram {\n"
            + "\n"
            + indent(members, "    ")
            + "\n"
            + "    @Override\n"
            + "    public void process(Datagram in, ProgramContext ctx) throws Exception {\n"
            + indent(body, "        ")
            + "        ctx.emit(in.flow(), in.data());\n"
            + "    }\n"
            + "}\n";
    }

    private static String indent(String code, String prefix) {
        if (code == null || code.isBlank()) {
            return "";
        }
        StringBuilder b = new StringBuilder();
        code.strip().lines().forEach(l -> b.append(prefix).append(l).append('\n'));
        return b.toString();
    }

    /**
     * Compiles {@code source} (class {@code packageName.Program}) and writes the bundle {@code dir/NAME.jar}.
     *
     * @param dir a directory for this bundle's sources, classes and jar (created)
     * @param symbolicName the Bundle-SymbolicName
     * @param programName the program's name: the {@code name} property of its service, what session-create names
     * @return the jar
     * @throws AssertionError with javac's messages when the source does not compile (a mistake in the test)
     */
    static Path build(Path dir, String symbolicName, String programName, String packageName, String source)
        throws IOException {
        String className = packageName + ".Program";
        Map<String, byte[]> entries = new LinkedHashMap<>();
        String descriptor = "OSGI-INF/" + className + ".xml";
        entries.put(descriptor, descriptor(className, programName).getBytes(StandardCharsets.UTF_8));
        entries.putAll(compile(dir, className, source));
        Manifest m = new Manifest();
        Attributes a = m.getMainAttributes();
        a.put(Attributes.Name.MANIFEST_VERSION, "1.0");
        a.putValue("Bundle-ManifestVersion", "2");
        a.putValue("Bundle-SymbolicName", symbolicName);
        a.putValue("Bundle-Version", "1.0.0");
        a.putValue("Bundle-Name", "Pando system test program " + programName);
        a.putValue("Import-Package", IMPORTS);
        a.putValue("Require-Capability", EXTENDER);
        a.putValue("Service-Component", descriptor);
        a.putValue("Private-Package", packageName);
        return jar(dir.resolve(programName + ".jar"), m, entries);
    }

    /** @return a DS 1.3 descriptor registering {@code className} as a prototype ActiveProgram named {@code name} */
    static String descriptor(String className, String name) {
        return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
            + "<scr:component xmlns:scr=\"http://www.osgi.org/xmlns/scr/v1.3.0\" name=\"" + className + "\""
            + " configuration-policy=\"ignore\">\n"
            + "  <property name=\"name\" type=\"String\" value=\"" + name + "\"/>\n"
            + "  <service scope=\"prototype\">\n"
            + "    <provide interface=\"io.pando.api.program.ActiveProgram\"/>\n"
            + "  </service>\n"
            + "  <implementation class=\"" + className + "\"/>\n"
            + "</scr:component>\n";
    }

    /** @return the jar (or class directory) that holds the program API on the test class path */
    static Path apiJar() {
        try {
            return Path.of(ActiveProgram.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException("where is the program API? " + e, e);
        }
    }

    /** @return entry name ({@code a/b/C.class}) to bytes, nested and anonymous classes included */
    private static Map<String, byte[]> compile(Path dir, String className, String source) throws IOException {
        Path src = dir.resolve("src");
        Path out = dir.resolve("classes");
        Path file = src.resolve(className.replace('.', '/') + ".java");
        Files.createDirectories(file.getParent());
        Files.createDirectories(out);
        Files.writeString(file, source);
        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        if (javac == null) {
            throw new AssertionError("no system Java compiler: the system tests run on a JDK, not a JRE");
        }
        List<String> args = new ArrayList<>(List.of("--release", "17", "-proc:none", "-nowarn", "-XDsuppressNotes",
            "-Xlint:none", "-encoding", "UTF-8", "-classpath", apiJar().toString(), "-d", out.toString(),
            file.toString()));
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        int rc = javac.run(null, log, log, args.toArray(String[]::new));
        if (rc != 0) {
            throw new AssertionError("javac failed (" + rc + ") on " + file + ":\n"
                + log.toString(StandardCharsets.UTF_8) + "\n" + source);
        }
        Map<String, byte[]> classes = new LinkedHashMap<>();
        try (Stream<Path> files = Files.walk(out)) {
            for (Path p : (Iterable<Path>) files.filter(Files::isRegularFile).sorted()::iterator) {
                classes.put(out.relativize(p).toString().replace('\\', '/'), Files.readAllBytes(p));
            }
        }
        return classes;
    }

    /** Writes a jar: the manifest first, then the entries, deflated. */
    private static Path jar(Path file, Manifest manifest, Map<String, byte[]> entries) throws IOException {
        try (OutputStream os = Files.newOutputStream(file); ZipOutputStream zip = new ZipOutputStream(os)) {
            zip.putNextEntry(new ZipEntry("META-INF/MANIFEST.MF"));
            manifest.write(zip);
            zip.closeEntry();
            for (Map.Entry<String, byte[]> e : entries.entrySet()) {
                zip.putNextEntry(new ZipEntry(e.getKey()));
                zip.write(e.getValue());
                zip.closeEntry();
            }
        }
        return file;
    }
}
