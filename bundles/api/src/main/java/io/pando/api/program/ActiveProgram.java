package io.pando.api.program;

import org.osgi.annotation.versioning.ConsumerType;

/**
 * An active program: user code that processes the datagrams of its session inside the router. A program
 * bundle registers one as an OSGi service; the execution environment creates one instance per session and
 * unit that serves it.
 *
 * <p>The router calls {@link #process} for one datagram at a time per instance (never concurrently), so an
 * instance needs no locking for its own fields; state that must survive a migration to another unit goes to
 * {@link ProgramContext#state} instead. In an execution environment with a CPU budget, a call that overruns
 * is stopped and counted against the session.
 *
 * <p>A session has one or more flows ({@link ProgramContext#flows}); {@link Datagram#flow()} tells which flow a
 * datagram came in on, and a program may emit on any flow of its session. Work that is due later (a playout
 * deadline, a flush) is done with timers ({@link ProgramContext#setTimer}, {@link #onTimer}).
 */
@ConsumerType
public interface ActiveProgram {

    /**
     * Processes one datagram: emit zero or more datagrams through {@code ctx}, update state, send control
     * information. Control datagrams (sent by the user or by other instances of this program through
     * {@link ProgramContext#sendControl}) arrive here too, with {@link Datagram#isControl()} true.
     *
     * <p><b>Ownership:</b> {@code in} and its bytes belong to the router and are valid only until this method
     * returns; copy what you keep. {@code ctx} is valid only during the call, on the calling thread.
     *
     * @param in the datagram, read-only
     * @param ctx the program's view of its session
     * @throws Exception to report that the datagram could not be processed: the datagram is dropped and
     *         counted, the instance keeps running
     */
    void process(Datagram in, ProgramContext ctx) throws Exception;

    /**
     * Checks a session's parameters before the session is created, so that a session the program cannot serve
     * is refused with a reason instead of failing on every datagram. Called on a fresh instance that is then
     * discarded. The default accepts anything.
     *
     * @param parameters the parameters the session is being created with
     * @throws IllegalArgumentException saying which parameter is wrong and what is expected
     * @since 1.1
     */
    default void validate(java.util.Map<String, String> parameters) {
    }

    /**
     * A timer this instance set with {@link ProgramContext#setTimer} expired. Called like {@link #process}: one
     * call at a time per instance, never concurrently with {@code process}, with the same CPU budget; {@code ctx}
     * may emit, use state, send control information and set further timers. Results emitted here are ordered
     * after the results of the datagrams this instance processed before.
     *
     * <p>Timers belong to the instance on one unit: they are not moved, and they are discarded when the session
     * closes. A timer that is late (the unit was busy) fires late, never early. The default does nothing.
     *
     * @param timer the id the program gave the timer
     * @param ctx the program's view of its session, valid during the call
     * @throws Exception counted like a failed datagram; the instance keeps running
     * @since 1.2
     */
    default void onTimer(long timer, ProgramContext ctx) throws Exception {
    }
}
