package io.pando.ee.impl;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;

/**
 * The program store's index file ({@code index.properties} in the store directory): one group of keys per stored
 * program, {@code FIELD.NAME=value} (field first, since a name may contain dots). Written to a temporary file and
 * moved over the old one, so a crash leaves the old index or the new one, never half of one.
 */
final class StoreIndex {

    /** The index file's name in the store directory. */
    static final String FILE = "index.properties";

    private static final String[] FIELDS = {"symbolic-name", "version", "location", "file", "size", "sha256",
        "installed"};

    /**
     * One stored program as the index keeps it.
     *
     * @param name the store name
     * @param symbolicName the bundle's symbolic name
     * @param version the bundle's version as written
     * @param location the bundle's location ({@code pando-program:NAME:VERSION})
     * @param file the jar's file name in the store directory
     * @param size the jar's size, -1 if unknown
     * @param sha256 the jar's SHA-256 in hex, empty if unknown
     * @param installedAt when it was installed
     */
    record Entry(String name, String symbolicName, String version, String location, String file, long size,
        String sha256, Instant installedAt) {
    }

    private StoreIndex() {
    }

    /**
     * @param dir the store directory
     * @return the entries by name; empty if there is no index
     * @throws IOException if the index cannot be read or is malformed
     */
    static Map<String, Entry> load(Path dir) throws IOException {
        Path file = dir.resolve(FILE);
        Map<String, Entry> out = new TreeMap<>();
        if (!Files.exists(file)) {
            return out;
        }
        Properties p = new Properties();
        try (InputStream in = Files.newInputStream(file)) {
            p.load(new java.io.InputStreamReader(in, StandardCharsets.UTF_8));
        }
        for (String key : p.stringPropertyNames()) {
            if (!key.startsWith("location.")) {
                continue;
            }
            String name = key.substring("location.".length());
            try {
                out.put(name, new Entry(name, get(p, "symbolic-name", name), get(p, "version", name),
                    get(p, "location", name), get(p, "file", name), Long.parseLong(get(p, "size", name)),
                    get(p, "sha256", name), Instant.parse(get(p, "installed", name))));
            } catch (NumberFormatException | DateTimeParseException e) {
                throw new IOException("malformed entry for '" + name + "' in " + file + ": " + e.getMessage(), e);
            }
        }
        return out;
    }

    private static String get(Properties p, String field, String name) throws IOException {
        String v = p.getProperty(field + "." + name);
        if (v == null) {
            throw new IOException("the index entry of '" + name + "' has no " + field);
        }
        return v;
    }

    /**
     * Replaces the index with {@code entries}, atomically.
     *
     * @param dir the store directory
     * @param entries every stored program
     * @throws IOException if it cannot be written
     */
    static void save(Path dir, Map<String, Entry> entries) throws IOException {
        Properties p = new Properties();
        for (Entry e : entries.values()) {
            String[] values = {e.symbolicName(), e.version(), e.location(), e.file(), Long.toString(e.size()),
                e.sha256(), e.installedAt().toString()};
            for (int i = 0; i < FIELDS.length; i++) {
                p.setProperty(FIELDS[i] + "." + e.name(), values[i]);
            }
        }
        Path tmp = Files.createTempFile(dir, ".index-", ".tmp");
        try {
            try (OutputStream out = Files.newOutputStream(tmp);
                java.io.Writer w = new java.io.OutputStreamWriter(out, StandardCharsets.UTF_8)) {
                p.store(w, "Pando program store: one group of keys per stored program; written by io.pando.ee");
            }
            Files.move(tmp, dir.resolve(FILE), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }
}
