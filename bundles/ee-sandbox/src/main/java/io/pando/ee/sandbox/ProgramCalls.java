package io.pando.ee.sandbox;

import java.nio.ByteBuffer;
import java.util.Map;

/**
 * The program as the sandbox calls it, in JDK types: implemented by the bridge
 * ({@code io.pando.ee.sandbox.bridge.ProgramAdapter}), which sees the program API's classes of the API bundle and
 * adapts them.
 */
public interface ProgramCalls {

    /**
     * Calls {@code ActiveProgram.validate}.
     *
     * @param parameters the session's parameters
     * @throws IllegalArgumentException if the program refuses them
     */
    void validate(Map<String, String> parameters);

    /**
     * Calls {@code ActiveProgram.process} with a datagram viewing {@code data} from position to limit.
     *
     * @param flow the datagram's flow (u32)
     * @param control whether it is a control datagram
     * @param data the datagram's bytes; not to be kept after the call
     * @throws Throwable whatever the program throws
     */
    void process(long flow, boolean control, ByteBuffer data) throws Throwable;

    /**
     * Calls {@code ActiveProgram.onTimer}.
     *
     * @param timer the timer's id
     * @throws Throwable whatever the program throws
     */
    void timer(long timer) throws Throwable;
}
