/**
 * The bridge between the sandbox and the program API: adapts an {@code ActiveProgram} service object to
 * {@link io.pando.ee.sandbox.ProgramCalls} and implements {@code ProgramContext} over
 * {@link io.pando.ee.sandbox.SessionContext}.
 *
 * <p>Loaded only by the sandbox's bridge class loader, which takes the program API's classes from the API bundle
 * in the embedded framework: never load these classes through the application class loader (the program API is
 * not on the sandbox's class path).
 */
package io.pando.ee.sandbox.bridge;
