package io.pando.ee.api;

import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Objects;
import org.osgi.annotation.versioning.ProviderType;

/**
 * A program in the {@link ProgramStore}, as it is now.
 *
 * @param name the store name
 * @param symbolicName the bundle's {@code Bundle-SymbolicName}
 * @param version the bundle's {@code Bundle-Version}, as written in its manifest
 * @param bundleId the bundle's id, or -1 if its bundle is gone (uninstalled outside the store)
 * @param state the bundle's state: {@code INSTALLED}, {@code RESOLVED}, {@code STARTING}, {@code ACTIVE},
 *        {@code STOPPING}, or {@code MISSING} if its bundle is gone
 * @param programs the {@code name} properties of the {@code ActiveProgram} services the bundle registers now,
 *        sorted; empty if it is not active
 * @param jar the bundle's jar in the store (the bytes that were verified)
 * @param size the jar's size in bytes, or -1 if unknown (a bundle adopted without its jar)
 * @param sha256 the jar's SHA-256, lower-case hex, or empty if unknown
 * @param installedAt when it was installed
 */
@ProviderType
public record StoredProgram(String name, String symbolicName, String version, long bundleId, String state,
    List<String> programs, Path jar, long size, String sha256, Instant installedAt) {

    /** The state of a stored program whose bundle is gone. */
    public static final String MISSING = "MISSING";

    /**
     * @throws NullPointerException if an argument is null
     */
    public StoredProgram {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(symbolicName, "symbolicName");
        Objects.requireNonNull(version, "version");
        Objects.requireNonNull(state, "state");
        programs = List.copyOf(programs);
        Objects.requireNonNull(jar, "jar");
        Objects.requireNonNull(sha256, "sha256");
        Objects.requireNonNull(installedAt, "installedAt");
    }
}
