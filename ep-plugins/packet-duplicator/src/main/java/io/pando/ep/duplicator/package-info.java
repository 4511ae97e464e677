/**
 * The {@code packet-duplicator} active program: every datagram of a session is emitted once on each of several
 * output flows, so one input stream reaches several destinations. Private to the bundle: the program is a
 * prototype-scope Declarative Services component, one instance per session and unit, driven from one thread at a
 * time, so an instance keeps its resolved outputs and counters in plain fields.
 *
 * <p>Only {@code java.lang}, {@code java.nio.ByteBuffer}, {@code java.nio.charset} and {@code java.util} are used,
 * as upload verification requires.
 */
package io.pando.ep.duplicator;
