package io.pando.ee.impl;

import io.pando.api.program.ActiveProgram;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.felix.framework.FrameworkFactory;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.BundleException;
import org.osgi.framework.Constants;
import org.osgi.framework.hooks.resolver.ResolverHookFactory;
import org.osgi.framework.launch.Framework;

/**
 * A real Felix 7.0.5 framework (the one Karaf 4.4.10 runs) with SCR and the pando-api bundle, for the store and
 * resolver-hook tests. The jars come from the test class path.
 */
final class TestFramework implements AutoCloseable {

    final Framework framework;
    final BundleContext context;
    final Bundle api;

    /**
     * Starts a framework whose bundle cache is {@code storage}; with {@code clean} the cache is emptied first.
     * The hook, if not null, is registered before any bundle resolves.
     */
    TestFramework(Path storage, boolean clean, ResolverHookFactory hook) throws BundleException {
        Map<String, String> config = new HashMap<>();
        config.put(Constants.FRAMEWORK_STORAGE, storage.toString());
        if (clean) {
            config.put(Constants.FRAMEWORK_STORAGE_CLEAN, Constants.FRAMEWORK_STORAGE_CLEAN_ONFIRSTINIT);
        }
        config.put("felix.log.level", "1");
        framework = new FrameworkFactory().newFramework(config);
        framework.init();
        context = framework.getBundleContext();
        if (hook != null) {
            context.registerService(ResolverHookFactory.class, hook, null);
        }
        List<Bundle> installed = new ArrayList<>();
        for (Class<?> c : new Class<?>[] {org.osgi.util.function.Function.class, org.osgi.util.promise.Promise.class,
            org.osgi.service.component.ComponentContext.class, org.apache.felix.scr.info.ScrInfo.class,
            ActiveProgram.class}) {
            installed.add(context.installBundle("reference:" + location(c).toUri()));
        }
        api = installed.get(installed.size() - 1);
        framework.start();
        for (Bundle b : installed) {
            b.start();
        }
    }

    static Path location(Class<?> c) {
        try {
            return Path.of(c.getProtectionDomain().getCodeSource().getLocation().toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    /** @return the bundles at pando-program: locations */
    List<Bundle> programBundles() {
        List<Bundle> out = new ArrayList<>();
        for (Bundle b : context.getBundles()) {
            if (b.getLocation().startsWith("pando-program:")) {
                out.add(b);
            }
        }
        return out;
    }

    @Override
    public void close() throws Exception {
        framework.stop();
        framework.waitForStop(10_000);
    }
}
