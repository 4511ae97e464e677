package io.pando.ee.impl;

import io.pando.ee.api.Finding;
import io.pando.ee.api.InstallResult;
import io.pando.ee.api.ProgramStore;
import io.pando.ee.api.ProgramStoreException;
import io.pando.ee.api.ProgramVerifier;
import io.pando.ee.api.StoredProgram;
import io.pando.ee.api.VerificationReport;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.net.ConnectException;
import java.net.HttpURLConnection;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.net.URLConnection;
import java.net.UnknownHostException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileSystemNotFoundException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.locks.ReentrantLock;
import java.util.regex.Pattern;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.BundleException;
import org.osgi.framework.Constants;
import org.osgi.framework.InvalidSyntaxException;
import org.osgi.framework.ServiceReference;
import org.osgi.framework.Version;
import org.osgi.framework.namespace.PackageNamespace;
import org.osgi.framework.startlevel.BundleStartLevel;
import org.osgi.framework.startlevel.FrameworkStartLevel;
import org.osgi.framework.wiring.BundleCapability;
import org.osgi.framework.wiring.BundleRequirement;
import org.osgi.framework.wiring.BundleRevision;
import org.osgi.framework.wiring.BundleWiring;
import org.osgi.framework.wiring.FrameworkWiring;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/**
 * The {@link ProgramStore}: uploaded program bundles, verified, installed at {@code pando-program:NAME:VERSION},
 * started, their jars kept in a store directory with an index ({@code index.properties}) so that the store
 * survives a restart.
 *
 * <p>An install copies the upload into the store directory (a temporary file; the source may change or vanish
 * afterwards, and a download stops past the verifier's size limit), verifies the copy, and only if it is accepted
 * takes the store's lock to install and start the bundle, wait for its {@code ActiveProgram} services and check
 * their names. Any failure uninstalls the new bundle and deletes the copy; the index is written last, atomically.
 * An upgrade installs the new version before it uninstalls the old one.
 *
 * <p>On activation the store reconciles its index with the framework: bundles at {@code pando-program:}
 * locations the framework kept are adopted (the newest if an upgrade was interrupted), entries whose bundle is
 * gone are dropped, and files that belong to no entry are deleted. A program wired before the
 * {@link ProgramWiringHook} was registered (a restart) is refreshed so that it wires again under the hook.
 */
@Component(service = ProgramStore.class, configurationPid = "io.pando.ee.store", immediate = true)
@Designate(ocd = BundleProgramStore.Config.class)
public final class BundleProgramStore implements ProgramStore {

    /** Configuration of the program store. */
    @ObjectClassDefinition(name = "Pando program store",
        description = "Where uploaded active programs are kept and the limits of installing them")
    public @interface Config {
        @AttributeDefinition(name = "Store directory", description = "Directory of the program jars and the index; "
            + "${karaf.data} is Karaf's data directory. Where karaf.data is not set, the io.pando.ee bundle's data "
            + "area is used")
        String directory() default "${karaf.data}/pando/programs";

        @AttributeDefinition(name = "Most programs", description = "How many programs the store holds at most "
            + "(an upgrade does not count)")
        int maxPrograms() default 64;

        @AttributeDefinition(name = "Service wait (ms)", description = "How long a started program bundle has to "
            + "register its ActiveProgram services")
        long serviceWaitMillis() default 5000;

        @AttributeDefinition(name = "Connect timeout (ms)", description = "Time limit to connect to an http(s) URL")
        long connectTimeoutMillis() default 10000;

        @AttributeDefinition(name = "Read timeout (ms)", description = "Time limit of each read from an http(s) URL")
        long readTimeoutMillis() default 30000;

        @AttributeDefinition(name = "Download time limit (ms)", description = "Time limit of a whole download")
        long downloadTimeoutMillis() default 120000;
    }

    /**
     * The store's settings, plain.
     *
     * @param directory the store directory
     * @param maxPrograms most programs
     * @param serviceWait how long a started bundle has to register its programs
     * @param connectTimeout time limit to connect
     * @param readTimeout time limit of each read
     * @param downloadTimeout time limit of a download
     */
    record Settings(Path directory, int maxPrograms, Duration serviceWait, Duration connectTimeout,
        Duration readTimeout, Duration downloadTimeout) {
    }

