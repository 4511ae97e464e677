package io.pando.link;

import io.netty.buffer.ByteBuf;
import java.util.Map;
import java.util.concurrent.CompletionStage;
import org.osgi.annotation.versioning.ProviderType;

/** One session on one unit: the distribution unit's handle. */
@ProviderType
public interface UnitChannel {

    /** The sequence of control information that did not enter through the ingress. */
    long NO_SEQUENCE = -1;

    /**
     * Hands a datagram to the unit. Never refuses and never blocks: a datagram over the session's quota is
     * accepted, counted ({@code quota_overflows}) and the session reported congested. The datagram belongs to
     * flow 0.
     *
     * @param sequence the ingress sequence, or {@link #NO_SEQUENCE}
     * @param data the datagram; ownership passes to the unit
     * @param control whether it is control information
     */
    default void deliver(long sequence, ByteBuf data, boolean control) {
        deliver(sequence, 0, data, control);
    }

    /**
     * Hands a datagram of one flow of the session to the unit; otherwise as {@link #deliver(long, ByteBuf, boolean)}.
     *
     * @param sequence the ingress sequence, or {@link #NO_SEQUENCE}
     * @param flow the flow the datagram came in on (or, for control information, the flow it is about): a flow
     *     of the session's plan
     * @param data the datagram; ownership passes to the unit
     * @param control whether it is control information
     * @since 1.2
     */
    void deliver(long sequence, long flow, ByteBuf data, boolean control);

    /**
     * Closes the session on this unit once every datagram delivered before has been processed and its
     * results handed to the aggregation unit.
     *
     * @return completes when the session is drained and closed on the unit
     */
    CompletionStage<Void> close();

    /** @return the session's resource accounting on this unit, snake_case keys */
    Map<String, Long> counters();
}
