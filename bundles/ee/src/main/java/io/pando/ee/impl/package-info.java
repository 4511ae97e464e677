/**
 * The implementation of upload verification and of the program store. Verification:
 * {@link io.pando.ee.impl.JarProgramVerifier} (archive and manifest checks, registered as the
 * {@link io.pando.ee.api.ProgramVerifier} service), {@link io.pando.ee.impl.BytecodeScanner} (ASM scan of each
 * class) and {@link io.pando.ee.impl.Allowlist} (the rules, loaded from {@code allowlist.txt}). The store:
 * {@link io.pando.ee.impl.BundleProgramStore} (the {@link io.pando.ee.api.ProgramStore} service),
 * {@link io.pando.ee.impl.StoreIndex} (its index file), {@link io.pando.ee.impl.DeclaredPrograms} (program names
 * read from DS descriptors) and {@link io.pando.ee.impl.ProgramWiringHook} (the resolver hook that confines program
 * bundles). Private to the bundle; ASM is embedded here too.
 */
package io.pando.ee.impl;
