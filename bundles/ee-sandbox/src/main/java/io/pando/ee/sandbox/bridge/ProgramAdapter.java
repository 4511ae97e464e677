package io.pando.ee.sandbox.bridge;

import io.pando.api.program.ActiveProgram;
import io.pando.api.program.Datagram;
import io.pando.api.program.ProgramContext;
import io.pando.api.session.FlowId;
import io.pando.api.session.SessionId;
import io.pando.ee.sandbox.ProgramCalls;
import io.pando.ee.sandbox.SessionContext;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * One program instance as the sandbox calls it. The {@link ProgramContext} handed to the program is one object,
 * reused for every datagram and timer; the session's flow ids are made once, so that a datagram costs the program
 * API's {@link Datagram} view and nothing else.
 */
public final class ProgramAdapter implements ProgramCalls {

    private final ActiveProgram program;
    private final SessionContext session;
    private final Context context = new Context();
    private final SessionId sessionId;
    /** The session's flows, ascending: numbers and ids. */
    private final long[] flowNumbers;
    private final FlowId[] flowIds;
    private final List<FlowId> flows;

    /**
     * @param program an {@code ActiveProgram} service object
     * @param session the session the program serves
     * @throws ClassCastException if {@code program} is not an {@code ActiveProgram} of the API bundle
     */
    public ProgramAdapter(Object program, SessionContext session) {
        this.program = (ActiveProgram) Objects.requireNonNull(program, "program");
        this.session = session;
        this.sessionId = new SessionId(session.sessionId());
        this.flowNumbers = session.flows();
        Arrays.sort(flowNumbers);
        this.flowIds = new FlowId[flowNumbers.length];
        for (int i = 0; i < flowIds.length; i++) {
            flowIds[i] = FlowId.of(flowNumbers[i]);
        }
        this.flows = List.of(flowIds);
    }

    @Override
    public void validate(Map<String, String> parameters) {
        program.validate(parameters);
    }

    @Override
    public void process(long flow, boolean control, ByteBuffer data) throws Throwable {
        program.process(Datagram.wrap(flowId(flow), control, data), context);
    }

    @Override
    public void timer(long timer) throws Throwable {
        program.onTimer(timer, context);
    }

    private FlowId flowId(long flow) {
        int i = Arrays.binarySearch(flowNumbers, flow);
        return i >= 0 ? flowIds[i] : FlowId.of(flow); // the worker passes only the session's flows
    }

    /** The program's view of its session; valid only inside process, on its thread (checked by the session). */
    private final class Context implements ProgramContext {

        @Override
        public SessionId session() {
            session.checkActive();
            return sessionId;
        }

        @Override
        public void emit(FlowId flow, ByteBuffer data) {
            session.emit(Objects.requireNonNull(flow, "flow").value(), data);
        }

        @Override
        public Optional<byte[]> state(String key) {
            return Optional.ofNullable(session.state(key));
        }

        @Override
        public void putState(String key, byte[] value) {
            session.putState(key, value);
        }

        @Override
        public void sendControl(FlowId flow, ByteBuffer data) {
            session.sendControl(Objects.requireNonNull(flow, "flow").value(), data);
        }

        @Override
        public Map<String, String> parameters() {
            session.checkActive();
            return session.parameters();
        }

        @Override
        public List<FlowId> flows() {
            session.checkActive();
            return flows;
        }

        @Override
        public void setTimer(long timer, long delayMicros) {
            session.setTimer(timer, delayMicros);
        }

        @Override
        public void cancelTimer(long timer) {
            session.cancelTimer(timer);
        }
    }
}
