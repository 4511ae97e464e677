package io.pando.ee.api;

import java.net.URI;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.osgi.annotation.versioning.ProviderType;

/**
 * The programs uploaded to this node: verifies a program bundle, installs and starts it, lists, upgrades and
 * removes it. Pando implements it (the {@code io.pando.ee} bundle registers one as a service, configuration PID
 * {@code io.pando.ee.store}); the {@code pando:program-*} commands call it.
 *
 * <p>A stored program has a <em>store name</em> (the {@code name} given at install, else the bundle's
 * {@code Bundle-SymbolicName}; 1 to 64 characters of {@code [A-Za-z0-9._-]}) and one version at a time. Its bundle
 * is installed at the location {@code pando-program:NAME:VERSION}, and wires only to the program API, the
 * execution environment and Declarative Services (a resolver hook refuses anything else).
 *
 * <p>Installing a name that exists with another version is an upgrade: the new bundle is installed and started
 * first, so that both versions are registered for a moment, then the old one is uninstalled. Nothing is changed by
 * an install that fails: no bundle, no file, no index entry is left behind.
 *
 * <p>Thread safe: changes are serialized; downloads and verification run outside the lock.
 */
@ProviderType
public interface ProgramStore {

    /** The bundle location prefix of every stored program: {@code pando-program:NAME:VERSION}. */
    String LOCATION_PREFIX = "pando-program:";

    /**
     * Verifies, installs and starts a program bundle from a file on this node. The file is copied into the store
     * first; it may change or disappear afterwards.
     *
     * @param file the program bundle (a jar)
     * @param name the store name, or empty for the bundle's symbolic name
     * @return the verification report and, if it was accepted, the installed program; a refused report changes
     *         nothing
     * @throws ProgramStoreException if the file cannot be read, the name is invalid, the same version is
     *         installed, the store is full, a program name is taken, or the bundle cannot be installed, wired or
     *         started, or registers no {@code ActiveProgram}; nothing is changed
     */
    InstallResult install(Path file, Optional<String> name) throws ProgramStoreException;

    /**
     * As {@link #install(Path, Optional)}, for a program bundle at a URL: {@code file:}, {@code http:} or
     * {@code https:} only. Reading stops past the verifier's size limit ({@link VerificationLimits#maxJarBytes()})
     * with a refused report ({@link Finding.Code#TOO_LARGE}); connecting and reading have time limits.
     *
     * @param url where the bundle is
     * @param name the store name, or empty for the bundle's symbolic name
     * @return the verification report and, if it was accepted, the installed program
     * @throws ProgramStoreException as for a file, and if the scheme is not allowed, the host cannot be reached,
     *         the server answers other than 200, or a time limit passes
     */
    InstallResult install(URI url, Optional<String> name) throws ProgramStoreException;

    /** @return the stored programs, by name */
    List<StoredProgram> list();

    /**
     * @param name a store name
     * @return the stored program of that name, if any
     */
    Optional<StoredProgram> get(String name);

    /**
     * Stops and uninstalls a stored program's bundle and deletes its jar. Sessions that run it lose their program:
     * the unit holds their datagrams until a program of that name is registered again.
     *
     * @param name a store name
     * @return the program as it was before removal
     * @throws ProgramStoreException if there is no stored program of that name, or its bundle cannot be
     *         uninstalled
     */
    StoredProgram remove(String name) throws ProgramStoreException;
}
