/**
 * Execution environments for uploaded active programs. This version holds upload verification:
 * {@link io.pando.ee.api.ProgramVerifier} checks a program bundle before it is installed and answers with a
 * {@link io.pando.ee.api.VerificationReport} that lists every reason for a rejection as a
 * {@link io.pando.ee.api.Finding}, naming the archive entry, class and member concerned.
 *
 * <p>A program bundle is accepted only if it is a well-formed jar within the
 * {@link io.pando.ee.api.VerificationLimits}, its manifest imports only the active-program API
 * ({@code io.pando.api.program}, {@code io.pando.api.session}) and allowlisted JDK packages, and the bytecode of
 * every class references only its own classes, the program API and allowlisted JDK classes and members.
 *
 * <p>Since 1.1, {@link io.pando.ee.api.ProgramStore} keeps the programs uploaded to a node: it verifies a bundle,
 * installs and starts it, and lists, upgrades and removes stored programs
 * ({@link io.pando.ee.api.StoredProgram}, {@link io.pando.ee.api.InstallResult}).
 */
@Export
@Version("1.1.0")
package io.pando.ee.api;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
