package io.pando.ee.sandbox;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.apache.felix.framework.Felix;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.BundleException;
import org.osgi.framework.Constants;
import org.osgi.framework.InvalidSyntaxException;
import org.osgi.framework.ServiceObjects;
import org.osgi.framework.ServiceReference;
import org.osgi.framework.hooks.resolver.ResolverHookFactory;

/**
 * The sandbox's OSGi framework: an embedded Felix with its storage in a fresh temporary directory, the
 * {@link ConfinementHook}, the infrastructure bundles of the runtime directory's {@code bundles/} (the program API,
 * SCR and what SCR needs), and the program bundle.
 */
final class EmbeddedFramework {

    /** The program API's service interface. */
    static final String ACTIVE_PROGRAM = "io.pando.api.program.ActiveProgram";

    private final Felix felix;
    private final ConfinementHook hook = new ConfinementHook();
    private final Path storage;
    private Bundle api;

    private EmbeddedFramework(Felix felix, Path storage) {
        this.felix = felix;
        this.storage = storage;
    }

    /**
     * Starts the framework and its infrastructure bundles.
     *
     * @param runtime the runtime directory
     * @throws StartupException naming what did not start
     */
    static EmbeddedFramework start(Path runtime) throws StartupException {
        Path storage;
        try {
            storage = Files.createTempDirectory("pando-sandbox-felix-");
        } catch (IOException e) {
            throw new StartupException("cannot create the framework's storage directory: " + e, e);
        }
        Map<String, Object> config = new HashMap<>();
        config.put(Constants.FRAMEWORK_STORAGE, storage.toString());
        config.put(Constants.FRAMEWORK_STORAGE_CLEAN, Constants.FRAMEWORK_STORAGE_CLEAN_ONFIRSTINIT);
        config.put("felix.cache.locking", "false");
        config.put("felix.log.level", "1");
        config.put("ds.loglevel", "warn");
        Felix felix = new Felix(config);
        EmbeddedFramework fw = new EmbeddedFramework(felix, storage);
        try {
            felix.init();
            BundleContext sys = felix.getBundleContext();
            sys.registerService(ResolverHookFactory.class, fw.hook, null);
            felix.start();
            fw.installInfrastructure(runtime.resolve("bundles"));
        } catch (BundleException e) {
            throw new StartupException("the OSGi framework did not start: " + e.getMessage(), e);
        }
        return fw;
    }

    private void installInfrastructure(Path dir) throws StartupException {
        List<Path> jars;
        try (Stream<Path> s = Files.list(dir)) {
            jars = s.filter(p -> p.getFileName().toString().endsWith(".jar")).sorted(Comparator.naturalOrder())
                .toList();
        } catch (IOException e) {
            throw new StartupException("cannot list the infrastructure bundles in " + dir + ": " + e, e);
        }
        if (jars.isEmpty()) {
            throw new StartupException("no infrastructure bundles in " + dir);
        }
        BundleContext sys = felix.getBundleContext();
        List<Bundle> installed = new ArrayList<>();
        for (Path jar : jars) {
            try {
                installed.add(sys.installBundle(jar.toUri().toString()));
            } catch (BundleException e) {
                throw new StartupException("infrastructure bundle " + jar.getFileName() + " cannot be installed: "
                    + e.getMessage(), e);
            }
        }
        for (Bundle b : installed) {
            if (b.getHeaders().get(Constants.FRAGMENT_HOST) != null) {
                continue;
            }
            try {
                b.start();
            } catch (BundleException e) {
                throw new StartupException("infrastructure bundle " + b.getSymbolicName() + " did not start: "
                    + e.getMessage(), e);
            }
            if (ConfinementHook.API_BUNDLE.equals(b.getSymbolicName())) {
                api = b;
            }
        }
        if (api == null) {
            throw new StartupException("the program API bundle " + ConfinementHook.API_BUNDLE + " is not among the "
                + "infrastructure bundles in " + dir);
        }
    }

    /** @return the bundle exporting the program API */
    Bundle apiBundle() {
        return api;
    }

