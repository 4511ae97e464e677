package io.pando.ep.rtpsync;

import java.util.Map;

/**
 * Drives an {@link RtpSyncProgram} as a unit does, on virtual time: datagrams arrive at given times, and timers fire
 * at their due time rounded up to the timer granularity (late, never early), in due order, before anything that
 * arrives later.
 */
final class SyncDriver {

    final SyncContext ctx;
    final RtpSyncProgram program;
    private final long granularity;

    /**
     * @param parameters the session's parameters
     * @param granularity how late timers fire: at the next multiple of this many µs (1: exactly on time)
     * @param flows the session's flows
     */
    SyncDriver(Map<String, String> parameters, long granularity, long... flows) {
        this.ctx = new SyncContext(parameters, flows);
        this.program = new RtpSyncProgram(() -> ctx.now);
        this.granularity = granularity;
        program.validate(parameters);
    }

    SyncDriver(Map<String, String> parameters) {
        this(parameters, 1, 0, 1);
    }

    /** Fires every timer due up to {@code time}, then sets the clock to {@code time}. */
    void advanceTo(long time) {
        while (true) {
            Map.Entry<Long, Long> next = null;
            for (Map.Entry<Long, Long> e : ctx.timers.entrySet()) {
                if (next == null || e.getValue() < next.getValue()) {
                    next = e;
                }
            }
            if (next == null) {
                break;
            }
            long fireAt = Math.max(ctx.now, Math.floorDiv(next.getValue() + granularity - 1, granularity) * granularity);
            if (fireAt > time) {
                break;
            }
            ctx.timers.remove(next.getKey());
            ctx.now = fireAt;
            program.onTimer(next.getKey(), ctx);
        }
        ctx.now = Math.max(ctx.now, time);
    }

    /** A datagram of {@code flow} arrives at {@code time}. */
    void arrive(long time, long flow, byte[] bytes) {
        advanceTo(time);
        program.process(SyncContext.datagram(flow, bytes), ctx);
    }

    /** Lets an hour of virtual time pass: every timer fires. */
    void drain() {
        advanceTo(ctx.now + 3_600_000_000L);
    }
}
