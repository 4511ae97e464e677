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

    /** @return the session this instance serves */
    SessionId session();

    /**
     * Emits a processed datagram on a flow of the session; the aggregation unit sends it on to the flow's
     * destination.
     *
     * @param flow a flow of this session
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
}