    /**
     * Installs and starts the program bundle.
     *
     * @param jar the program bundle
     * @return the started bundle
     * @throws StartupException if it cannot be installed or does not resolve (naming the requirements the
     *         confinement hook refused) or start
     */
    Bundle installProgram(Path jar) throws StartupException {
        Bundle b;
        try (InputStream in = Files.newInputStream(jar)) {
            b = felix.getBundleContext().installBundle(ConfinementHook.PROGRAM_LOCATION_PREFIX + jar.getFileName(), in);
        } catch (IOException e) {
            throw new StartupException("cannot read the program bundle " + jar + ": " + e, e);
        } catch (BundleException e) {
            throw new StartupException("the program bundle " + jar.getFileName() + " cannot be installed: "
                + e.getMessage(), e);
        }
        try {
            b.start();
        } catch (BundleException e) {
            List<String> refused = hook.refusals();
            String name = b.getSymbolicName() + " " + b.getVersion();
            if (!refused.isEmpty()) {
                throw new StartupException("program bundle " + name + " did not resolve: wiring refused: "
                    + String.join(", ", refused) + " (a program may wire only to io.pando.api.program, "
                    + "io.pando.api.session, osgi.ee and osgi.extender=osgi.component)", e);
            }
            throw new StartupException("program bundle " + name + " did not start: " + e.getMessage(), e);
        }
        return b;
    }

    /**
     * Waits for the program's {@code ActiveProgram} service named {@code name} (SCR registers it after the bundle
     * started).
     *
     * @param program the program bundle
     * @param name the program's name (service property {@code name})
     * @param waitMillis how long to wait
     * @return the service's objects
     * @throws StartupException if the bundle registers no such service in time, saying which names it has
     */
    ServiceObjects<Object> findProgram(Bundle program, String name, long waitMillis) throws StartupException {
        String filter = "(name=" + escape(name) + ")";
        BundleContext sys = felix.getBundleContext();
        long deadline = System.nanoTime() + waitMillis * 1_000_000;
        while (true) {
            ServiceReference<?>[] refs;
            try {
                refs = sys.getAllServiceReferences(ACTIVE_PROGRAM, filter);
            } catch (InvalidSyntaxException e) {
                throw new StartupException("program name '" + name + "' is not usable in a service filter", e);
            }
            if (refs != null) {
                for (ServiceReference<?> r : refs) {
                    if (r.getBundle() != null && r.getBundle().getBundleId() == program.getBundleId()) {
                        @SuppressWarnings("unchecked")
                        ServiceObjects<Object> so = (ServiceObjects<Object>) sys.getServiceObjects(r);
                        if (so != null) {
                            return so;
                        }
                    }
                }
            }
            if (System.nanoTime() - deadline > 0) {
                break;
            }
            try {
                Thread.sleep(5);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new StartupException("interrupted while waiting for program '" + name + "'", e);
            }
        }
        TreeSet<String> names = new TreeSet<>();
        ServiceReference<?>[] registered = program.getRegisteredServices();
        if (registered != null) {
            for (ServiceReference<?> r : registered) {
                Object[] classes = (Object[]) r.getProperty(Constants.OBJECTCLASS);
                if (classes != null && List.of(classes).contains(ACTIVE_PROGRAM)) {
                    names.add(String.valueOf(r.getProperty("name")));
                }
            }
        }
        throw new StartupException("program '" + name + "' not found in bundle " + program.getSymbolicName() + " "
            + program.getVersion() + " within " + waitMillis + " ms; it registers "
            + (names.isEmpty() ? "no ActiveProgram service" : "ActiveProgram services named " + names)
            + (program.getHeaders().get("Service-Component") == null ? " (it has no Service-Component header)" : ""));
    }

    /** @return whether the service is offered in prototype scope (a fresh object per getService) */
    static boolean prototype(ServiceObjects<Object> so) {
        return Constants.SCOPE_PROTOTYPE.equals(so.getServiceReference().getProperty(Constants.SERVICE_SCOPE));
    }

    private static String escape(String value) {
        StringBuilder b = new StringBuilder(value.length());
        for (char c : value.toCharArray()) {
            if (c == '\\' || c == '(' || c == ')' || c == '*') {
                b.append('\\');
            }
            b.append(c);
        }
        return b.toString();
    }

    /** @return where the framework keeps its storage (deleted by {@link #deleteStorage()}) */
    Path storage() {
        return storage;
    }

    /** Deletes the framework's storage, best effort (the sandbox's /tmp is private anyway under bubblewrap). */
    void deleteStorage() {
        try (Stream<Path> walk = Files.walk(storage)) {
            walk.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException | RuntimeException e) {
            // best effort
        }
    }
}
