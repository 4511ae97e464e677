package io.pando.ep.aesgcm.impl;

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

/** A ProgramContext for one session that records what the program emits, copying like the router does. */
final class TestContext implements ProgramContext {

    final List<Datagram> emitted = new ArrayList<>();
    final List<Datagram> controls = new ArrayList<>();
    private final SessionId session;
    private final Map<String, String> parameters;
    private final Map<String, byte[]> state = new HashMap<>();

    TestContext(long session, Map<String, String> parameters) {
        this.session = new SessionId(session);
        this.parameters = Map.copyOf(parameters);
    }

    static TestContext keyed(long session, String keyHex) {
        return new TestContext(session, Map.of("key", keyHex));
    }

    @Override
    public SessionId session() {
        return session;
    }

    @Override
    public void emit(FlowId flow, ByteBuffer data) {
        int position = data.position();
        emitted.add(Datagram.wrap(flow, false, copy(data)));
        if (data.position() != position) {
            throw new AssertionError("a context never moves the caller's buffer");
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
        controls.add(Datagram.wrap(flow, true, copy(data)));
    }

    @Override
    public Map<String, String> parameters() {
        return parameters;
    }

    /** One flow, flow 0, as in a single-flow session. */
    @Override
    public List<FlowId> flows() {
        return List.of(FlowId.of(0));
    }

    @Override
    public void setTimer(long timer, long delayMicros) {
        throw new AssertionError("the AES-GCM programs set no timers");
    }

    @Override
    public void cancelTimer(long timer) {
        throw new AssertionError("the AES-GCM programs set no timers");
    }

    /** @return the bytes of the only emitted datagram, and forgets it */
    byte[] take() {
        if (emitted.size() != 1) {
            throw new AssertionError("expected one emitted datagram, got " + emitted.size());
        }
        return emitted.remove(0).copyData();
    }

    private static ByteBuffer copy(ByteBuffer data) {
        ByteBuffer copy = ByteBuffer.allocate(data.remaining());
        copy.put(data.duplicate()).flip();
        return copy;
    }
}
