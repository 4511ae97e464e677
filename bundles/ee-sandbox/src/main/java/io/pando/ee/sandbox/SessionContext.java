package io.pando.ee.sandbox;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * What a program may do with its session, in protocol terms: the sandbox's side of
 * {@code io.pando.api.program.ProgramContext}, which the bridge adapts to the program API's types. It enforces the
 * API's rules (only the session's flows; a result or control datagram of at most 1 MiB; keys of 1–255 characters;
 * values of at most 64 KiB; the state quota of 1 MiB; timer delays of at most an hour and at most 1024 timers set)
 * by throwing to the program, and records what the program does, in call order, as the ops of the datagram's
 * result. It keeps the sandbox's copy of the session state (seeded by INIT, changed by the program's writes) and
 * the ids of the timers set (seeded by INIT, changed by the program and by expiries), so that it counts the same
 * timers as the unit, which owns them.
 *
 * <p>Valid only on the worker thread while a datagram is in process: any other call throws
 * {@link IllegalStateException}. The ops are written where the worker says, normally straight into the RESULTS frame
 * being built (see {@link #begin(Thread, ByteBuffer, int)}); else into a buffer of the context's, reused from
 * datagram to datagram.
 *
 * <p>Ops recorded before the program throws stay in its result, as in the in-process environment, where they take
 * effect when called.
 */
public final class SessionContext {

    private final long sessionId;
    private final long[] flows;
    private final TimerIds timers = new TimerIds();
    private final Map<String, String> parameters;
    private final LinkedHashMap<String, byte[]> state;
    private long stateBytes;
    private Thread worker;
    private boolean active;

    private ByteBuffer own;
    /** Where the ops go: {@link #own} or the worker's buffer (replaced by a larger copy when full). */
    private ByteBuffer ops;
    /** Where the current datagram's ops begin in {@link #ops}. */
    private int base;
    private int opCount;
    /** End of the last complete op: an op cut short (stack overflow inside a call) is not kept. */
    private int committed;

    SessionContext(long sessionId, long[] flows, Map<String, String> parameters, LinkedHashMap<String, byte[]> state,
        long[] timers) {
        this.sessionId = sessionId;
        this.flows = flows.clone();
        for (long t : timers) {
            this.timers.add(t);
        }
        this.parameters = parameters;
        this.state = state;
        for (Map.Entry<String, byte[]> e : state.entrySet()) {
            stateBytes += e.getKey().length() + e.getValue().length;
        }
    }

    // ---- called by the bridge on behalf of the program

    /** @return the session id (an unsigned 64-bit value) */
    public long sessionId() {
        return sessionId;
    }

    /** @return the session's parameters, unmodifiable */
    public Map<String, String> parameters() {
        return parameters;
    }

    /** @return the session's flows (a copy) */
    public long[] flows() {
        return flows.clone();
    }

    /**
     * Records an emitted datagram.
     *
     * @param flow the flow's id
     * @param data its bytes from position to limit (copied; the position is not changed)
     * @throws IllegalArgumentException if the session has no such flow or the datagram is over 1 MiB
     * @throws IllegalStateException outside a process call, or if the datagram's result would be too large
     */
    public void emit(long flow, ByteBuffer data) {
        flowOp(Protocol.OP_EMIT, flow, data, "a result");
    }

    /**
     * Records control information for the program's other instances.
     *
     * @param flow the flow's id
     * @param data its bytes from position to limit (copied)
     * @throws IllegalArgumentException if the session has no such flow or the data is over 1 MiB
     * @throws IllegalStateException outside a process call, or if the datagram's result would be too large
     */
    public void sendControl(long flow, ByteBuffer data) {
        flowOp(Protocol.OP_CONTROL, flow, data, "control information");
    }

    private void flowOp(int kind, long flow, ByteBuffer data, String what) {
        checkActive();
        long f = checkFlow(flow);
        if (data == null) {
            throw new NullPointerException("data");
        }
        int len = data.remaining();
        if (len > Protocol.MAX_RESULT) {
            throw new IllegalArgumentException(what + " has at most " + Protocol.MAX_RESULT + " bytes, got " + len);
        }
        reserve(1 + 4 + 4 + len);
        ops.put((byte) kind).putInt((int) f).putInt(len);
        ops.put(ops.position(), data, data.position(), len);
        ops.position(ops.position() + len);
        commit();
    }

    /**
     * @param key 1 to 255 characters
     * @return a copy of the key's value, or null if it has none
     * @throws IllegalArgumentException if the key is empty or too long
     * @throws IllegalStateException outside a process call
     */
    public byte[] state(String key) {
        checkActive();
        checkKey(key);
        byte[] v = state.get(key);
        return v == null ? null : v.clone();
    }

    /**
     * Writes (or with {@code null} removes) a state key, in the sandbox's copy, and records the op.
     *
     * @param key 1 to 255 characters
     * @param value the value (copied), or null to remove the key
     * @throws IllegalArgumentException if the key is empty or too long, or the value over 64 KiB
     * @throws IllegalStateException outside a process call, or if the state quota would be exceeded (the state is
     *         unchanged)
     */
    public void putState(String key, byte[] value) {
        checkActive();
        checkKey(key);
        byte[] old = state.get(key);
        long without = stateBytes - (old == null ? 0 : old.length + key.length());
        byte[] k = key.getBytes(StandardCharsets.UTF_8);
        if (value == null) {
            reserve(1 + 2 + k.length);
            ops.put((byte) Protocol.OP_STATE_REMOVE);
            Fields.str(ops, k);
            if (old != null) {
                state.remove(key);
                stateBytes = without;
            }
            commit();
            return;
        }
        if (value.length > Protocol.MAX_STATE_VALUE) {
            throw new IllegalArgumentException("a state value has at most " + Protocol.MAX_STATE_VALUE
                + " bytes, got " + value.length);
        }
        long next = without + value.length + key.length();
        if (next > Protocol.MAX_STATE_BYTES) {
            throw new IllegalStateException("session state is limited to " + Protocol.MAX_STATE_BYTES
                + " bytes; this write would make it " + next);
        }
        byte[] copy = value.clone();
        reserve(1 + 2 + k.length + 4 + copy.length);
        ops.put((byte) Protocol.OP_STATE_PUT);
        Fields.str(ops, k);
        ops.putInt(copy.length).put(copy);
        state.put(key, copy);
        stateBytes = next;
        commit();
    }

    /**
     * Sets or moves a timer and records the op.
     *
     * @param timer the program's id for it
     * @param delayMicros in [0, {@link Protocol#MAX_TIMER_DELAY_MICROS}]
     * @throws IllegalArgumentException if the delay is out of range
     * @throws IllegalStateException outside a call, or if the timer is new and {@link Protocol#MAX_TIMERS} are set
     */
    public void setTimer(long timer, long delayMicros) {
        checkActive();
        if (delayMicros < 0 || delayMicros > Protocol.MAX_TIMER_DELAY_MICROS) {
            throw new IllegalArgumentException("a timer's delay is in [0, " + Protocol.MAX_TIMER_DELAY_MICROS
                + "] µs, got " + delayMicros);
        }
        if (timers.size() >= Protocol.MAX_TIMERS && !timers.contains(timer)) {
            throw new IllegalStateException("at most " + Protocol.MAX_TIMERS + " timers may be set at one time; "
                + "this session has " + timers.size() + " (cancel one, or move one by setting its id again)");
        }
        reserve(1 + 8 + 8);
        ops.put((byte) Protocol.OP_TIMER_SET).putLong(timer).putLong(delayMicros);
        timers.add(timer);
        commit();
    }

    /**
     * Cancels a timer and records the op; nothing if it is not set.
     *
     * @param timer the program's id for it
     * @throws IllegalStateException outside a call
     */
    public void cancelTimer(long timer) {
        checkActive();
        if (!timers.contains(timer)) {
            return;
        }
        reserve(1 + 8);
        ops.put((byte) Protocol.OP_TIMER_CANCEL).putLong(timer);
        timers.remove(timer);
        commit();
    }

    /** @return how many timers are set */
    int timerCount() {
        return timers.size();
    }

    /** A timer expired (the unit sent its entry): it is no longer set. Called by the worker before onTimer. */
    void timerExpired(long timer) {
        timers.remove(timer);
    }

    /** @return whether {@code flow} is one of the session's */
    boolean hasFlow(long flow) {
        for (long f : flows) {
            if (f == flow) {
                return true;
            }
        }
        return false;
    }

    /** @throws IllegalStateException unless called on the worker thread while a datagram is in process */
    public void checkActive() {
        if (!active || Thread.currentThread() != worker) {
            throw new IllegalStateException("the program context is valid only while process() or onTimer() runs, on its thread");
        }
    }

    private long checkFlow(long flow) {
        if (hasFlow(flow)) {
            return flow;
        }
        throw new IllegalArgumentException("session has no flow " + flow + "; its flows: " + Arrays.toString(flows));
    }

    private static void checkKey(String key) {
        if (key == null || key.isEmpty() || key.length() > Protocol.MAX_KEY_LENGTH) {
            throw new IllegalArgumentException("a state key has 1 to " + Protocol.MAX_KEY_LENGTH + " characters, got "
                + (key == null ? "null" : key.length()));
        }
    }

    private void reserve(int n) {
        if (opCount >= Protocol.MAX_OPS) {
            throw new IllegalStateException("one datagram may produce at most " + Protocol.MAX_OPS
                + " results, state writes and control messages");
        }
        ops.position(committed);
        long need = (long) committed - base + n;
        if (need > Protocol.MAX_OPS_BYTES) {
            throw new IllegalStateException("one datagram may produce at most " + Protocol.MAX_OPS_BYTES
                + " bytes of results, state writes and control messages");
        }
        long end = (long) committed + n;
        if (end > ops.capacity()) {
            long cap = Math.max(ops.capacity(), 1024);
            while (cap < end) {
                cap <<= 1;
            }
            cap = Math.min(cap, (long) base + Protocol.MAX_OPS_BYTES);
            ByteBuffer bigger = ops.isDirect() ? ByteBuffer.allocateDirect((int) cap) : ByteBuffer.allocate((int) cap);
            bigger.put(0, ops, 0, committed).position(committed);
            ops = bigger;
        }
    }

    private void commit() {
        committed = ops.position();
        opCount++;
    }

    // ---- called by the worker

    /** Starts a datagram: no ops yet, calls accepted from {@code thread}; ops go into a buffer of the context's. */
    void begin(Thread thread) {
        if (own == null) {
            own = ByteBuffer.allocate(64 << 10);
        }
        begin(thread, own, 0);
    }

    /**
     * Starts a datagram whose ops are written into {@code target} from index {@code at} (bytes before it are kept
     * when the buffer has to grow; {@link #buffer()} is then a larger copy).
     */
    void begin(Thread thread, ByteBuffer target, int at) {
        worker = thread;
        ops = target;
        ops.limit(ops.capacity()).position(at);
        base = at;
        committed = at;
        opCount = 0;
        active = true;
    }

    /** @return the buffer the current datagram's ops are in, from {@link #opsStart()} (a larger copy if it grew) */
    ByteBuffer buffer() {
        return ops;
    }

    /** @return where the current datagram's ops begin in {@link #buffer()} */
    int opsStart() {
        return base;
    }

    /** Ends a datagram: calls refused from now on. */
    void end() {
        active = false;
    }

    /** @return the number of complete ops of the current datagram */
    int opCount() {
        return opCount;
    }

    /** @return the length of the complete ops of the current datagram, encoded */
    int opsLength() {
        return committed - base;
    }

    /** Appends the complete ops of the current datagram, encoded, to {@code out}. */
    void copyOps(ByteBuffer out) {
        out.put(out.position(), ops, base, committed - base);
        out.position(out.position() + committed - base);
    }

    /** @return the sandbox's copy of the state (tests) */
    Map<String, byte[]> stateView() {
        return java.util.Collections.unmodifiableMap(state);
    }
}
