package io.pando.ee.sandbox;

/**
 * Constants of the sandbox protocol, version 3 (docs/ee.md, "Protocol"), and the program API's limits the sandbox
 * enforces. Internal to the sandbox; the unit has its own codec.
 */
public final class Protocol {

    /** Protocol version carried by INIT. */
    public static final int VERSION = 3;
    /** Longest frame (type and payload), both directions. */
    public static final int MAX_FRAME = 16 << 20;
    /** Most datagrams in one BATCH. */
    public static final int MAX_BATCH = 65_535;
    /** A RESULTS frame is sent as soon as it passes this size, before the end of its batch. */
    public static final int RESULTS_FLUSH_BYTES = 256 << 10;

    /** Unit → sandbox: the session (first frame, once). */
    public static final int INIT = 0x01;
    /** Unit → sandbox: datagrams to process. */
    public static final int BATCH = 0x02;
    /** Unit → sandbox: answer what was received, then exit 0. */
    public static final int SHUTDOWN = 0x03;
    /** Unit → sandbox: a record is waiting in the ring (sent only when the sandbox said it sleeps). */
    public static final int WAKE_SANDBOX = 0x04;

    /** Sandbox → unit: the program is ready (answers INIT). */
    public static final int READY = 0x81;
    /** Sandbox → unit: results of datagrams, in order. */
    public static final int RESULTS = 0x82;
    /** Sandbox → unit: a datagram overran its CPU budget; the sandbox halts. */
    public static final int OVER_BUDGET = 0x83;
    /** Sandbox → unit: start-up failed, with the reason; the sandbox exits. */
    public static final int FAILED = 0x84;
    /** Sandbox → unit: a datagram waited too long with little CPU; the sandbox halts. */
    public static final int BLOCKED = 0x85;
    /** Sandbox → unit: a record is waiting in the ring (sent only when the unit said it sleeps). */
    public static final int WAKE_UNIT = 0x86;

    /** Result op: a datagram emitted on a flow. */
    public static final int OP_EMIT = 1;
    /** Result op: a state write. */
    public static final int OP_STATE_PUT = 2;
    /** Result op: a state removal. */
    public static final int OP_STATE_REMOVE = 3;
    /** Result op: control information for the program's other instances. */
    public static final int OP_CONTROL = 4;
    /** Result op: a timer set or moved (u64 timer, u64 delay µs). */
    public static final int OP_TIMER_SET = 5;
    /** Result op: a timer cancelled (u64 timer). */
    public static final int OP_TIMER_CANCEL = 6;

    /** BATCH entry flag: a control datagram. */
    public static final int FLAG_CONTROL = 1;
    /** BATCH entry flag: a timer expired; the data is its u64 id. */
    public static final int FLAG_TIMER = 2;
    /** Bytes of a BATCH entry before its data: u64 seq · u8 flags · u32 flow · u32 length. */
    public static final int ENTRY_HEADER = 17;

    /** Result status: processed. */
    public static final int STATUS_OK = 0;
    /** Result status: the program threw; the datagram is dropped and counted. */
    public static final int STATUS_THREW = 1;

    /** Largest emitted datagram or control information (program API). */
    public static final int MAX_RESULT = 1 << 20;
    /** Largest state value (program API). */
    public static final int MAX_STATE_VALUE = 64 << 10;
    /** Largest session state: the sum of key lengths and value lengths (program API). */
    public static final long MAX_STATE_BYTES = 1 << 20;
    /** Longest state key, in characters (program API). */
    public static final int MAX_KEY_LENGTH = 255;
    /** Most timers a program may have set at one time (program API). */
    public static final int MAX_TIMERS = 1024;
    /** Longest timer delay in microseconds (program API). */
    public static final long MAX_TIMER_DELAY_MICROS = 3_600_000_000L;
    /** Most flows of a session (INIT). */
    public static final int MAX_FLOWS = 64;
    /** Most ops one datagram may produce (the result's u16 count). */
    public static final int MAX_OPS = 0xFFFF;
    /** Most bytes of ops one datagram may produce, so that its result fits a frame. */
    public static final int MAX_OPS_BYTES = 15 << 20;

    private Protocol() {
    }

    /** @return the frame type's name, or its number in hex */
    public static String typeName(int type) {
        return switch (type) {
            case INIT -> "INIT";
            case BATCH -> "BATCH";
            case SHUTDOWN -> "SHUTDOWN";
            case WAKE_SANDBOX -> "WAKE";
            case WAKE_UNIT -> "WAKE";
            case io.pando.ee.sandbox.launch.RingFile.SPILL -> "SPILL";
            case READY -> "READY";
            case RESULTS -> "RESULTS";
            case OVER_BUDGET -> "OVER_BUDGET";
            case FAILED -> "FAILED";
            case BLOCKED -> "BLOCKED";
            default -> String.format("0x%02x", type);
        };
    }
}
