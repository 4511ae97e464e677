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
 * @param flows the session's flows (u32 each)
 * @param parameters the session's parameters, unmodifiable
 * @param state the session state the unit holds, in the unit's order (a mutable copy for the sandbox)
 * @param timers the ids of the timers the program has set (the unit keeps them across sandboxes)
 * @param rings whether the unit offers the shared-memory rings ({@code PATH.ring})
 */
record Init(String session, String program, long budgetMicros, long[] flows, Map<String, String> parameters,
    LinkedHashMap<String, byte[]> state, long[] timers, boolean rings) {

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
        if (nFlows < 1 || nFlows > Protocol.MAX_FLOWS) {
            throw new ProtocolException("INIT: " + nFlows + " flows, expected 1.." + Protocol.MAX_FLOWS);
        }
        long[] flows = new long[nFlows];
        for (int i = 0; i < nFlows; i++) {
            flows[i] = Fields.u32(in, "INIT flow");
            for (int k = 0; k < i; k++) {
                if (flows[k] == flows[i]) {
                    throw new ProtocolException("INIT: flow " + flows[i] + " given twice");
                }
            }
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
        int nTimers = Fields.u16(in, "INIT timer count");
        if (nTimers > Protocol.MAX_TIMERS) {
            throw new ProtocolException("INIT: " + nTimers + " timers, at most " + Protocol.MAX_TIMERS);
        }
        long[] timers = new long[nTimers];
        for (int i = 0; i < nTimers; i++) {
            timers[i] = Fields.u64(in, "INIT timer");
        }
        int rings = Fields.u8(in, "INIT rings");
        if (rings > 1) {
            throw new ProtocolException("INIT: rings " + rings + ", expected 0 or 1");
        }
        if (in.hasRemaining()) {
            throw new ProtocolException("INIT: " + in.remaining() + " bytes after the rings field");
        }
        return new Init(session, program, budget, flows, Collections.unmodifiableMap(params), state, timers,
            rings == 1);
    }
}
