package io.pando.ee.sandbox;

import java.nio.ByteBuffer;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The INIT frame: the session a sandbox serves.
 *
 * @param session the session id, as the unit writes it (unsigned decimal)
 * @param program the program's name
 * @param budgetMicros CPU budget per datagram in microseconds, 0 for none
 * @param flows the session's flows
 * @param parameters the session's parameters, unmodifiable
 * @param state the session state the unit holds, in the unit's order (a mutable copy for the sandbox)
 */
record Init(String session, String program, long budgetMicros, int[] flows, Map<String, String> parameters,
    LinkedHashMap<String, byte[]> state) {

    /** Parses an INIT payload; every field is checked against the frame. */
    static Init parse(ByteBuffer in) throws ProtocolException {
        int version = Fields.u16(in, "INIT version");
        if (version != Protocol.VERSION) {
            throw new ProtocolException("INIT: protocol version " + version + ", this sandbox speaks "
                + Protocol.VERSION);
        }
        String session = Fields.str(in, "INIT session");
        String program = Fields.str(in, "INIT program");
        long budget = Fields.u32(in, "INIT cpu budget");
        int nFlows = Fields.u16(in, "INIT flow count");
        int[] flows = new int[nFlows];
        for (int i = 0; i < nFlows; i++) {
            flows[i] = Fields.u16(in, "INIT flow");
        }
        int nParams = Fields.u16(in, "INIT parameter count");
        Map<String, String> params = new LinkedHashMap<>();
        for (int i = 0; i < nParams; i++) {
            String k = Fields.str(in, "INIT parameter key");
            params.put(k, Fields.str(in, "INIT parameter value"));
        }
        long nState = Fields.u32(in, "INIT state count");
        LinkedHashMap<String, byte[]> state = new LinkedHashMap<>();
        for (long i = 0; i < nState; i++) {
            String k = Fields.str(in, "INIT state key");
            state.put(k, Fields.bytes(in, Protocol.MAX_STATE_VALUE, "INIT state value"));
        }
        if (in.hasRemaining()) {
            throw new ProtocolException("INIT: " + in.remaining() + " bytes after the state");
        }
        return new Init(session, program, budget, flows, Collections.unmodifiableMap(params), state);
    }
}
