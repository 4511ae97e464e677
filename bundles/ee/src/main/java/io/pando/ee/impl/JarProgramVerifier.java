package io.pando.ee.impl;

import io.pando.ee.api.Finding;
import io.pando.ee.api.Finding.Code;
import io.pando.ee.api.ProgramVerifier;
import io.pando.ee.api.VerificationLimits;
import io.pando.ee.api.VerificationReport;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.jar.Attributes;
import java.util.jar.Manifest;
import java.util.zip.ZipEntry;
import java.util.zip.ZipException;
import java.util.zip.ZipFile;
import org.objectweb.asm.ClassReader;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/**
 * Verifies uploaded program bundles: archive limits, then the manifest, then every class with
 * {@link BytecodeScanner}. Every problem found is reported; a broken archive (not a jar, corrupt, over a size
 * limit) stops verification before the manifest and classes, since nothing in it can be trusted.
 *
 * <p>Plain Java: construct it with {@link #JarProgramVerifier()} outside OSGi. As a component it takes its limits
 * from the {@code io.pando.ee.verifier} configuration.
 */
@Component(service = ProgramVerifier.class, configurationPid = "io.pando.ee.verifier")
@Designate(ocd = JarProgramVerifier.Config.class)
public final class JarProgramVerifier implements ProgramVerifier {

    /** Limits of upload verification. */
    @ObjectClassDefinition(name = "Pando program verifier",
        description = "Limits an uploaded active-program bundle must keep before its classes are scanned")
    public @interface Config {
        @AttributeDefinition(name = "Largest jar (bytes)", description = "Largest program bundle, compressed")
        long maxJarBytes() default 8388608L;

        @AttributeDefinition(name = "Largest uncompressed content (bytes)",
            description = "Largest sum of all entries, counted while inflating")
        long maxUncompressedBytes() default 33554432L;

        @AttributeDefinition(name = "Most entries", description = "Most files and directories in the jar")
        int maxEntries() default 4096;

        @AttributeDefinition(name = "Largest compression ratio",
            description = "Largest uncompressed/compressed ratio of one entry over 64 KiB")
        int maxCompressionRatio() default 100;
    }

    static final String MANIFEST = "META-INF/MANIFEST.MF";

    /** Headers a program may not use, and why. */
    private static final Map<String, String> FORBIDDEN_HEADERS = new LinkedHashMap<>();

    static {
        FORBIDDEN_HEADERS.put("Require-Bundle", "programs import packages of the program API only");
        FORBIDDEN_HEADERS.put("DynamicImport-Package", "programs import packages of the program API only");
        FORBIDDEN_HEADERS.put("Bundle-NativeCode", "native code");
        FORBIDDEN_HEADERS.put("Fragment-Host", "fragments attach to other bundles");
        FORBIDDEN_HEADERS.put("Bundle-Activator", "programs are Declarative Services components, not activators");
        FORBIDDEN_HEADERS.put("Launcher-Agent-Class", "Java agents");
        FORBIDDEN_HEADERS.put("Premain-Class", "Java agents");
        FORBIDDEN_HEADERS.put("Agent-Class", "Java agents");
    }

    private static final Set<String> NATIVE_SUFFIXES = Set.of(".so", ".dll", ".dylib", ".jnilib", ".a", ".lib");
    private static final Set<String> ARCHIVE_SUFFIXES = Set.of(".jar", ".zip", ".war", ".jmod");

    private final VerificationLimits limits;
    private final Allowlist allowlist;
    /** Direct supertypes of JDK classes, dotted; the JDK does not change while we run. */
    private final Map<String, List<String>> jdkSupertypes = new ConcurrentHashMap<>();

    /** Default limits and the built-in allowlist. */
    public JarProgramVerifier() {
        this(VerificationLimits.DEFAULT, Allowlist.builtIn());
    }

    /**
     * @param limits the size limits
     * @param allowlist the JDK classes and members programs may use
     */
    public JarProgramVerifier(VerificationLimits limits, Allowlist allowlist) {
        this.limits = limits;
        this.allowlist = allowlist;
    }

