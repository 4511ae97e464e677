package io.pando.ep.rtpsync;

import io.pando.api.program.Datagram;
import io.pando.api.program.ProgramContext;
import io.pando.api.session.FlowId;
import io.pando.api.session.SessionId;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A one-session {@link ProgramContext} on a virtual clock ({@link #now}, µs). It records every emit with the time it
 * happened (copied as the router copies), refuses emits on flows the session lacks, keeps state in a map, and keeps
 * the timers the program sets (id to due time) for {@link SyncDriver} to fire. It checks the API's rules: delays in
 * range, at most {@link #MAX_TIMERS} timers, buffers not moved.
 */
final class SyncContext implements ProgramContext {

    /** One emitted datagram: when, on which flow, what. */
    record Emitted(long time, long flow, byte[] bytes) {

        int sequence() {
            return ((bytes[2] & 0xFF) << 8) | (bytes[3] & 0xFF);
        }

        long timestamp() {
            return ByteBuffer.wrap(bytes).getInt(4) & 0xFFFF_FFFFL;
        }

        boolean rtcp() {
            return (bytes[1] & 0xFF) >= 192 && (bytes[1] & 0xFF) <= 223;
        }
    }

    long now;
    final List<Emitted> emitted = new ArrayList<>();
    final Map<Long, Long> timers = new HashMap<>();
    final Map<String, byte[]> state = new HashMap<>();
    int timerSets;
    /** When set, the next emit fails as the router's would for a datagram that is too large. */
    boolean failNextEmit;
    int timerCancels;
    private final Map<String, String> parameters;
    private final List<FlowId> flows;

    SyncContext(Map<String, String> parameters, long... flows) {
        this.parameters = Map.copyOf(parameters);
        List<FlowId> f = new ArrayList<>();
        for (long id : flows) {
            f.add(FlowId.of(id));
        }
        this.flows = List.copyOf(f);
    }

    @Override
    public SessionId session() {
        return new SessionId(11);
    }

    @Override
    public void emit(FlowId flow, ByteBuffer data) {
        if (!flows.contains(flow)) {
            throw new IllegalArgumentException("the session has no flow " + flow);
        }
        if (failNextEmit) {
            failNextEmit = false;
            throw new IllegalArgumentException("the datagram is too large");
        }
        int position = data.position();
        int limit = data.limit();
        byte[] copy = new byte[data.remaining()];
        data.duplicate().get(copy);
        emitted.add(new Emitted(now, flow.value(), copy));
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
        throw new AssertionError("rtp-sync sends no control information");
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
        if (delayMicros < 0 || delayMicros > MAX_TIMER_DELAY_MICROS) {
            throw new IllegalArgumentException("timer delay out of range: " + delayMicros);
        }
        if (!timers.containsKey(timer) && timers.size() >= MAX_TIMERS) {
            throw new IllegalStateException("too many timers");
        }
        timers.put(timer, now + delayMicros);
        timerSets++;
    }

    @Override
    public void cancelTimer(long timer) {
        timers.remove(timer);
        timerCancels++;
    }

    /** @return the emitted datagrams of one flow, in order */
    List<Emitted> on(long flow) {
        return emitted.stream().filter(e -> e.flow() == flow).toList();
    }

    /** @return the counters the program last wrote to session state */
    String stats() {
        byte[] s = state.get(RtpSyncProgram.STATS_KEY);
        return s == null ? "" : new String(s, StandardCharsets.US_ASCII);
    }

    /** @return a datagram of {@code flow} carrying {@code bytes} */
    static Datagram datagram(long flow, byte[] bytes) {
        return Datagram.of(FlowId.of(flow), bytes);
    }
}
