package io.pando.ep.duplicator;

import io.pando.api.program.Datagram;
import io.pando.api.program.ProgramContext;
import io.pando.api.session.FlowId;
import io.pando.api.session.SessionId;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A one-session {@link ProgramContext} with the given flows. It keeps what the program emits, copied as the router
 * copies it, refuses emits on flows the session does not have (as the router does), checks that the program leaves
 * its buffers' position alone, and keeps state in a map. No control, no timers.
 */
final class RecordingContext implements ProgramContext {

    final List<Datagram> emitted = new ArrayList<>();
    final Map<String, byte[]> state = new HashMap<>();
    private final Map<String, String> parameters;
    private final List<FlowId> flows;

    RecordingContext(Map<String, String> parameters, long... flows) {
        this.parameters = Map.copyOf(parameters);
        List<FlowId> f = new ArrayList<>();
        for (long id : flows) {
            f.add(FlowId.of(id));
        }
        this.flows = List.copyOf(f);
    }

    @Override
    public SessionId session() {
        return new SessionId(7);
    }

    @Override
    public void emit(FlowId flow, ByteBuffer data) {
        if (!flows.contains(flow)) {
            throw new IllegalArgumentException("the session has no flow " + flow);
        }
        int position = data.position();
        int limit = data.limit();
        ByteBuffer copy = ByteBuffer.allocate(data.remaining());
        copy.put(data.duplicate()).flip();
        emitted.add(Datagram.wrap(flow, false, copy));
        if (data.position() != position || data.limit() != limit) {
            throw new AssertionError("emit must not move the caller's buffer");
        }
    }

    @Override
    public Optional<byte[]> state(String key) {
        return Optional.ofNullable(state.get(key)).map(byte[]::clone);
    }

    @Override
    public void putState(String key, byte[] value) {
        if (value == null) {
            state.remove(key);
        } else {
            state.put(key, value.clone());
        }
    }

    @Override
    public void sendControl(FlowId flow, ByteBuffer data) {
        throw new AssertionError("packet-duplicator sends no control information");
    }

    @Override
    public Map<String, String> parameters() {
        return parameters;
    }

    @Override
    public List<FlowId> flows() {
        return flows;
    }

    @Override
    public void setTimer(long timer, long delayMicros) {
        throw new AssertionError("packet-duplicator sets no timers");
    }

    @Override
    public void cancelTimer(long timer) {
        throw new AssertionError("packet-duplicator sets no timers");
    }

    /** @return the datagrams emitted on {@code flow}, in order */
    List<Datagram> on(long flow) {
        return emitted.stream().filter(d -> d.flow().value() == flow).toList();
    }
}
