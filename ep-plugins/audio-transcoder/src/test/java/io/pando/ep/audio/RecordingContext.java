package io.pando.ep.audio;

import io.pando.api.program.Datagram;
import io.pando.api.program.ProgramContext;
import io.pando.api.session.FlowId;
import io.pando.api.session.SessionId;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A one-session {@link ProgramContext} that keeps what the program emits, copied as the router copies it, and
 * checks that the program leaves the position of the buffers it hands over alone. One flow; no state, no control,
 * no timers.
 */
final class RecordingContext implements ProgramContext {

    final List<Datagram> emitted = new ArrayList<>();
    private final Map<String, String> parameters;

    RecordingContext(Map<String, String> parameters) {
        this.parameters = Map.copyOf(parameters);
    }

    RecordingContext() {
        this(Map.of());
    }

    @Override
    public SessionId session() {
        return new SessionId(42);
    }

    @Override
    public void emit(FlowId flow, ByteBuffer data) {
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
        throw new AssertionError("audio-transcoder keeps no session state");
    }

    @Override
    public void putState(String key, byte[] value) {
        throw new AssertionError("audio-transcoder keeps no session state");
    }

    @Override
    public void sendControl(FlowId flow, ByteBuffer data) {
        throw new AssertionError("audio-transcoder sends no control information");
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
        throw new AssertionError("audio-transcoder sets no timers");
    }

    @Override
    public void cancelTimer(long timer) {
        throw new AssertionError("audio-transcoder sets no timers");
    }

    /** @return the bytes of everything emitted so far, in order, and forgets them */
    byte[] drain() {
        ByteArrayOutputStream all = new ByteArrayOutputStream();
        for (Datagram d : emitted) {
            all.writeBytes(d.copyData());
        }
        emitted.clear();
        return all.toByteArray();
    }
}