    /** @param config the component's configuration */
    @Activate
    public JarProgramVerifier(Config config) {
        this(new VerificationLimits(config.maxJarBytes(), config.maxUncompressedBytes(), config.maxEntries(),
            config.maxCompressionRatio()), Allowlist.builtIn());
    }

    /** @return the limits in force */
    @Override
    public VerificationLimits limits() {
        return limits;
    }

    @Override
    public VerificationReport verify(InputStream jar, long declaredSize) throws IOException {
        if (declaredSize > limits.maxJarBytes()) {
            return VerificationReport.of("", "", List.of(new Finding(Code.TOO_LARGE, "jar", "the jar is declared as "
                + declaredSize + " bytes, the limit is " + limits.maxJarBytes() + " bytes")));
        }
        Path tmp = Files.createTempFile("pando-program-", ".jar");
        try {
            long copied = 0;
            try (OutputStream out = Files.newOutputStream(tmp)) {
                byte[] buf = new byte[16384];
                for (int n; (n = jar.read(buf, 0, (int) Math.min(buf.length, limits.maxJarBytes() + 1 - copied))) > 0;) {
                    out.write(buf, 0, n);
                    copied += n;
                    if (copied > limits.maxJarBytes()) {
                        return VerificationReport.of("", "", List.of(new Finding(Code.TOO_LARGE, "jar",
                            "the jar is larger than the limit of " + limits.maxJarBytes() + " bytes")));
                    }
                }
            }
            VerificationReport report = verify(tmp);
            if (declaredSize >= 0 && copied != declaredSize) {
                List<Finding> all = new ArrayList<>();
                all.add(new Finding(Code.CORRUPT_ARCHIVE, "jar", "the upload has " + copied
                    + " bytes but was declared as " + declaredSize + " bytes (truncated?)"));
                all.addAll(report.findings());
                return VerificationReport.of(report.symbolicName(), report.version(), all);
            }
            return report;
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    @Override
    public VerificationReport verify(Path jar) throws IOException {
        List<Finding> findings = new ArrayList<>();
        long size = Files.size(jar);
        if (size > limits.maxJarBytes()) {
            findings.add(new Finding(Code.TOO_LARGE, "jar", "the jar has " + size + " bytes, the limit is "
                + limits.maxJarBytes() + " bytes"));
            return VerificationReport.of("", "", findings);
        }
        if (!startsLikeZip(jar)) {
            findings.add(new Finding(Code.NOT_A_JAR, "jar", "not a jar: the file does not start with a zip header"));
            return VerificationReport.of("", "", findings);
        }
        Map<String, byte[]> classes = new TreeMap<>();
        Set<String> resources = new HashSet<>();
        byte[] manifestBytes;
        try (ZipFile zip = new ZipFile(jar.toFile())) {
            if (zip.size() > limits.maxEntries()) {
                findings.add(new Finding(Code.TOO_MANY_ENTRIES, "jar", "the jar has " + zip.size()
                    + " entries, the limit is " + limits.maxEntries()));
                return VerificationReport.of("", "", findings);
            }
            manifestBytes = readEntries(zip, findings, classes, resources);
        } catch (ZipException e) {
            findings.add(new Finding(Code.CORRUPT_ARCHIVE, "jar", "corrupt jar: " + e.getMessage()));
            return VerificationReport.of("", "", findings);
        }
        if (findings.stream().anyMatch(f -> isFatal(f.code()))) {
            return VerificationReport.of("", "", findings);
        }
        Set<String> packages = new HashSet<>();
        for (String entry : classes.keySet()) {
            int slash = entry.lastIndexOf('/');
            packages.add(slash < 0 ? "" : entry.substring(0, slash).replace('/', '.'));
        }
        String[] identity = checkManifest(manifestBytes, packages, resources, findings);
        checkClasses(classes, findings);
        return VerificationReport.of(identity[0], identity[1], findings);
    }

    private static boolean isFatal(Code code) {
        return code == Code.CORRUPT_ARCHIVE || code == Code.TOO_LARGE || code == Code.COMPRESSION_RATIO
            || code == Code.TOO_MANY_ENTRIES || code == Code.NOT_A_JAR;
    }

    private static boolean startsLikeZip(Path jar) throws IOException {
        try (InputStream in = Files.newInputStream(jar)) {
            byte[] magic = in.readNBytes(4);
            return magic.length == 4 && magic[0] == 'P' && magic[1] == 'K'
                && ((magic[2] == 3 && magic[3] == 4) || (magic[2] == 5 && magic[3] == 6));
        }
    }

    /**
     * Reads every entry, counting uncompressed bytes; keeps classes and the manifest.
     *
     * @return the manifest's bytes, or null if there is none
     */
    private byte[] readEntries(ZipFile zip, List<Finding> findings, Map<String, byte[]> classes,
        Set<String> resources) throws ZipException {
        long total = 0;
        byte[] manifest = null;
        Set<String> names = new HashSet<>();
        var entries = zip.entries();
        while (entries.hasMoreElements()) {
            ZipEntry e = entries.nextElement();
            String name = e.getName();
            if (!names.add(name)) {
                findings.add(new Finding(Code.CORRUPT_ARCHIVE, name, "the entry " + name + " occurs twice"));
                continue;
            }
            checkName(name, findings);
            if (e.isDirectory()) {
                continue;
            }
            long compressed = Math.max(1, e.getCompressedSize());
            long cap = Math.max(VerificationLimits.RATIO_THRESHOLD_BYTES, compressed * limits.maxCompressionRatio());
            boolean keep = name.endsWith(".class") || name.equals(MANIFEST);
            ByteArrayOutputStream kept = keep ? new ByteArrayOutputStream() : null;
            long n = 0;
            try (InputStream in = zip.getInputStream(e)) {
                byte[] buf = new byte[16384];
                for (int r; (r = in.read(buf)) > 0;) {
                    n += r;
                    total += r;
                    if (n > cap) {
                        findings.add(new Finding(Code.COMPRESSION_RATIO, name, "the entry " + name
                            + " inflates more than " + limits.maxCompressionRatio() + " times its compressed size of "
                            + e.getCompressedSize() + " bytes (zip bomb?)"));
                        return manifest;
                    }
                    if (total > limits.maxUncompressedBytes()) {
                        findings.add(new Finding(Code.TOO_LARGE, name, "the jar's entries inflate to more than "
                            + limits.maxUncompressedBytes() + " bytes (zip bomb?), limit reached at " + name));
                        return manifest;
                    }
                    if (kept != null) {
                        kept.write(buf, 0, r);
                    }
                }
            } catch (ZipException ex) {
                findings.add(new Finding(Code.CORRUPT_ARCHIVE, name, "the entry " + name + " is corrupt: "
                    + ex.getMessage()));
                return manifest;
            } catch (IOException ex) {
                findings.add(new Finding(Code.CORRUPT_ARCHIVE, name, "the entry " + name + " cannot be read: " + ex));
                return manifest;
            }
            if (name.equals(MANIFEST)) {
                manifest = kept.toByteArray();
            } else if (name.endsWith(".class")) {
                classes.put(name, kept.toByteArray());
            } else {
                resources.add(name);
            }
        }
        return manifest;
    }

    private static void checkName(String name, List<Finding> findings) {
        String lower = name.toLowerCase(Locale.ROOT);
        boolean unsafe = name.isEmpty() || name.startsWith("/") || name.contains("\\") || name.contains("//")
            || name.indexOf(':') >= 0 || name.chars().anyMatch(c -> c < 0x20 || c == 0x7f);
        for (String segment : name.split("/")) {
            unsafe |= segment.equals("..") || segment.equals(".");
        }
        if (unsafe) {
            findings.add(new Finding(Code.UNSAFE_ENTRY_NAME, name, "unsafe entry name '" + name
                + "': absolute, '..', '.', backslash, colon, empty segment or control character"));
            return;
        }
        String base = lower.substring(lower.lastIndexOf('/') + 1);
        int dot = base.lastIndexOf('.');
        String suffix = dot < 0 ? "" : base.substring(dot);
        if (NATIVE_SUFFIXES.contains(suffix) || base.contains(".so.")) {
            findings.add(new Finding(Code.FORBIDDEN_ENTRY, name, "the entry " + name
                + " is a native library: not allowed (native code)"));
        } else if (ARCHIVE_SUFFIXES.contains(suffix)) {
            findings.add(new Finding(Code.FORBIDDEN_ENTRY, name, "the entry " + name
                + " is a nested archive: not allowed (a program is one bundle; nested jars are not scanned)"));
        } else if (base.equals("module-info.class")) {
            findings.add(new Finding(Code.FORBIDDEN_ENTRY, name, "the entry " + name
                + " is a module descriptor: not allowed (programs are bundles, not modules)"));
        } else if (name.startsWith("META-INF/versions/") && name.endsWith(".class")) {
            findings.add(new Finding(Code.FORBIDDEN_ENTRY, name, "the entry " + name
                + " is a multi-release class: not allowed (only the base classes are scanned)"));
        }
    }

    /** @return symbolic name and version, empty strings if unknown */
    private String[] checkManifest(byte[] bytes, Set<String> packages, Set<String> resources,
        List<Finding> findings) {
        String[] identity = {"", ""};
        if (bytes == null) {
            findings.add(new Finding(Code.MISSING_MANIFEST, MANIFEST, "no " + MANIFEST
                + ": a program is an OSGi bundle with Bundle-SymbolicName, Bundle-Version and Bundle-ManifestVersion 2"));
            return identity;
        }
        Attributes main;
        try {
            main = new Manifest(new ByteArrayInputStream(bytes)).getMainAttributes();
        } catch (IOException | RuntimeException e) {
            findings.add(new Finding(Code.BAD_MANIFEST, MANIFEST, "the manifest cannot be parsed: " + e.getMessage()));
            return identity;
        }
        String where = "MANIFEST.MF ";
        String mv = main.getValue("Bundle-ManifestVersion");
        if (!"2".equals(mv == null ? null : mv.strip())) {
            findings.add(new Finding(Code.BAD_MANIFEST, where + "Bundle-ManifestVersion",
                "Bundle-ManifestVersion must be 2, is " + (mv == null ? "missing" : "'" + mv + "'")));
        }
        String bsn = main.getValue("Bundle-SymbolicName");
        List<ManifestHeaders.Clause> bsnClauses = ManifestHeaders.parse(bsn);
        if (bsnClauses.size() != 1 || bsnClauses.get(0).names().size() != 1
            || !bsnClauses.get(0).names().get(0).matches("[A-Za-z0-9_-]+(\\.[A-Za-z0-9_-]+)*")) {
            findings.add(new Finding(Code.BAD_MANIFEST, where + "Bundle-SymbolicName", "Bundle-SymbolicName is "
                + (bsn == null ? "missing" : "malformed: '" + bsn + "'")));
        } else {
            identity[0] = bsnClauses.get(0).names().get(0);
        }
        String version = main.getValue("Bundle-Version");
        if (version == null || ManifestHeaders.version(version) == null || version.strip().split("\\.").length > 4) {
            findings.add(new Finding(Code.BAD_MANIFEST, where + "Bundle-Version", "Bundle-Version is "
                + (version == null ? "missing" : "malformed: '" + version + "'")));
        } else {
            identity[1] = version.strip();
        }
        for (Map.Entry<String, String> h : FORBIDDEN_HEADERS.entrySet()) {
            if (main.getValue(h.getKey()) != null) {
                findings.add(new Finding(Code.FORBIDDEN_HEADER, where + h.getKey(), h.getKey() + ": "
                    + main.getValue(h.getKey()) + ": not allowed (" + h.getValue() + ")"));
            }
        }
        String classPath = main.getValue("Bundle-ClassPath");
        if (classPath != null && !classPath.strip().equals(".")) {
            findings.add(new Finding(Code.FORBIDDEN_HEADER, where + "Bundle-ClassPath", "Bundle-ClassPath: "
                + classPath + ": not allowed (only '.': a program's classes are the bundle's own)"));
        }
        Set<String> exported = new HashSet<>();
        for (ManifestHeaders.Clause c : ManifestHeaders.parse(main.getValue("Export-Package"))) {
            for (String p : c.names()) {
                if (isReservedPackage(p)) {
                    findings.add(new Finding(Code.FORBIDDEN_EXPORT, where + "Export-Package", "Export-Package " + p
                        + ": not allowed (a package of the router or the JDK)"));
                } else if (!packages.contains(p)) {
                    findings.add(new Finding(Code.FORBIDDEN_EXPORT, where + "Export-Package", "Export-Package " + p
                        + ": not allowed (the bundle has no classes in it; a program exports only its own packages)"));
                } else {
                    exported.add(p);
                }
            }
        }
        for (ManifestHeaders.Clause c : ManifestHeaders.parse(main.getValue("Import-Package"))) {
            for (String p : c.names()) {
                checkImport(p, c.parameters().get("version"), packages, findings);
            }
        }
        checkCapabilities(main.getValue("Require-Capability"), true, findings);
        checkCapabilities(main.getValue("Provide-Capability"), false, findings);
        for (ManifestHeaders.Clause c : ManifestHeaders.parse(main.getValue("Service-Component"))) {
            for (String xml : c.names()) {
                if (!xml.startsWith("OSGI-INF/") || !xml.endsWith(".xml")
                    || (!xml.contains("*") && !resources.contains(xml))) {
                    findings.add(new Finding(Code.BAD_MANIFEST, where + "Service-Component", "Service-Component "
                        + xml + ": must name an OSGI-INF/*.xml entry of the bundle"));
                }
            }
        }
        return identity;
    }

    private void checkImport(String p, String version, Set<String> packages, List<Finding> findings) {
        String where = "MANIFEST.MF Import-Package";
        String api = p.replace('.', '/') + "/";
        if (BytecodeScanner.API_PACKAGES.contains(api)) {
            if (!ManifestHeaders.withinMajorOne(version)) {
                findings.add(new Finding(Code.FORBIDDEN_IMPORT, where, "Import-Package " + p + ";version="
                    + (version == null ? "(none)" : "\"" + version + "\"") + ": the version range must lie within "
                    + "[1,2), for example [1.1,2)"));
            }
        } else if (packages.contains(p)) {
            // the bundle's own (exported) package, imported as substitutable: resolves to the bundle itself
            return;
        } else if (!allowlist.importable(p)) {
            findings.add(new Finding(Code.FORBIDDEN_IMPORT, where, "Import-Package " + p + ": not allowed "
                + "(a program imports io.pando.api.program, io.pando.api.session and allowlisted JDK packages only)"));
        }
    }

    private static void checkCapabilities(String header, boolean require, List<Finding> findings) {
        String name = require ? "Require-Capability" : "Provide-Capability";
        for (ManifestHeaders.Clause c : ManifestHeaders.parse(header)) {
            for (String ns : c.names()) {
                String filter = c.parameters().getOrDefault("filter:", "");
                boolean ok = ns.equals("osgi.service")
                    || (require && ns.equals("osgi.ee"))
                    || (require && ns.equals("osgi.extender") && filter.contains("(osgi.extender=osgi.component)"));
                if (!ok) {
                    findings.add(new Finding(Code.FORBIDDEN_HEADER, "MANIFEST.MF " + name, name + " " + ns
                        + (filter.isEmpty() ? "" : " " + filter) + ": not allowed (a program may require osgi.ee, "
                        + "the osgi.component extender and services, and provide services)"));
                }
            }
        }
    }

    static boolean isReservedPackage(String dotted) {
        return dotted.isEmpty() || dotted.equals("java") || dotted.startsWith("java.") || dotted.startsWith("javax.")
            || dotted.startsWith("sun.") || dotted.startsWith("jdk.") || dotted.startsWith("com.sun.")
            || dotted.equals("io.pando.api") || dotted.startsWith("io.pando.api.");
    }

    private void checkClasses(Map<String, byte[]> classes, List<Finding> findings) {
        Map<String, ClassReader> readers = new LinkedHashMap<>();
        Map<String, List<String>> ownSupertypes = new HashMap<>();
        for (Map.Entry<String, byte[]> e : classes.entrySet()) {
            String entry = e.getKey();
            if (entry.startsWith("META-INF/")) {
                continue;
            }
            String expected = entry.substring(0, entry.length() - ".class".length());
            ClassReader reader;
            try {
                reader = new ClassReader(e.getValue());
                reader.getClassName();
            } catch (RuntimeException ex) {
                findings.add(new Finding(Code.BAD_CLASS, entry, "the class file " + entry + " cannot be parsed: " + ex));
                continue;
            }
            String name = reader.getClassName();
            if (!name.equals(expected)) {
                findings.add(new Finding(Code.BAD_CLASS, entry, "the class file " + entry + " declares class "
                    + BytecodeScanner.dotted(name) + ": the name must match the entry"));
                continue;
            }
            int slash = name.lastIndexOf('/');
            String pkg = slash < 0 ? "" : name.substring(0, slash).replace('/', '.');
            if (name.endsWith("package-info") || name.equals("module-info")) {
                // annotations only, no code (module-info is reported as an entry)
                if (!isReservedPackage(pkg)) {
                    continue;
                }
            }
            if (isReservedPackage(pkg)) {
                findings.add(new Finding(Code.FORBIDDEN_PACKAGE, BytecodeScanner.dotted(name), "the class "
                    + BytecodeScanner.dotted(name) + (pkg.isEmpty() ? " is in no package"
                        : " is in package " + pkg) + ": not allowed (" + (pkg.startsWith("io.pando.api")
                        ? "split package: the program API belongs to the router" : pkg.isEmpty()
                        ? "a program's classes are in its own packages" : "a package of the JDK") + ")"));
                continue;
            }
            readers.put(name, reader);
            List<String> supers = new ArrayList<>();
            if (reader.getSuperName() != null) {
                supers.add(BytecodeScanner.dotted(reader.getSuperName()));
            }
            for (String i : reader.getInterfaces()) {
                supers.add(BytecodeScanner.dotted(i));
            }
            ownSupertypes.put(BytecodeScanner.dotted(name), supers);
        }
        BytecodeScanner scanner = new BytecodeScanner(allowlist, Collections.unmodifiableSet(readers.keySet()),
            t -> ownSupertypes.containsKey(t) ? ownSupertypes.get(t) : jdkSupertypes(t));
        for (Map.Entry<String, ClassReader> e : readers.entrySet()) {
            try {
                findings.addAll(scanner.scan(e.getValue()));
            } catch (RuntimeException ex) {
                findings.add(new Finding(Code.BAD_CLASS, BytecodeScanner.dotted(e.getKey()), "the class "
                    + BytecodeScanner.dotted(e.getKey()) + " cannot be parsed: " + ex));
            }
        }
    }

    /** Direct supertypes of a JDK class from the platform class loader, without initializing it. */
    private List<String> jdkSupertypes(String dotted) {
        if (!(dotted.startsWith("java.") || dotted.startsWith("javax."))) {
            return List.of();
        }
        return jdkSupertypes.computeIfAbsent(dotted, n -> {
            try {
                Class<?> c = Class.forName(n, false, ClassLoader.getPlatformClassLoader());
                List<String> out = new ArrayList<>();
                if (c.getSuperclass() != null) {
                    out.add(c.getSuperclass().getName());
                }
                for (Class<?> i : c.getInterfaces()) {
                    out.add(i.getName());
                }
                return List.copyOf(out);
            } catch (ClassNotFoundException | LinkageError e) {
                return List.of();
            }
        });
    }
}
