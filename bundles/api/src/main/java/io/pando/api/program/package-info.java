/**
 * The active-program API: the one package an active program is written against.
 *
 * <p>An active program is a bundle that registers an {@link io.pando.api.program.ActiveProgram} service. The
 * execution environment calls {@link io.pando.api.program.ActiveProgram#process process} for every datagram of
 * the program's session, with a {@link io.pando.api.program.ProgramContext} through which the program emits
 * results on any of the session's flows, keeps session state, sends control information to its other instances and
 * sets timers ({@link io.pando.api.program.ActiveProgram#onTimer onTimer}).
 *
 * <h2>Buffer ownership</h2>
 * No buffer crosses this API with its ownership: a {@link io.pando.api.program.Datagram} handed to a program
 * is a read-only view that is valid only until {@code process} returns, and every buffer a program passes to
 * the context is copied before the call returns and stays the program's. A program that needs bytes later
 * copies them.
 *
 * <p>At upload, a program may import only this package, {@code io.pando.api.session} and a safe subset of
 * {@code java.*}.
 */
@Export
@Version("1.2.0")
package io.pando.api.program;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
