package io.pando.policies.impl;

import io.pando.api.policy.AggregationStrategy;
import io.pando.api.program.Datagram;
import io.pando.api.session.SessionId;
import org.osgi.service.component.annotations.Component;

/**
 * Sends every processed datagram on as soon as it arrives: the lowest latency, and whatever reordering the
 * parallel units introduced reaches the receiver (ARTP does not promise order).
 *
 * <p><b>Threading:</b> stateless; any thread, any number of aggregation units may share the one instance.
 * Holds nothing, so {@link #advance} and {@link #closed} have nothing to do.
 */
@Component(name = "io.pando.policies.pass-through", service = AggregationStrategy.class,
    property = "name=" + PassThroughStrategy.NAME)
public class PassThroughStrategy implements AggregationStrategy {

    /** The strategy's name. */
    public static final String NAME = "pass-through";

    @Override
    public void arrived(SessionId session, long sequence, Datagram datagram, Sink sink) {
        sink.send(session, datagram);
    }

    @Override
    public void advance(long nowNanos, Sink sink) {
        // nothing is held
    }

    @Override
    public void closed(SessionId session, Sink sink) {
        // nothing is held
    }
}
