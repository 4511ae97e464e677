package io.pando.api.policy;

import io.pando.api.program.Datagram;
import io.pando.api.session.SessionId;
import org.osgi.annotation.versioning.ConsumerType;
import org.osgi.annotation.versioning.ProviderType;

/**
 * Synchronized sending at the aggregation unit: decides when each processed datagram, gathered from all
 * units, is sent on. A strategy trades latency for order, for example a per-session reorder window that holds
 * a datagram until its predecessors arrive or a deadline passes.
 *
 * <p>The distribution unit stamps every datagram of a session with an ingress sequence number; datagrams a
 * program emits while processing one input carry that input's number. The aggregation unit drives one
 * strategy instance from one thread.
 *
 * <p><b>Ownership:</b> a datagram given to {@link #arrived} belongs to the strategy until it hands it to
 * exactly one of {@link Sink#send} or {@link Sink#drop}; its bytes stay valid until then. Every datagram must
 * reach the sink eventually, at the latest when its session is {@link #closed}.
 */
@ConsumerType
public interface AggregationStrategy {

    /**
     * A processed datagram arrived from a unit.
     *
     * @param session its session
     * @param sequence the ingress sequence number of the input it was produced from
     * @param datagram the datagram, now owned by the strategy
     * @param sink where to hand datagrams that are ready, this one or earlier held ones
     */
    void arrived(SessionId session, long sequence, Datagram datagram, Sink sink);

    /**
     * Time passed: hand over what waited long enough. Called at least every millisecond while the strategy
     * holds datagrams.
     *
     * @param nowNanos the current {@link System#nanoTime()}
     * @param sink where to hand datagrams that are ready
     */
    void advance(long nowNanos, Sink sink);

    /**
     * The session closed: hand over (send or drop) every datagram still held for it and forget it.
     *
     * @param session the closed session
     * @param sink where to hand the remaining datagrams
     */
    void closed(SessionId session, Sink sink);

    /** Takes datagrams back from the strategy; implemented by the aggregation unit. */
    @ProviderType
    interface Sink {

        /**
         * Sends a datagram on to its flow's destination; ownership passes back to the aggregation unit.
         *
         * @param session its session
         * @param datagram a datagram received through {@link AggregationStrategy#arrived}
         */
        void send(SessionId session, Datagram datagram);

        /**
         * Drops a datagram (counted per session); ownership passes back to the aggregation unit.
         *
         * @param session its session
         * @param datagram a datagram received through {@link AggregationStrategy#arrived}
         */
        void drop(SessionId session, Datagram datagram);
    }
}
