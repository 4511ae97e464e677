package io.pando.test.osgi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import io.pando.api.policy.LoadBalancingPolicy;
import io.pando.api.program.ActiveProgram;
import io.pando.api.session.SessionService;
import io.pando.api.unit.UnitLoad;
import io.pando.api.vm.VmDriver;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.FrameworkUtil;
import org.osgi.framework.Version;
import org.osgi.framework.namespace.PackageNamespace;
import org.osgi.framework.wiring.BundleCapability;
import org.osgi.framework.wiring.BundleWiring;
import org.osgi.test.common.annotation.InjectBundleContext;
import org.osgi.test.junit5.context.BundleContextExtension;

/** The API bundle resolves, starts and exports every API package at its declared version. */
@ExtendWith(BundleContextExtension.class)
class ApiBundleTest {

    static final String API_BSN = "io.pando.api";
    /** Each API package and the version its package-info declares. */
    static final Map<String, Version> API_PACKAGES = Map.of(
        "io.pando.api.policy", new Version(1, 0, 0),
        "io.pando.api.program", new Version(1, 2, 0),
        "io.pando.api.router", new Version(1, 3, 0),
        "io.pando.api.session", new Version(1, 0, 0),
        "io.pando.api.unit", new Version(1, 0, 0),
        "io.pando.api.vm", new Version(1, 0, 0));

    @InjectBundleContext
    BundleContext context;

    @Test
    void apiBundleIsActiveAndExportsItsPackagesAtTheirDeclaredVersions() {
        Bundle api = Arrays.stream(context.getBundles())
            .filter(b -> API_BSN.equals(b.getSymbolicName()))
            .findFirst()
            .orElse(null);
        assertNotNull(api, API_BSN + " is installed");
        assertEquals(Bundle.ACTIVE, api.getState(), API_BSN + " is ACTIVE");

        BundleWiring wiring = api.adapt(BundleWiring.class);
        assertNotNull(wiring, API_BSN + " is resolved");
        Map<String, Version> exported = new TreeMap<>();
        for (BundleCapability capability : wiring.getCapabilities(PackageNamespace.PACKAGE_NAMESPACE)) {
            Map<String, Object> attributes = capability.getAttributes();
            exported.put((String) attributes.get(PackageNamespace.PACKAGE_NAMESPACE),
                (Version) attributes.get(PackageNamespace.CAPABILITY_VERSION_ATTRIBUTE));
        }
        assertEquals(new TreeMap<>(API_PACKAGES), exported);
    }

    @Test
    void apiTypesComeFromTheApiBundle() {
        for (Class<?> type : List.of(ActiveProgram.class, LoadBalancingPolicy.class, SessionService.class,
            UnitLoad.class, VmDriver.class)) {
            Bundle from = FrameworkUtil.getBundle(type);
            assertNotNull(from, type + " is loaded from a bundle");
            assertEquals(API_BSN, from.getSymbolicName(), type + " is wired to the API bundle");
        }
    }
}
