package io.pando.ee.impl;

import io.pando.ee.api.ProgramStore;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.osgi.framework.Bundle;
import org.osgi.framework.hooks.resolver.ResolverHook;
import org.osgi.framework.hooks.resolver.ResolverHookFactory;
import org.osgi.framework.namespace.ExecutionEnvironmentNamespace;
import org.osgi.framework.namespace.HostNamespace;
import org.osgi.framework.namespace.PackageNamespace;
import org.osgi.framework.wiring.BundleCapability;
import org.osgi.framework.wiring.BundleRequirement;
import org.osgi.framework.wiring.BundleRevision;
import org.osgi.framework.wiring.BundleWire;
import org.osgi.framework.wiring.BundleWiring;
import org.osgi.resource.Namespace;
import org.osgi.service.component.annotations.Component;

/**
 * In-process confinement of stored programs, behind the upload verifier: a resolver hook that lets a bundle
 * installed at a {@code pando-program:} location wire only to
 * <ul>
 * <li>the packages {@code io.pando.api.program} and {@code io.pando.api.session} of the API bundle
 * ({@code io.pando.api});</li>
 * <li>the JDK packages the allowlist lets a program import ({@code javax.crypto}), from the system bundle;</li>
 * <li>{@code osgi.ee} of the system bundle;</li>
 * <li>the {@code osgi.extender=osgi.component} extender (Declarative Services);</li>
 * <li>{@code osgi.service} capabilities;</li>
 * <li>its own capabilities (a package it exports and imports, as bnd writes it).</li>
 * </ul>
 * Every other candidate is removed. The other way round, no bundle may wire to a program's packages or attach a
 * fragment to it: a program's exports stay its own, so uninstalling it never leaves a stale wiring behind.
 *
 * <p>Requirements of a program left without a candidate by the hook are recorded per bundle location, so that the
 * store can say why a program did not resolve ({@code program wiring refused: Import-Package org.osgi.framework}).
 */
@Component(service = {ResolverHookFactory.class, ProgramWiringHook.class}, immediate = true)
public final class ProgramWiringHook implements ResolverHookFactory {

    /** The symbolic name of the bundle that exports the program API. */
    static final String API_BUNDLE = "io.pando.api";

    /** The packages a program may import from the API bundle. */
    static final Set<String> API_PACKAGES = Set.of("io.pando.api.program", "io.pando.api.session");

    /** {@code osgi.extender} (org.osgi.namespace.extender is not part of osgi.core). */
    static final String EXTENDER = "osgi.extender";

    /** {@code osgi.service} (org.osgi.namespace.service is not part of osgi.core). */
    static final String SERVICE = "osgi.service";

    private static final Pattern FILTER_NAME = Pattern.compile(
        "\\((?:osgi\\.wiring\\.package|osgi\\.wiring\\.bundle|osgi\\.wiring\\.host)=([^)]*)\\)");

    private final Allowlist allowlist;
    /** Location → refused requirements, as "Import-Package x" and the like. */
    private final Map<String, Set<String>> refused = new ConcurrentHashMap<>();

    /** With the built-in allowlist (the JDK packages a program may import). */
    public ProgramWiringHook() {
        this(Allowlist.builtIn());
    }

    /** @param allowlist decides which JDK packages a program may import from the system bundle */
    ProgramWiringHook(Allowlist allowlist) {
        this.allowlist = allowlist;
    }

    @Override
    public ResolverHook begin(Collection<BundleRevision> triggers) {
        return new ResolverHook() {
            @Override
            public void filterResolvable(Collection<BundleRevision> candidates) {
                // every bundle may try to resolve; only its candidates are filtered
            }

            @Override
            public void filterSingletonCollisions(BundleCapability singleton,
                Collection<BundleCapability> collisionCandidates) {
                // not concerned
            }

            @Override
            public void filterMatches(BundleRequirement requirement, Collection<BundleCapability> candidates) {
                filter(requirement, candidates);
            }

            @Override
            public void end() {
                // nothing held between calls
            }
        };
    }

    /** Removes the candidates {@code requirement} may not wire to; records a program requirement left with none. */
    void filter(BundleRequirement requirement, Collection<BundleCapability> candidates) {
        if (candidates.isEmpty()) {
            return;
        }
        boolean removed = candidates.removeIf(c -> !allowed(requirement, c));
        if (removed && candidates.isEmpty() && isProgram(requirement.getRevision())) {
            refused.computeIfAbsent(requirement.getRevision().getBundle().getLocation(),
                l -> ConcurrentHashMap.newKeySet()).add(describe(requirement));
        }
    }

