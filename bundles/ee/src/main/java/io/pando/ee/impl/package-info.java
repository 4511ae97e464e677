/**
 * The implementation of upload verification: {@link io.pando.ee.impl.JarProgramVerifier} (archive and manifest
 * checks, registered as the {@link io.pando.ee.api.ProgramVerifier} service), {@link io.pando.ee.impl.BytecodeScanner}
 * (ASM scan of each class) and {@link io.pando.ee.impl.Allowlist} (the rules, loaded from {@code allowlist.txt}).
 * Private to the bundle; ASM is embedded here too.
 */
package io.pando.ee.impl;