    private static final Logger LOG = System.getLogger(BundleProgramStore.class.getName());
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9._-]{1,64}");
    private static final String ACTIVE_PROGRAM = DeclaredPrograms.ACTIVE_PROGRAM;

    private final BundleContext context;
    private final ProgramVerifier verifier;
    private final ProgramWiringHook wiring;
    private final Settings settings;
    private final Path dir;
    private final Clock clock = Clock.systemUTC();
    /** Serializes every change of the store (install, remove) and the reconciliation. */
    private final ReentrantLock lock = new ReentrantLock();
    /** The index as on disk; replaced, never changed in place, under {@link #lock}. */
    private volatile Map<String, StoreIndex.Entry> index = Map.of();

    /**
     * The DS constructor.
     *
     * @param context the bundle's context
     * @param verifier the upload verifier
     * @param wiring the resolver hook that confines programs: the store installs nothing without it
     * @param config the configuration
     * @throws IOException if the store directory or its index cannot be read or written
     */
    @Activate
    public BundleProgramStore(BundleContext context, @Reference(name = "verifier") ProgramVerifier verifier,
        @Reference(name = "wiring") ProgramWiringHook wiring, Config config) throws IOException {
        this(context, verifier, wiring, new Settings(directory(config.directory(), context),
            config.maxPrograms(), Duration.ofMillis(config.serviceWaitMillis()),
            Duration.ofMillis(config.connectTimeoutMillis()), Duration.ofMillis(config.readTimeoutMillis()),
            Duration.ofMillis(config.downloadTimeoutMillis())));
    }

    /**
     * Opens the store and reconciles it with the framework.
     *
     * @param context the context whose framework the programs are installed in
     * @param verifier the upload verifier
     * @param wiring the resolver hook (already registered)
     * @param settings the settings
     * @throws IOException if the store directory or its index cannot be read or written
     */
    BundleProgramStore(BundleContext context, ProgramVerifier verifier, ProgramWiringHook wiring, Settings settings)
        throws IOException {
        this.context = Objects.requireNonNull(context, "context");
        this.verifier = Objects.requireNonNull(verifier, "verifier");
        this.wiring = Objects.requireNonNull(wiring, "wiring");
        this.settings = settings;
        if (settings.maxPrograms() < 1 || settings.serviceWait().isNegative()) {
            throw new IllegalArgumentException("io.pando.ee.store: maxPrograms must be at least 1 and serviceWaitMillis "
                + "not negative, got " + settings.maxPrograms() + " and " + settings.serviceWait().toMillis());
        }
        this.dir = settings.directory().toAbsolutePath();
        Files.createDirectories(dir);
        lock.lock();
        try {
            reconcile();
        } finally {
            lock.unlock();
        }
    }

    /** Resolves the configured directory: {@code ${karaf.data}} substituted, else the bundle's data area. */
    static Path directory(String configured, BundleContext context) {
        String d = configured == null ? "" : configured.strip();
        if (d.contains("${karaf.data}")) {
            String data = context.getProperty("karaf.data");
            d = data == null || data.isBlank() ? "" : d.replace("${karaf.data}", data);
        }
        if (!d.isEmpty()) {
            return Path.of(d);
        }
        File area = context.getDataFile("programs");
        if (area == null) {
            throw new IllegalStateException("io.pando.ee.store: no store directory (karaf.data is not set and the "
                + "framework gives no bundle data area): configure 'directory'");
        }
        return area.toPath();
    }

    /** @return the store directory */
    Path directory() {
        return dir;
    }

    // ---- install

    @Override
    public InstallResult install(Path file, Optional<String> name) throws ProgramStoreException {
        Objects.requireNonNull(file, "file");
        Objects.requireNonNull(name, "name");
        if (name.isPresent()) {
            checkName(name.get());
        }
        if (!Files.isRegularFile(file)) {
            throw new ProgramStoreException("no file " + file.toAbsolutePath());
        }
        Upload upload;
        try (InputStream in = Files.newInputStream(file)) {
            long size = Files.size(file);
            long max = verifier.limits().maxJarBytes();
            if (size > max) {
                return install(tooLarge(file + " has " + size + " bytes, the limit is " + max + " bytes"), name);
            }
            upload = receive(in, -1, file.toString(), Long.MAX_VALUE);
        } catch (IOException e) {
            throw new ProgramStoreException("cannot read " + file.toAbsolutePath() + ": " + e, e);
        }
        return install(upload, name);
    }

    @Override
    public InstallResult install(URI url, Optional<String> name) throws ProgramStoreException {
        Objects.requireNonNull(url, "url");
        Objects.requireNonNull(name, "name");
        if (name.isPresent()) {
            checkName(name.get());
        }
        String scheme = url.getScheme() == null ? "" : url.getScheme().toLowerCase(Locale.ROOT);
        switch (scheme) {
            case "file" -> {
                Path path;
                try {
                    path = Path.of(url);
                } catch (IllegalArgumentException | FileSystemNotFoundException e) {
                    throw new ProgramStoreException("not a file URL of this node: " + url + " (" + e.getMessage()
                        + ")", e);
                }
                return install(path, name);
            }
            case "http", "https" -> {
                return install(download(url), name);
            }
            default -> throw new ProgramStoreException("the URL scheme of " + url + " is not allowed: use file:, "
                + "http: or https:");
        }
    }

    /**
     * An upload copied into the store directory.
     *
     * @param tmp the copy, or null if the upload was refused for its size
     * @param size its size
     * @param sha256 its SHA-256, hex
     * @param tooLarge the refusal, or null
     */
    private record Upload(Path tmp, long size, String sha256, VerificationReport tooLarge) {
    }

    private Upload download(URI url) throws ProgramStoreException {
        HttpURLConnection c;
        int code;
        try {
            URLConnection uc = url.toURL().openConnection();
            if (!(uc instanceof HttpURLConnection http)) {
                throw new ProgramStoreException("not an http(s) URL: " + url);
            }
            c = http;
            c.setConnectTimeout((int) Math.min(Integer.MAX_VALUE, settings.connectTimeout().toMillis()));
            c.setReadTimeout((int) Math.min(Integer.MAX_VALUE, settings.readTimeout().toMillis()));
            c.setInstanceFollowRedirects(true);
            c.setUseCaches(false);
            c.setRequestProperty("Accept", "application/java-archive, application/octet-stream, */*");
            code = c.getResponseCode();
        } catch (SocketTimeoutException e) {
            throw new ProgramStoreException("no answer from " + url + " within the time limit (connect "
                + settings.connectTimeout().toMillis() + " ms, read " + settings.readTimeout().toMillis() + " ms)", e);
        } catch (UnknownHostException e) {
            throw new ProgramStoreException("cannot download " + url + ": unknown host " + e.getMessage(), e);
        } catch (ConnectException e) {
            throw new ProgramStoreException("cannot download " + url + ": cannot connect (" + e.getMessage() + ")", e);
        } catch (IOException | IllegalArgumentException e) {
            throw new ProgramStoreException("cannot download " + url + ": " + e, e);
        }
        try {
            if (code != HttpURLConnection.HTTP_OK) {
                throw new ProgramStoreException("cannot download " + url + ": the server answered HTTP " + code
                    + (c.getResponseMessage() == null ? "" : " " + c.getResponseMessage()));
            }
            long deadline = System.nanoTime() + settings.downloadTimeout().toNanos();
            try (InputStream in = c.getInputStream()) {
                return receive(in, c.getContentLengthLong(), url.toString(), deadline);
            } catch (SocketTimeoutException e) {
                throw new ProgramStoreException("cannot download " + url + ": no data for "
                    + settings.readTimeout().toMillis() + " ms", e);
            } catch (IOException e) {
                throw new ProgramStoreException("cannot download " + url + ": " + e, e);
            }
        } catch (IOException e) {
            throw new ProgramStoreException("cannot download " + url + ": " + e, e);
        } finally {
            c.disconnect();
        }
    }

    /**
     * Copies an upload into a temporary file of the store, at most the verifier's jar limit + 1 bytes.
     *
     * @param deadline {@link System#nanoTime()} by which the copy must be done, {@link Long#MAX_VALUE} for none
     */
    private Upload receive(InputStream in, long declaredSize, String source, long deadline)
        throws IOException, ProgramStoreException {
        long max = verifier.limits().maxJarBytes();
        if (declaredSize > max) {
            return tooLarge(source + " is declared as " + declaredSize + " bytes, the limit is " + max
                + " bytes; nothing was read");
        }
        MessageDigest sha = sha256();
        Path tmp = Files.createTempFile(dir, ".upload-", ".tmp");
        boolean keep = false;
        try {
            long n = 0;
            try (OutputStream out = Files.newOutputStream(tmp)) {
                byte[] buf = new byte[16384];
                for (int r; (r = in.read(buf, 0, (int) Math.min(buf.length, max + 1 - n))) > 0;) {
                    n += r;
                    if (n > max) {
                        return tooLarge(source + " is larger than the limit of " + max + " bytes; reading stopped "
                            + "there");
                    }
                    out.write(buf, 0, r);
                    sha.update(buf, 0, r);
                    if (deadline != Long.MAX_VALUE && System.nanoTime() - deadline > 0) {
                        throw new ProgramStoreException("cannot download " + source + ": not done within "
                            + settings.downloadTimeout().toMillis() + " ms (" + n + " bytes read)");
                    }
                }
            }
            keep = true;
            return new Upload(tmp, n, HexFormat.of().formatHex(sha.digest()), null);
        } finally {
            if (!keep) {
                Files.deleteIfExists(tmp);
            }
        }
    }

    private static Upload tooLarge(String message) {
        return new Upload(null, -1, "", VerificationReport.of("", "",
            List.of(new Finding(Finding.Code.TOO_LARGE, "jar", message))));
    }

    private InstallResult install(Upload upload, Optional<String> name) throws ProgramStoreException {
        if (upload.tooLarge() != null) {
            return InstallResult.refused(upload.tooLarge());
        }
        try {
            VerificationReport report;
            try {
                report = verifier.verify(upload.tmp());
            } catch (IOException e) {
                throw new ProgramStoreException("cannot verify the upload: " + e, e);
            }
            if (!report.accepted()) {
                return InstallResult.refused(report);
            }
            String storeName = name.orElse(report.symbolicName());
            checkName(storeName);
            List<String> declared = DeclaredPrograms.names(upload.tmp());
            lock.lock();
            try {
                return installLocked(upload, report, storeName, declared);
            } finally {
                lock.unlock();
            }
        } finally {
            try {
                Files.deleteIfExists(upload.tmp());
            } catch (IOException e) {
                LOG.log(Level.WARNING, "cannot delete the upload " + upload.tmp() + ": " + e);
            }
        }
    }

    private InstallResult installLocked(Upload upload, VerificationReport report, String storeName,
        List<String> declared) throws ProgramStoreException {
        String version = report.version();
        Version v = Version.parseVersion(version);
        StoreIndex.Entry old = index.get(storeName);
        if (old != null && Version.parseVersion(old.version()).equals(v)) {
            if (old.sha256().equals(upload.sha256())) {
                throw new ProgramStoreException(storeName + " " + old.version() + " is already installed");
            }
            throw new ProgramStoreException(storeName + " " + old.version() + " is already installed with other "
                + "content (sha-256 " + abbrev(old.sha256()) + ", the upload has " + abbrev(upload.sha256())
                + "): change Bundle-Version to upgrade it");
        }
        if (old == null && index.size() >= settings.maxPrograms()) {
            throw new ProgramStoreException("the store is full: it holds " + index.size() + " programs, the limit is "
                + settings.maxPrograms() + " (maxPrograms of io.pando.ee.store); remove one first");
        }
        for (Bundle b : context.getBundles()) {
            if (report.symbolicName().equals(b.getSymbolicName()) && v.equals(b.getVersion())) {
                throw new ProgramStoreException("bundle " + report.symbolicName() + " " + version
                    + " is already installed as bundle " + b.getBundleId() + " (" + owner(b) + ")");
            }
        }
        Bundle oldBundle = old == null ? null : context.getBundle(old.location());
        checkConflicts(declared, oldBundle, null);
        String location = LOCATION_PREFIX + storeName + ":" + version;
        wiring.forget(location);
        Bundle bundle;
        try (InputStream in = Files.newInputStream(upload.tmp())) {
            bundle = context.installBundle(location, in);
        } catch (BundleException | IOException | IllegalStateException e) {
            throw new ProgramStoreException("the framework refused to install " + storeName + " " + version + ": "
                + e.getMessage(), e);
        }
        boolean done = false;
        Path jar = dir.resolve(fileName(storeName, version));
        try {
            placeAfterStore(bundle);
            try {
                bundle.start();
            } catch (BundleException | IllegalStateException e) {
                List<String> refused = refusedWiring(bundle, location);
                if (!refused.isEmpty()) {
                    throw new ProgramStoreException("program wiring refused: " + String.join(", ", refused), e);
                }
                throw new ProgramStoreException(storeName + " " + version + " does not start: " + e.getMessage(), e);
            }
            if (!importsApi(bundle)) {
                throw new ProgramStoreException(storeName + " " + version + " does not import io.pando.api.program, "
                    + "so its ActiveProgram cannot be created: add Import-Package io.pando.api.program;version=\"[1.1,2)\""
                    + " (bnd writes it for a class that implements ActiveProgram)");
            }
            List<String> programs = awaitPrograms(bundle);
            if (programs.isEmpty()) {
                throw new ProgramStoreException(storeName + " " + version + " registers no ActiveProgram service "
                    + "(io.pando.api.program.ActiveProgram with a 'name' property) within "
                    + settings.serviceWait().toMillis() + " ms of its start: a program bundle declares a DS component "
                    + "providing ActiveProgram (Service-Component header, osgi.component extender requirement)");
            }
            checkConflicts(programs, oldBundle, bundle);
            Files.move(upload.tmp(), jar, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            StoreIndex.Entry entry = new StoreIndex.Entry(storeName, report.symbolicName(), version, location,
                jar.getFileName().toString(), upload.size(), upload.sha256(), clock.instant());
            Map<String, StoreIndex.Entry> next = new TreeMap<>(index);
            next.put(storeName, entry);
            StoreIndex.save(dir, next);
            index = Map.copyOf(next);
            done = true;
            if (old != null) {
                retire(old, oldBundle, "replaced by " + version);
            }
            LOG.log(Level.INFO, "installed program " + storeName + " " + version + " as bundle " + bundle.getBundleId()
                + " (" + String.join(", ", programs) + ")" + (old == null ? "" : ", replacing " + old.version()));
            return new InstallResult(report, Optional.of(view(entry)), Optional.ofNullable(old)
                .map(StoreIndex.Entry::version));
        } catch (IOException e) {
            throw new ProgramStoreException("cannot store " + storeName + " " + version + " in " + dir + ": " + e, e);
        } finally {
            wiring.forget(location);
            if (!done) {
                uninstallQuietly(bundle);
                try {
                    Files.deleteIfExists(jar);
                } catch (IOException e) {
                    LOG.log(Level.WARNING, "cannot delete " + jar + ": " + e);
                }
            }
        }
    }

    /**
     * Gives a program bundle a start level after the store's own bundle, so that at a framework restart the
     * resolver hook is there before programs start (and resolve). Left alone where that level would not be
     * reached.
     */
    private void placeAfterStore(Bundle bundle) {
        try {
            BundleStartLevel own = context.getBundle().adapt(BundleStartLevel.class);
            BundleStartLevel program = bundle.adapt(BundleStartLevel.class);
            FrameworkStartLevel framework = context.getBundle(Constants.SYSTEM_BUNDLE_LOCATION)
                .adapt(FrameworkStartLevel.class);
            if (own == null || program == null || framework == null) {
                return;
            }
            int level = Math.max(own.getStartLevel() + 1, program.getStartLevel());
            if (level <= framework.getStartLevel() && level != program.getStartLevel()) {
                program.setStartLevel(level);
            }
        } catch (RuntimeException e) {
            LOG.log(Level.DEBUG, "cannot set the start level of " + bundle.getLocation() + ": " + e);
        }
    }

    /**
     * @return every requirement of a program bundle that failed to resolve which the resolver hook refused: those
     *     it recorded, and those whose providers it would all refuse (the resolver stops at the first failure)
     */
    private List<String> refusedWiring(Bundle bundle, String location) {
        Set<String> out = new TreeSet<>(wiring.refusals(location));
        try {
            BundleRevision revision = bundle.adapt(BundleRevision.class);
            FrameworkWiring fw = context.getBundle(Constants.SYSTEM_BUNDLE_LOCATION).adapt(FrameworkWiring.class);
            if (revision != null && fw != null) {
                for (BundleRequirement r : revision.getDeclaredRequirements(null)) {
                    String effective = r.getDirectives().get(Constants.EFFECTIVE_DIRECTIVE);
                    if (effective != null && !effective.equals(Constants.EFFECTIVE_RESOLVE)) {
                        continue;
                    }
                    Collection<BundleCapability> providers = fw.findProviders(r);
                    if (!providers.isEmpty() && providers.stream().noneMatch(c -> wiring.allowed(r, c))) {
                        out.add(ProgramWiringHook.describe(r));
                    }
                }
            }
        } catch (RuntimeException e) {
            LOG.log(Level.DEBUG, "cannot check the requirements of " + location + ": " + e);
        }
        return new ArrayList<>(out);
    }

    /** @return true if the bundle is wired to the program API package */
    private static boolean importsApi(Bundle bundle) {
        BundleWiring w = bundle.adapt(BundleWiring.class);
        return w != null && w.getRequiredWires(PackageNamespace.PACKAGE_NAMESPACE).stream().anyMatch(x ->
            "io.pando.api.program".equals(x.getCapability().getAttributes().get(PackageNamespace.PACKAGE_NAMESPACE)));
    }

    /** Waits until the bundle registers ActiveProgram services; @return their names, empty if none in time */
    private List<String> awaitPrograms(Bundle bundle) throws ProgramStoreException {
        long deadline = System.nanoTime() + settings.serviceWait().toNanos();
        while (true) {
            List<String> names = programs(bundle);
            if (!names.isEmpty() || System.nanoTime() - deadline > 0) {
                return names;
            }
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new ProgramStoreException("interrupted while waiting for the programs of "
                    + bundle.getLocation(), e);
            }
        }
    }

    /** @return the names of the ActiveProgram services the bundle registers now, sorted */
    static List<String> programs(Bundle bundle) {
        Set<String> names = new TreeSet<>();
        ServiceReference<?>[] refs;
        try {
            refs = bundle.getRegisteredServices();
        } catch (IllegalStateException e) {
            return List.of();
        }
        if (refs != null) {
            for (ServiceReference<?> r : refs) {
                if (isProgram(r)) {
                    names.addAll(nameOf(r));
                }
            }
        }
        return new ArrayList<>(names);
    }

    private static boolean isProgram(ServiceReference<?> r) {
        Object classes = r.getProperty(Constants.OBJECTCLASS);
        if (classes instanceof String[] a) {
            for (String c : a) {
                if (ACTIVE_PROGRAM.equals(c)) {
                    return true;
                }
            }
        }
        return false;
    }

    private static List<String> nameOf(ServiceReference<?> r) {
        Object n = r.getProperty("name");
        if (n instanceof String s) {
            return List.of(s);
        }
        if (n instanceof String[] a) {
            return List.of(a);
        }
        if (n instanceof Collection<?> c) {
            return c.stream().filter(String.class::isInstance).map(String.class::cast).toList();
        }
        return List.of();
    }

    /**
     * Refuses program names registered by any bundle other than {@code self} and {@code replaced}.
     */
    private void checkConflicts(Collection<String> names, Bundle replaced, Bundle self) throws ProgramStoreException {
        if (names.isEmpty()) {
            return;
        }
        ServiceReference<?>[] refs;
        try {
            refs = context.getAllServiceReferences(ACTIVE_PROGRAM, null);
        } catch (InvalidSyntaxException e) {
            throw new IllegalStateException(e);
        }
        if (refs == null) {
            return;
        }
        for (ServiceReference<?> r : refs) {
            Bundle b = r.getBundle();
            if (b == null || b.equals(self) || b.equals(replaced)) {
                continue;
            }
            for (String n : nameOf(r)) {
                if (names.contains(n)) {
                    throw new ProgramStoreException("program name '" + n + "' is already provided by " + owner(b));
                }
            }
        }
    }

    /** @return who a bundle is, for a message: a stored program or another bundle */
    private static String owner(Bundle b) {
        String location = b.getLocation();
        if (location != null && location.startsWith(LOCATION_PREFIX)) {
            String[] parts = location.split(":", 3);
            return "stored program '" + (parts.length > 1 ? parts[1] : location) + "' (bundle " + b.getBundleId()
                + ")";
        }
        return "bundle " + b.getSymbolicName() + " " + b.getVersion() + " (id " + b.getBundleId()
            + "), which is not a stored program";
    }

    // ---- list, get, remove

    @Override
    public List<StoredProgram> list() {
        return index.values().stream().sorted(Comparator.comparing(StoreIndex.Entry::name)).map(this::view).toList();
    }

    @Override
    public Optional<StoredProgram> get(String name) {
        StoreIndex.Entry e = name == null ? null : index.get(name);
        return e == null ? Optional.empty() : Optional.of(view(e));
    }

    @Override
    public StoredProgram remove(String name) throws ProgramStoreException {
        Objects.requireNonNull(name, "name");
        lock.lock();
        try {
            StoreIndex.Entry e = index.get(name);
            if (e == null) {
                throw new ProgramStoreException("no stored program '" + name + "'" + (index.isEmpty()
                    ? ": the store is empty" : " (stored: " + String.join(", ", new TreeSet<>(index.keySet())) + ")"));
            }
            StoredProgram before = view(e);
            Bundle b = context.getBundle(e.location());
            if (b != null) {
                try {
                    b.uninstall();
                } catch (BundleException | IllegalStateException ex) {
                    throw new ProgramStoreException("cannot uninstall bundle " + b.getBundleId() + " of program "
                        + name + ": " + ex.getMessage(), ex);
                }
                refresh(b);
            }
            Map<String, StoreIndex.Entry> next = new TreeMap<>(index);
            next.remove(name);
            try {
                StoreIndex.save(dir, next);
            } catch (IOException ex) {
                throw new ProgramStoreException("the bundle of " + name + " is uninstalled but the store index "
                    + "cannot be written (" + ex + "); it is corrected at the next start", ex);
            } finally {
                index = Map.copyOf(next);
            }
            deleteQuietly(dir.resolve(e.file()));
            LOG.log(Level.INFO, "removed program " + name + " " + e.version());
            return before;
        } finally {
            lock.unlock();
        }
    }

    private StoredProgram view(StoreIndex.Entry e) {
        Bundle b = context.getBundle(e.location());
        boolean present = b != null && b.getState() != Bundle.UNINSTALLED;
        return new StoredProgram(e.name(), e.symbolicName(), e.version(), present ? b.getBundleId() : -1,
            present ? state(b.getState()) : StoredProgram.MISSING, present ? programs(b) : List.of(),
            dir.resolve(e.file()), e.size(), e.sha256(), e.installedAt());
    }

    static String state(int state) {
        return switch (state) {
            case Bundle.INSTALLED -> "INSTALLED";
            case Bundle.RESOLVED -> "RESOLVED";
            case Bundle.STARTING -> "STARTING";
            case Bundle.STOPPING -> "STOPPING";
            case Bundle.ACTIVE -> "ACTIVE";
            default -> "UNINSTALLED";
        };
    }

    // ---- reconciliation

    private void reconcile() throws IOException {
        Map<String, StoreIndex.Entry> loaded;
        try {
            loaded = StoreIndex.load(dir);
        } catch (IOException e) {
            LOG.log(Level.WARNING, "the program store index in " + dir + " cannot be read (" + e.getMessage()
                + "); rebuilding it from the installed program bundles");
            loaded = Map.of();
        }
        Map<String, List<Bundle>> bundles = new TreeMap<>();
        for (Bundle b : context.getBundles()) {
            String location = b.getLocation();
            String[] parts = location == null ? new String[0] : location.split(":", 3);
            if (location != null && location.startsWith(LOCATION_PREFIX) && parts.length == 3
                && NAME.matcher(parts[1]).matches()) {
                bundles.computeIfAbsent(parts[1], n -> new ArrayList<>()).add(b);
            }
        }
        Map<String, StoreIndex.Entry> next = new TreeMap<>();
        for (Map.Entry<String, List<Bundle>> e : bundles.entrySet()) {
            String name = e.getKey();
            List<Bundle> list = new ArrayList<>(e.getValue());
            list.sort(Comparator.comparingLong(Bundle::getBundleId).reversed());
            Bundle keep = list.get(0);
            for (Bundle stale : list.subList(1, list.size())) {
                LOG.log(Level.WARNING, "uninstalling " + stale.getLocation() + " (bundle " + stale.getBundleId()
                    + "): left over from an interrupted upgrade to " + keep.getLocation());
                uninstallQuietly(stale);
            }
            StoreIndex.Entry known = loaded.get(name);
            if (known != null && known.location().equals(keep.getLocation())) {
                next.put(name, known);
            } else {
                String version = keep.getLocation().split(":", 3)[2];
                Path jar = dir.resolve(fileName(name, version));
                long size = -1;
                String sha = "";
                if (Files.isRegularFile(jar)) {
                    size = Files.size(jar);
                    sha = sha256(jar);
                }
                next.put(name, new StoreIndex.Entry(name, Objects.requireNonNullElse(keep.getSymbolicName(), ""),
                    version, keep.getLocation(), jar.getFileName().toString(), size, sha,
                    Instant.ofEpochMilli(keep.getLastModified())));
                LOG.log(Level.INFO, "adopted program " + name + " " + version + " (bundle " + keep.getBundleId()
                    + ") into the store index");
            }
            List<String> violations = wiring.violations(keep.adapt(BundleWiring.class));
            if (!violations.isEmpty()) {
                LOG.log(Level.WARNING, "program " + name + " (bundle " + keep.getBundleId() + ") was wired before the "
                    + "program resolver hook ran: " + String.join(", ", violations) + "; refreshing it");
                refresh(keep);
            }
        }
        for (String gone : loaded.keySet()) {
            if (!next.containsKey(gone)) {
                LOG.log(Level.WARNING, "dropping program " + gone + " from the store index: its bundle was "
                    + "uninstalled outside the store");
            }
        }
        StoreIndex.save(dir, next);
        index = Map.copyOf(next);
        Set<String> files = new HashSet<>();
        next.values().forEach(en -> files.add(en.file()));
        files.add(StoreIndex.FILE);
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(dir)) {
            for (Path p : entries) {
                if (Files.isRegularFile(p) && !files.contains(p.getFileName().toString())) {
                    LOG.log(Level.INFO, "deleting " + p + ": no stored program uses it");
                    deleteQuietly(p);
                }
            }
        }
    }

    // ---- helpers

    /** Uninstalls the old version after an upgrade; a failure is logged (the next start cleans up). */
    private void retire(StoreIndex.Entry old, Bundle oldBundle, String why) {
        if (oldBundle != null) {
            try {
                oldBundle.uninstall();
                refresh(oldBundle);
            } catch (BundleException | IllegalStateException e) {
                LOG.log(Level.WARNING, "cannot uninstall " + old.location() + " (" + why + "): " + e.getMessage()
                    + "; it is removed at the next start");
            }
        }
        deleteQuietly(dir.resolve(old.file()));
    }

    /** Lets the framework drop an uninstalled (or badly wired) bundle's revision; asynchronous. */
    private void refresh(Bundle b) {
        try {
            FrameworkWiring fw = context.getBundle(Constants.SYSTEM_BUNDLE_LOCATION).adapt(FrameworkWiring.class);
            if (fw != null) {
                fw.refreshBundles(List.of(b));
            }
        } catch (RuntimeException e) {
            LOG.log(Level.DEBUG, "cannot refresh " + b.getLocation() + ": " + e);
        }
    }

    private static void uninstallQuietly(Bundle b) {
        try {
            if (b.getState() != Bundle.UNINSTALLED) {
                b.uninstall();
            }
        } catch (BundleException | IllegalStateException e) {
            LOG.log(Level.WARNING, "cannot uninstall " + b.getLocation() + ": " + e.getMessage());
        }
    }

    private static void deleteQuietly(Path p) {
        try {
            Files.deleteIfExists(p);
        } catch (IOException e) {
            LOG.log(Level.WARNING, "cannot delete " + p + ": " + e);
        }
    }

    /**
     * @throws ProgramStoreException if the name is not 1–64 characters of {@code [A-Za-z0-9._-]}
     */
    static void checkName(String name) throws ProgramStoreException {
        if (name == null || !NAME.matcher(name).matches()) {
            throw new ProgramStoreException("invalid program name '" + name + "': 1 to 64 characters of A-Z, a-z, "
                + "0-9, '.', '_' and '-'");
        }
    }

    static String fileName(String name, String version) {
        return name + "-" + version + ".jar";
    }

    private static String abbrev(String sha) {
        return sha.length() > 12 ? sha.substring(0, 12) + "…" : sha;
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("no SHA-256 in this JDK", e);
        }
    }

    private static String sha256(Path file) throws IOException {
        MessageDigest sha = sha256();
        try (InputStream in = Files.newInputStream(file)) {
            byte[] buf = new byte[16384];
            for (int r; (r = in.read(buf)) > 0;) {
                sha.update(buf, 0, r);
            }
        }
        return HexFormat.of().formatHex(sha.digest());
    }
}
