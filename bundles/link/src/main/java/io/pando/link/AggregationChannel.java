package io.pando.link;

import io.netty.buffer.ByteBuf;
import org.osgi.annotation.versioning.ProviderType;

/** One unit's way into one session at the aggregation unit. */
@ProviderType
public interface AggregationChannel {

    /**
     * Hands a processed datagram to the aggregation unit. Never blocks; the unit's {@link Credit} is told
     * when the datagram has left.
     *
     * @param sequence the ingress sequence of the datagram it was computed from
     * @param data the result; ownership passes
     */
    void deliver(long sequence, ByteBuf data);
}
