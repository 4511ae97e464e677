package io.pando.unit.impl;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Collections;
import java.util.Enumeration;
import java.util.List;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import org.osgi.framework.Bundle;

/** Packs an installed program bundle back into a jar, for a sandbox that installs it in its own framework. */
final class BundleJars {

    private BundleJars() {
    }

    /**
     * @param bundle the program's bundle
     * @param dir a cache directory
     * @return the jar: {@code dir/<symbolic-name>-<version>-<bundle id>-<last modified>.jar}, written once
     * @throws IOException if it cannot be written
     */
    static Path pack(Bundle bundle, Path dir) throws IOException {
        String name = (bundle.getSymbolicName() + "-" + bundle.getVersion() + "-" + bundle.getBundleId() + "-"
            + bundle.getLastModified()).replaceAll("[^A-Za-z0-9._-]", "_") + ".jar";
        Path jar = dir.resolve(name);
        if (Files.isRegularFile(jar)) {
            return jar;
        }
        URL manifest = bundle.getEntry("META-INF/MANIFEST.MF");
        if (manifest == null) {
            throw new IOException("bundle " + bundle.getSymbolicName() + " has no manifest");
        }
        Enumeration<URL> found = bundle.findEntries("/", "*", true);
        List<URL> entries = found == null ? List.of() : Collections.list(found);
        Path tmp = Files.createTempFile(dir, "pack-", ".jar");
        try (OutputStream os = Files.newOutputStream(tmp); JarOutputStream out = new JarOutputStream(os)) {
            copy(out, "META-INF/MANIFEST.MF", manifest);
            java.util.Set<String> seen = new java.util.HashSet<>();
            for (URL u : entries) {
                String path = u.getPath().startsWith("/") ? u.getPath().substring(1) : u.getPath();
                if (path.isEmpty() || path.endsWith("/") || path.equals("META-INF/MANIFEST.MF") || !seen.add(path)) {
                    continue;
                }
                copy(out, path, u);
            }
        } catch (IOException | RuntimeException e) {
            Files.deleteIfExists(tmp);
            throw e;
        }
        Files.move(tmp, jar, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        return jar;
    }

    private static void copy(JarOutputStream out, String path, URL from) throws IOException {
        out.putNextEntry(new JarEntry(path));
        try (InputStream in = from.openStream()) {
            in.transferTo(out);
        }
        out.closeEntry();
    }
}