    /**
     * @return true if the wiring from {@code requirement} to {@code capability} is allowed
     */
    boolean allowed(BundleRequirement requirement, BundleCapability capability) {
        BundleRevision requirer = requirement.getRevision();
        BundleRevision provider = capability.getRevision();
        boolean fromProgram = isProgram(requirer);
        boolean toProgram = isProgram(provider);
        if (!fromProgram) {
            // nobody else wires to a program's packages or attaches a fragment to it
            String ns = capability.getNamespace();
            return !toProgram || !(ns.equals(PackageNamespace.PACKAGE_NAMESPACE)
                || ns.equals(org.osgi.framework.namespace.BundleNamespace.BUNDLE_NAMESPACE)
                || ns.equals(HostNamespace.HOST_NAMESPACE));
        }
        if (sameBundle(requirer, provider)) {
            return true;
        }
        switch (capability.getNamespace()) {
            case PackageNamespace.PACKAGE_NAMESPACE -> {
                Object pkg = capability.getAttributes().get(PackageNamespace.PACKAGE_NAMESPACE);
                if (!(pkg instanceof String p)) {
                    return false;
                }
                if (API_PACKAGES.contains(p)) {
                    return !toProgram && API_BUNDLE.equals(provider.getSymbolicName());
                }
                return isSystemBundle(provider) && allowlist.importable(p);
            }
            case ExecutionEnvironmentNamespace.EXECUTION_ENVIRONMENT_NAMESPACE -> {
                return isSystemBundle(provider);
            }
            case EXTENDER -> {
                return !toProgram && "osgi.component".equals(
                    capability.getAttributes().get(EXTENDER));
            }
            case SERVICE -> {
                return true;
            }
            default -> {
                return false;
            }
        }
    }

    /**
     * Checks a wiring made earlier (for example before this hook was registered, at a framework restart).
     *
     * @param wiring a program bundle's current wiring, or null
     * @return the wires this hook would have refused, described as in {@link #refusals(String)}; empty if none
     */
    List<String> violations(BundleWiring wiring) {
        Set<String> out = new TreeSet<>();
        if (wiring != null) {
            for (BundleWire w : wiring.getRequiredWires(null)) {
                if (!allowed(w.getRequirement(), w.getCapability())) {
                    out.add(describe(w.getRequirement()) + " (wired to " + w.getProvider().getSymbolicName() + ")");
                }
            }
        }
        return new ArrayList<>(out);
    }

    /**
     * @param location a program bundle's location
     * @return the requirements of that bundle the hook left without a candidate, sorted; empty if none
     */
    List<String> refusals(String location) {
        Set<String> r = refused.get(location);
        return r == null ? List.of() : new ArrayList<>(new TreeSet<>(r));
    }

    /** Forgets what was recorded for a location (before an install, and after it). */
    void forget(String location) {
        refused.remove(location);
    }

    /** @return the requirement as the manifest header that made it, e.g. {@code Import-Package org.osgi.framework} */
    static String describe(BundleRequirement requirement) {
        String ns = requirement.getNamespace();
        String filter = requirement.getDirectives().getOrDefault(Namespace.REQUIREMENT_FILTER_DIRECTIVE, "");
        Matcher m = FILTER_NAME.matcher(filter);
        String name = m.find() ? m.group(1) : filter;
        return switch (ns) {
            case PackageNamespace.PACKAGE_NAMESPACE -> "Import-Package " + name;
            case org.osgi.framework.namespace.BundleNamespace.BUNDLE_NAMESPACE -> "Require-Bundle " + name;
            case HostNamespace.HOST_NAMESPACE -> "Fragment-Host " + name;
            default -> "Require-Capability " + ns + (filter.isEmpty() ? "" : ";filter:=\"" + filter + "\"");
        };
    }

    static boolean isProgram(BundleRevision revision) {
        Bundle b = revision == null ? null : revision.getBundle();
        String location = b == null ? null : b.getLocation();
        return location != null && location.startsWith(ProgramStore.LOCATION_PREFIX);
    }

    private static boolean isSystemBundle(BundleRevision revision) {
        Bundle b = revision.getBundle();
        return b != null && b.getBundleId() == 0;
    }

    private static boolean sameBundle(BundleRevision a, BundleRevision b) {
        if (a == b) {
            return true;
        }
        Bundle ba = a.getBundle();
        Bundle bb = b.getBundle();
        return ba != null && bb != null && ba.getBundleId() == bb.getBundleId();
    }
}
