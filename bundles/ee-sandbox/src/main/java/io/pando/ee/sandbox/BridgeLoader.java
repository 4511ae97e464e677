package io.pando.ee.sandbox;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.lang.reflect.InvocationTargetException;
import org.osgi.framework.Bundle;

/**
 * Loads the bridge ({@code io.pando.ee.sandbox.bridge}) so that it links against the program API classes of the
 * API bundle inside the framework, the very classes the program bundle is wired to: classes of {@code io.pando.api}
 * come from the API bundle, the bridge's own classes are defined here from the sandbox jar, everything else
 * (the JDK, this package) comes from the application class loader. The sandbox's own code never names a program
 * API type, so the API is loaded once, by the API bundle.
 */
final class BridgeLoader extends ClassLoader {

    static final String BRIDGE_PACKAGE = "io.pando.ee.sandbox.bridge.";
    static final String ADAPTER = BRIDGE_PACKAGE + "ProgramAdapter";
    private static final String API_PREFIX = "io.pando.api.";

    static {
        registerAsParallelCapable();
    }

    private final Bundle api;

    BridgeLoader(ClassLoader parent, Bundle api) {
        super("pando-sandbox-bridge", parent);
        this.api = api;
    }

    @Override
    protected Class<?> loadClass(String name, boolean resolve) throws ClassNotFoundException {
        if (name.startsWith(API_PREFIX)) {
            return api.loadClass(name);
        }
        if (!name.startsWith(BRIDGE_PACKAGE)) {
            return super.loadClass(name, resolve);
        }
        synchronized (getClassLoadingLock(name)) {
            Class<?> c = findLoadedClass(name);
            if (c == null) {
                c = findClass(name);
            }
            if (resolve) {
                resolveClass(c);
            }
            return c;
        }
    }

    @Override
    protected Class<?> findClass(String name) throws ClassNotFoundException {
        String resource = name.replace('.', '/') + ".class";
        try (InputStream in = getParent().getResourceAsStream(resource)) {
            if (in == null) {
                throw new ClassNotFoundException(name);
            }
            byte[] b = in.readAllBytes();
            return defineClass(name, b, 0, b.length);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + resource + " from the sandbox jar", e);
        }
    }

    /**
     * Creates the bridge for a program service object.
     *
     * @param program the {@code ActiveProgram} service object
     * @param context the session
     * @return the program, callable in JDK types
     */
    ProgramCalls adapter(Object program, SessionContext context) throws ReflectiveOperationException {
        try {
            return (ProgramCalls) loadClass(ADAPTER).getConstructor(Object.class, SessionContext.class)
                .newInstance(program, context);
        } catch (InvocationTargetException e) {
            if (e.getCause() instanceof RuntimeException r) {
                throw r;
            }
            throw e;
        }
    }
}
