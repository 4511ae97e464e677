package io.pando.ee.sandbox.testing;

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
 * Program bundles for the tests, made at test time: one class compiled with javac against the program API, a
 * manifest written by hand, and a Declarative Services descriptor that registers the class as an
 * {@code ActiveProgram} service with property {@code name} (prototype scope).
 */
public final class ProgramJars {

    /** The imports bnd writes for a program using the program and session API. */
    public static final String API_IMPORTS =
        "io.pando.api.program;version=\"[1.1,2)\",io.pando.api.session;version=\"[1.0,2)\"";

    private ProgramJars() {
    }

    /** A program bundle to build. */
    public static final class Spec {
        public final String className;
        public final String source;
        String symbolicName = "test.program";
        String version = "1.0.0";
        public String programName = "test";
        String importPackage = API_IMPORTS;
        String scope = "prototype";

        private Spec(String className, String source) {
            this.className = className;
            this.source = source;
        }

        public Spec name(String n) {
            programName = n;
            return this;
        }

        public Spec symbolicName(String n) {
            symbolicName = n;
            return this;
        }

        /** Sets the Bundle-Version (default 1.0.0): a higher one upgrades a stored program of the same name. */
        public Spec version(String v) {
            version = v;
            return this;
        }

        public Spec imports(String i) {
            importPackage = i;
            return this;
        }

        public Spec scope(String s) {
            scope = s;
            return this;
        }
    }

    /** @return a program class {@code className} whose process method runs {@code body}; {@code members} adds fields and methods */
    public static Spec program(String className, String body, String members) {
        int dot = className.lastIndexOf('.');
        String src = "package " + className.substring(0, dot) + ";\n"
            + "import io.pando.api.program.*;\n"
            + "import io.pando.api.session.*;\n"
            + "import java.nio.ByteBuffer;\n"
            + "import java.nio.charset.StandardCharsets;\n"
            + "import java.util.*;\n"
            + "public final class " + className.substring(dot + 1) + " implements ActiveProgram {\n"
            + "  " + members + "\n"
            + "  @Override public void process(Datagram in, ProgramContext ctx) throws Exception {\n"
            + "    " + body + "\n"
            + "  }\n"
            + "  static String text(Datagram in) { return new String(in.copyData(), StandardCharsets.UTF_8); }\n"
            + "  static ByteBuffer bytes(String s) { return ByteBuffer.wrap(s.getBytes(StandardCharsets.UTF_8)); }\n"
            + "}\n";
        return new Spec(className, src);
    }

    /** @return the jar holding the program API on the test class path */
    public static Path apiJar() {
        try {
            return Path.of(ActiveProgram.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Compiles and packs {@code spec} into {@code dir/<symbolicName>.jar}. */
    public static Path build(Path dir, Spec spec) throws IOException {
        Path work = Files.createTempDirectory(dir, "javac");
        Path src = work.resolve("src").resolve(spec.className.replace('.', '/') + ".java");
        Path out = Files.createDirectories(work.resolve("classes"));
        Files.createDirectories(src.getParent());
        Files.writeString(src, spec.source);
        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int rc = javac.run(null, null, err, "-d", out.toString(), "-classpath", apiJar().toString(),
            "--release", "17", "-nowarn", "-Xlint:none", src.toString());
        if (rc != 0) {
            throw new IllegalStateException("javac failed:\n" + err.toString(StandardCharsets.UTF_8) + "\n"
                + spec.source);
        }
        Map<String, byte[]> entries = new LinkedHashMap<>();
        String xml = "OSGI-INF/" + spec.className + ".xml";
        entries.put(xml, component(spec).getBytes(StandardCharsets.UTF_8));
        try (Stream<Path> files = Files.walk(out)) {
            for (Path p : (Iterable<Path>) files.filter(Files::isRegularFile).sorted()::iterator) {
                entries.put(out.relativize(p).toString().replace('\\', '/'), Files.readAllBytes(p));
            }
        }
        Manifest m = new Manifest();
        Attributes a = m.getMainAttributes();
        a.put(Attributes.Name.MANIFEST_VERSION, "1.0");
        a.putValue("Bundle-ManifestVersion", "2");
        a.putValue("Bundle-SymbolicName", spec.symbolicName);
        a.putValue("Bundle-Version", spec.version);
        a.putValue("Import-Package", spec.importPackage);
        a.putValue("Service-Component", xml);
        a.putValue("Require-Capability", "osgi.extender;filter:=\"(&(osgi.extender=osgi.component)(version>=1.3.0)"
            + "(!(version>=2.0.0)))\",osgi.ee;filter:=\"(&(osgi.ee=JavaSE)(version=17))\"");
        Path jar = dir.resolve(spec.symbolicName + ".jar");
        try (OutputStream os = Files.newOutputStream(jar); ZipOutputStream zip = new ZipOutputStream(os)) {
            zip.putNextEntry(new ZipEntry("META-INF/MANIFEST.MF"));
            m.write(zip);
            zip.closeEntry();
            for (Map.Entry<String, byte[]> e : entries.entrySet()) {
                zip.putNextEntry(new ZipEntry(e.getKey()));
                zip.write(e.getValue());
                zip.closeEntry();
            }
        }
        return jar;
    }

    private static String component(Spec spec) {
        List<String> lines = new ArrayList<>();
        lines.add("<?xml version=\"1.0\" encoding=\"UTF-8\"?>");
        lines.add("<scr:component xmlns:scr=\"http://www.osgi.org/xmlns/scr/v1.3.0\" name=\"" + spec.className + "\">");
        lines.add("  <property name=\"name\" type=\"String\" value=\"" + spec.programName + "\"/>");
        lines.add("  <service scope=\"" + spec.scope + "\">");
        lines.add("    <provide interface=\"io.pando.api.program.ActiveProgram\"/>");
        lines.add("  </service>");
        lines.add("  <implementation class=\"" + spec.className + "\"/>");
        lines.add("</scr:component>");
        return String.join("\n", lines) + "\n";
    }
}
