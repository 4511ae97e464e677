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
     * @param data the result of flow 0; ownership passes
     */
    default void deliver(long sequence, ByteBuf data) {
        deliver(sequence, 0, data);
    }

    /**
     * Hands a processed datagram of one flow to the aggregation unit, which sends it to that flow's destination;
     * otherwise as {@link #deliver(long, ByteBuf)}.
     *
     * @param sequence the ingress sequence of the datagram it was computed from (for a result of a timer, the
     *     sequence of the last datagram the program processed before)
     * @param flow a flow of the session's plan
     * @param data the result; ownership passes
     * @since 1.2
     */
    void deliver(long sequence, long flow, ByteBuf data);

    /**
     * The unit's acknowledgement of the session's datagrams (cumulative, batched): every result of every datagram
     * this unit was given up to and including the one numbered {@code sequence} (in the order the unit was given
     * them, which is the order it processes them) has been handed to this channel, before this call. The
     * distribution unit may then forget those datagrams; until then it retains them, to give them to another unit
     * if this one dies (io.pando.link, "Failure"). A unit calls it from the thread that delivers its results, after
     * those results, and not necessarily for every datagram: each call covers everything before it. A datagram
     * without an ingress sequence (control information) is never acknowledged.
     *
     * <p>The default does nothing: an aggregation unit that gets a unit's results directly has nothing to forward.
     *
     * @param sequence the ingress sequence of the last datagram covered
     * @since 1.4
     */
    default void processed(long sequence) {
    }
}
