package io.pando.api.program;

import io.pando.api.session.FlowId;
import io.pando.api.session.SessionId;
import java.nio.ByteBuffer;
import java.util.Optional;
import org.osgi.annotation.versioning.ProviderType;

/**
 * What an {@link ActiveProgram} instance may do with its session. The execution environment implements it;
 * methods may be called only from within {@link ActiveProgram#process} on the calling thread.
 *
 * <p><b>Ownership:</b> every buffer passed in is copied (its bytes from position to limit) before the
 * method returns, and its position is not changed; the caller keeps the buffer. Every byte array returned
 * is a fresh copy owned by the caller.
 */
@ProviderType
public interface ProgramContext {

    /** Longest state key, in characters. */
    int MAX_KEY_LENGTH = 255;

    /** Most timers an instance may have set at one time. @since 1.2 */
    int MAX_TIMERS = 1024;

    /** Longest timer delay: one hour, in microseconds. @since 1.2 */
    long MAX_TIMER_DELAY_MICROS = 3_600_000_000L;

    /** @return the session this instance serves */
    SessionId session();

    /**
     * Emits a processed datagram on a flow of the session; the aggregation unit sends it on to the flow's
     * destination.
     *
     * @param flow a flow of this session (see {@link #flows()})
     * @param data the datagram's bytes, from position to limit (copied)
     * @throws IllegalArgumentException if the session has no such flow or the datagram is too large
     */
    void emit(FlowId flow, ByteBuffer data);

    /**
     * Reads session state. State is per session, shared by the instances on all units of the session (last
     * write wins) and moved with the session when it migrates.
     *
     * @param key 1 to {@link #MAX_KEY_LENGTH} characters
     * @return a copy of the value, or empty if the key has none
     * @throws IllegalArgumentException if the key is empty or too long
     */
    Optional<byte[]> state(String key);

    /**
     * Writes session state.
     *
     * @param key 1 to {@link #MAX_KEY_LENGTH} characters
     * @param value the value (copied), or {@code null} to remove the key
     * @throws IllegalArgumentException if the key is empty or too long
     * @throws IllegalStateException if the session's state quota would be exceeded; the state is unchanged
     */
    void putState(String key, byte[] value);

    /**
     * Sends control information to the instances of this program on every other unit of the session; they
     * receive it as a control datagram on {@code flow}.
     *
     * @param flow a flow of this session the control information is about
     * @param data the control information, from position to limit (copied)
     * @throws IllegalArgumentException if the session has no such flow or the data is too large
     */
    void sendControl(FlowId flow, ByteBuffer data);

    /**
     * The parameters the session was created with (for example a key), the same for every datagram.
     *
     * @return an unmodifiable map, empty if none were given
     * @since 1.1
     */
    java.util.Map<String, String> parameters();

    /**
     * The session's flows: every flow a datagram may come in on and a program may emit on. A single-flow
     * session has flow 0 only.
     *
     * @return an unmodifiable list in ascending order, never empty
     * @since 1.2
     */
    java.util.List<FlowId> flows();

    /**
     * Sets a timer: {@link ActiveProgram#onTimer} is called with {@code timer} once {@code delayMicros} have
     * passed (never earlier; later when the unit is busy). Setting a timer whose id is already set moves it.
     *
     * @param timer an id of the program's choosing
     * @param delayMicros in [0, {@link #MAX_TIMER_DELAY_MICROS}]; 0 fires as soon as the current call has returned
     * @throws IllegalArgumentException if the delay is out of range
     * @throws IllegalStateException if {@link #MAX_TIMERS} timers are already set
     * @since 1.2
     */
    void setTimer(long timer, long delayMicros);

    /**
     * Cancels a timer; nothing happens if it is not set (or already fired).
     *
     * @param timer the id given to {@link #setTimer}
     * @since 1.2
     */
    void cancelTimer(long timer);
}
