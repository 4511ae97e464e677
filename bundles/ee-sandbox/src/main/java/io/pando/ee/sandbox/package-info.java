/**
 * The sandbox side of the {@code process} execution environment (docs/ee.md): the main class of the child JVM,
 * {@link io.pando.ee.sandbox.SandboxMain}, that runs one active program for one session and unit.
 *
 * <p>It starts an embedded Felix framework with Declarative Services, installs the infrastructure bundles of its
 * runtime directory and then the program bundle, confined by a resolver hook to the program API, connects to the
 * unit's Unix domain socket and answers the unit's frames: INIT with READY (or FAILED), BATCH with RESULTS, while a
 * watchdog thread halts the JVM when a datagram overruns its CPU budget (OVER_BUDGET) or waits too long
 * (BLOCKED).
 *
 * <p>Nothing here is an API: the types that are public are so only because the classes of
 * {@code io.pando.ee.sandbox.bridge}, loaded by another class loader, call them. The package references no
 * program API type: those live in the bridge, which sees the API bundle's classes.
 */
package io.pando.ee.sandbox;
