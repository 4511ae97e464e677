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
     * accepted, counted ({@code quota_overflows}) and the session reported congested.
     *
     * @param sequence the ingress sequence, or {@link #NO_SEQUENCE}
     * @param data the datagram; ownership passes to the unit
     * @param control whether it is control information
     */
    void deliver(long sequence, ByteBuf data, boolean control);

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
