package io.pando.link;

import io.pando.api.session.SessionId;
import io.pando.api.unit.UnitId;
import java.util.Map;
import java.util.concurrent.CompletionStage;
import org.osgi.annotation.versioning.ProviderType;

/** The aggregation unit as the other roles see it: local, or a proxy of the one on another node. */
@ProviderType
public interface AggregationPort {

    /** @return the name of the aggregation strategy in use */
    String strategy();

    /**
     * Switches the strategy while datagrams flow: the old one releases everything it holds, in order, then
     * the new one takes over. Nothing is lost.
     *
     * @throws IllegalArgumentException if no strategy of that name is registered
     */
    void selectStrategy(String name);

    /**
     * Opens the session's egress: an ARTP connection to the destination.
     *
     * @return completes when the connection is established, exceptionally if it cannot be
     */
    CompletionStage<Void> open(SessionPlan plan);

    /**
     * Attaches a unit to an open session.
     *
     * @param credit told the bytes of each result once it has left for the destination
     * @throws java.util.NoSuchElementException if the session is not open here
     */
    AggregationChannel attach(SessionId session, UnitId unit, Credit credit);

    /**
     * Sends whatever the strategy still holds, then closes the egress connection in order.
     *
     * @return completes, with the session's final egress counters, when the destination has acknowledged
     *     everything
     */
    CompletionStage<Map<String, Long>> close(SessionId session);

    /** @return the session's egress counters (snake_case), empty if unknown */
    Map<String, Long> counters(SessionId session);

    /** @return the session's reordering measurements (snake_case), empty if unknown */
    Map<String, Long> reorder(SessionId session);

    /** @return the aggregation unit's totals (snake_case) */
    Map<String, Long> counters();
}
