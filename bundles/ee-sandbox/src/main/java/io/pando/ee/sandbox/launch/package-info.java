/**
 * Starts sandboxes of the {@code process} execution environment (docs/ee.md): the library a unit uses to run a
 * program in a child JVM, confined.
 *
 * <p>{@link io.pando.ee.sandbox.launch.SandboxLauncher#start SandboxLauncher.start} takes a
 * {@link io.pando.ee.sandbox.launch.SandboxSpec} (runtime directory, program jar and name, socket, CPU share,
 * memory limit, bubblewrap mode) and returns a {@link io.pando.ee.sandbox.launch.Sandbox}: the running process,
 * inside its {@link io.pando.ee.sandbox.launch.Cgroups cgroup} from its first instruction and, when bubblewrap is
 * usable, in its own user, PID, network, IPC, UTS and mount namespaces. The sandbox connects to the socket by
 * itself; speaking the protocol is the caller's business.
 *
 * <p>JDK only (no OSGi, no Netty): the package is embedded in the unit bundle.
 */
package io.pando.ee.sandbox.launch;
