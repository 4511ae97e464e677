package io.pando.ee.sandbox;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.osgi.framework.Bundle;
import org.osgi.framework.hooks.resolver.ResolverHook;
import org.osgi.framework.hooks.resolver.ResolverHookFactory;
import org.osgi.framework.namespace.BundleNamespace;
import org.osgi.framework.namespace.ExecutionEnvironmentNamespace;
import org.osgi.framework.namespace.HostNamespace;
import org.osgi.framework.namespace.PackageNamespace;
import org.osgi.framework.wiring.BundleCapability;
import org.osgi.framework.wiring.BundleRequirement;
import org.osgi.framework.wiring.BundleRevision;
import org.osgi.resource.Namespace;

/**
 * The sandbox's resolver hook, registered from the system bundle before any bundle resolves. A program bundle
 * (installed at a {@value #PROGRAM_LOCATION_PREFIX} location) may wire only to
 * <ul>
 * <li>{@code io.pando.api.program} and {@code io.pando.api.session} exported by the API bundle
 * ({@value #API_BUNDLE});</li>
 * <li>the few JDK packages the upload verifier lets a program import ({@link #JDK_IMPORTS}), from the system
 * bundle;</li>
 * <li>{@code osgi.ee} of the system bundle;</li>
 * <li>{@code osgi.extender=osgi.component} (SCR);</li>
 * <li>its own capabilities.</li>
 * </ul>
 * Every other candidate is removed, and a requirement left without candidates is recorded, so that a failed start
 * names it ({@code Import-Package org.osgi.framework}). No other bundle may wire to a program's packages or attach
 * a fragment to it.
 */
final class ConfinementHook implements ResolverHookFactory {

    /** Location prefix of the program bundle. */
    static final String PROGRAM_LOCATION_PREFIX = "pando-program:";
    /** Symbolic name of the bundle exporting the program API. */
    static final String API_BUNDLE = "io.pando.api";
    /** The API packages a program may import. */
    static final Set<String> API_PACKAGES = Set.of("io.pando.api.program", "io.pando.api.session");
    /**
     * JDK packages a program may import from the system bundle: the {@code import} lines of the upload verifier's
     * allowlist (bnd writes imports of {@code javax.*}; the bytecode itself was checked at upload).
     */
    static final Set<String> JDK_IMPORTS = Set.of("java.util", "java.nio", "java.nio.charset", "java.math",
        "java.time", "java.text", "java.security", "java.security.spec", "java.security.interfaces", "javax.crypto",
        "javax.crypto.spec", "javax.crypto.interfaces");

    private static final String EXTENDER = "osgi.extender";
    private static final Pattern FILTER_NAME = Pattern.compile(
        "\\((?:osgi\\.wiring\\.package|osgi\\.wiring\\.bundle|osgi\\.wiring\\.host)=([^)]*)\\)");

    private final Set<String> refused = ConcurrentHashMap.newKeySet();

    @Override
    public ResolverHook begin(Collection<BundleRevision> triggers) {
        return new ResolverHook() {
            @Override
            public void filterResolvable(Collection<BundleRevision> candidates) {
                // every bundle may resolve; its wires are what is filtered
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
                // nothing held
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
            refused.add(describe(requirement));
        }
    }

    /** @return whether {@code requirement} may wire to {@code capability} */
    static boolean allowed(BundleRequirement requirement, BundleCapability capability) {
        BundleRevision requirer = requirement.getRevision();
        BundleRevision provider = capability.getRevision();
        boolean toProgram = isProgram(provider);
        if (!isProgram(requirer)) {
            String ns = capability.getNamespace();
            return !toProgram || !(ns.equals(PackageNamespace.PACKAGE_NAMESPACE)
                || ns.equals(BundleNamespace.BUNDLE_NAMESPACE) || ns.equals(HostNamespace.HOST_NAMESPACE));
        }
        if (sameBundle(requirer, provider)) {
            return true;
        }
        switch (capability.getNamespace()) {
            case PackageNamespace.PACKAGE_NAMESPACE -> {
                Object pkg = capability.getAttributes().get(PackageNamespace.PACKAGE_NAMESPACE);
                if (API_PACKAGES.contains(pkg)) {
                    return !toProgram && API_BUNDLE.equals(provider.getSymbolicName());
                }
                return isSystemBundle(provider) && JDK_IMPORTS.contains(pkg);
            }
            case ExecutionEnvironmentNamespace.EXECUTION_ENVIRONMENT_NAMESPACE -> {
                return isSystemBundle(provider);
            }
            case EXTENDER -> {
                return !toProgram && "osgi.component".equals(capability.getAttributes().get(EXTENDER));
            }
            default -> {
                return false;
            }
        }
    }

    /** @return the program requirements left without candidates so far, sorted */
    List<String> refusals() {
        return new ArrayList<>(new TreeSet<>(refused));
    }

    /** @return the requirement as the header that made it, e.g. {@code Import-Package org.osgi.framework} */
    static String describe(BundleRequirement requirement) {
        String ns = requirement.getNamespace();
        String filter = requirement.getDirectives().getOrDefault(Namespace.REQUIREMENT_FILTER_DIRECTIVE, "");
        Matcher m = FILTER_NAME.matcher(filter);
        String name = m.find() ? m.group(1) : filter;
        return switch (ns) {
            case PackageNamespace.PACKAGE_NAMESPACE -> "Import-Package " + name;
            case BundleNamespace.BUNDLE_NAMESPACE -> "Require-Bundle " + name;
            case HostNamespace.HOST_NAMESPACE -> "Fragment-Host " + name;
            default -> "Require-Capability " + ns + (filter.isEmpty() ? "" : ";filter:=\"" + filter + "\"");
        };
    }

    static boolean isProgram(BundleRevision revision) {
        Bundle b = revision == null ? null : revision.getBundle();
        String location = b == null ? null : b.getLocation();
        return location != null && location.startsWith(PROGRAM_LOCATION_PREFIX);
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
