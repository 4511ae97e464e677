package io.pando.ee.impl;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.jar.Attributes;
import java.util.jar.Manifest;

/** Builds real DS program bundles (classes compiled against the API, a component descriptor) for the store tests. */
final class ProgramBundles {

    static final String EXTENDER = "osgi.extender;filter:=\"(&(osgi.extender=osgi.component)(version>=1.3.0)"
        + "(!(version>=2.0.0)))\"";
    static final String API_IMPORT = "io.pando.api.program;version=\"[1.1,2)\"";

    private final Path dir;
    private int n;

    ProgramBundles(Path dir) {
        this.dir = dir;
    }

    /** @return the source of an echo program class */
    static String echo(String className, String comment) {
        int dot = className.lastIndexOf('.');
        return "package " + className.substring(0, dot) + ";\n"
            + "import io.pando.api.program.*;\n"
            + "/** " + comment + " */\n"
            + "public final class " + className.substring(dot + 1) + " implements ActiveProgram {\n"
            + "  @Override public void process(Datagram in, ProgramContext ctx) { ctx.emit(in.flow(), in.data()); }\n"
            + "}\n";
    }

    /** @return a DS descriptor registering {@code className} as a prototype ActiveProgram named {@code name} */
    static String descriptor(String className, String name) {
        return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
            + "<scr:component xmlns:scr=\"http://www.osgi.org/xmlns/scr/v1.3.0\" name=\"" + className + "\""
            + " configuration-policy=\"ignore\">\n"
            + "  <property name=\"name\" type=\"String\" value=\"" + name + "\"/>\n"
            + "  <service scope=\"prototype\"><provide interface=\"io.pando.api.program.ActiveProgram\"/></service>\n"
            + "  <implementation class=\"" + className + "\"/>\n"
            + "</scr:component>\n";
    }

    /** A program bundle {@code bsn} {@code version} with one component registering program {@code name}. */
    Path program(String bsn, String version, String name) throws IOException {
        return program(bsn, version, name, "v" + version);
    }

    /** As {@link #program(String, String, String)}; {@code variant} changes the bytes, not the version. */
    Path program(String bsn, String version, String name, String variant) throws IOException {
        String cls = bsn + ".Echo";
        Manifest m = manifest(bsn, version);
        m.getMainAttributes().putValue("Service-Component", "OSGI-INF/" + cls + ".xml");
        m.getMainAttributes().putValue("Require-Capability", EXTENDER);
        Map<String, byte[]> entries = new LinkedHashMap<>(classes(cls, echo(cls, variant)));
        entries.put("OSGI-INF/" + cls + ".xml", descriptor(cls, name).getBytes(StandardCharsets.UTF_8));
        return jar(m, entries);
    }

    /** @return compiled classes of one source */
    Map<String, byte[]> classes(String className, String source) throws IOException {
        return ProgramJars.compile(Files.createTempDirectory(dir, "c"), Map.of(className, source));
    }

    /** @return a manifest of a program bundle importing the program API */
    static Manifest manifest(String bsn, String version) {
        Manifest m = new Manifest();
        Attributes a = m.getMainAttributes();
        a.put(Attributes.Name.MANIFEST_VERSION, "1.0");
        a.putValue("Bundle-ManifestVersion", "2");
        a.putValue("Bundle-SymbolicName", bsn);
        a.putValue("Bundle-Version", version);
        a.putValue("Import-Package", API_IMPORT);
        return m;
    }

    Path jar(Manifest m, Map<String, byte[]> entries) throws IOException {
        return ProgramJars.jar(dir.resolve("program-" + (++n) + ".jar"), m, entries);
    }
}
