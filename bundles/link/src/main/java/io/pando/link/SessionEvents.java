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
}
