package io.pando.link;

import io.netty.buffer.ByteBuf;
import io.pando.api.unit.UnitId;
import org.osgi.annotation.versioning.ConsumerType;

/** What a unit tells the distribution unit about one session. Implemented by the distribution unit. */
@ConsumerType
public interface SessionEvents {

    /**
     * The session went over half its quota on a unit (congested), or back under a quarter (clear). Called from whichever thread crossed the
     * threshold, once per crossing; must not block.
     */
    void congestion(UnitId unit, boolean congested);

    /**
     * The session's program on {@code from} sent control information to its other instances.
     *
     * @param data the control datagram; ownership passes
     */
    void control(UnitId from, ByteBuf data);

    /**
     * The session's program on {@code from} sent control information about one flow to its other instances
     * ({@code ProgramContext.sendControl(flow, ...)}); they receive it as a control datagram on that flow. The
     * default forwards it as {@link #control(UnitId, ByteBuf)} does, on flow 0.
     *
     * @param from the unit the program runs on
     * @param flow a flow of the session's plan
     * @param data the control datagram; ownership passes
     * @since 1.2
     */
    default void control(UnitId from, long flow, ByteBuf data) {
        control(from, data);
    }

    /**
     * The session's program on {@code unit} failed in a way the unit had to act on: its sandbox was stopped
     * (over its CPU budget, blocked, out of memory, crashed) or could not start, and is restarted with back-off
     * or quarantined. Called on the unit's thread; must not block. The default ignores it.
     *
     * @param unit the unit
     * @param reason what happened, one line
     * @since 1.1
     */
    default void programFault(UnitId unit, String reason) {
    }
}
