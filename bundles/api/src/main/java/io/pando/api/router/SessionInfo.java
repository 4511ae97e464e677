package io.pando.api.router;

import io.pando.api.session.Flow;
import io.pando.api.session.FlowId;
import io.pando.api.session.SessionId;
import io.pando.api.session.SessionState;
import io.pando.api.unit.UnitId;
import java.net.InetSocketAddress;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.osgi.annotation.versioning.ProviderType;

/**
 * A session as the router reports it. Counter maps use stable snake_case keys (they are printed as JSON).
 *
 * @param id the session id a sender puts in its ARTP handshake
 * @param name the administrator's label
 * @param program the active program's name
 * @param state the lifecycle state
 * @param ingress the address a sender connects to
 * @param destination where processed datagrams go
 * @param units the units serving the session
 * @param loadBalancing the load-balancing policy this session uses
 * @param created when the session was created
 * @param counters the distribution and aggregation counters of the session
 * @param unitCounters per unit: the resource accounting of the session on that unit
 * @param reorder the aggregation strategy's reordering measurements for the session (empty if it keeps none)
 * @param flows the session's flows sorted by id (flow 0 to {@code destination} among them); empty means flow 0 only
 * @param keyed whether the session has a key (a sender must know it to connect); the key itself is never part of
 *     a session's report
 * @since 1.2 (flows), 1.3 (keyed)
 */
@ProviderType
public record SessionInfo(SessionId id, String name, String program, SessionState state, InetSocketAddress ingress,
    InetSocketAddress destination, List<UnitId> units, String loadBalancing, Instant created,
    Map<String, Long> counters, Map<UnitId, Map<String, Long>> unitCounters, Map<String, Long> reorder,
    List<Flow> flows, boolean keyed) {

    /** Copies every collection. */
    public SessionInfo {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(program, "program");
        Objects.requireNonNull(state, "state");
        Objects.requireNonNull(ingress, "ingress");
        Objects.requireNonNull(destination, "destination");
        Objects.requireNonNull(loadBalancing, "loadBalancing");
        Objects.requireNonNull(created, "created");
        units = List.copyOf(units);
        counters = Map.copyOf(counters);
        unitCounters = Map.copyOf(unitCounters);
        reorder = Map.copyOf(reorder);
        flows = flows.isEmpty() ? List.of(new Flow(FlowId.of(0), "default", destination)) : List.copyOf(flows);
    }

    /**
     * An unkeyed session.
     *
     * @param id see the record
     * @param name see the record
     * @param program see the record
     * @param state see the record
     * @param ingress see the record
     * @param destination see the record
     * @param units see the record
     * @param loadBalancing see the record
     * @param created see the record
     * @param counters see the record
     * @param unitCounters see the record
     * @param reorder see the record
     * @param flows see the record
     */
    public SessionInfo(SessionId id, String name, String program, SessionState state, InetSocketAddress ingress,
        InetSocketAddress destination, List<UnitId> units, String loadBalancing, Instant created,
        Map<String, Long> counters, Map<UnitId, Map<String, Long>> unitCounters, Map<String, Long> reorder,
        List<Flow> flows) {
        this(id, name, program, state, ingress, destination, units, loadBalancing, created, counters, unitCounters,
            reorder, flows, false);
    }

    /**
     * A session with one flow, flow 0, to {@code destination}.
     *
     * @param id see the record
     * @param name see the record
     * @param program see the record
     * @param state see the record
     * @param ingress see the record
     * @param destination see the record
     * @param units see the record
     * @param loadBalancing see the record
     * @param created see the record
     * @param counters see the record
     * @param unitCounters see the record
     * @param reorder see the record
     */
    public SessionInfo(SessionId id, String name, String program, SessionState state, InetSocketAddress ingress,
        InetSocketAddress destination, List<UnitId> units, String loadBalancing, Instant created,
        Map<String, Long> counters, Map<UnitId, Map<String, Long>> unitCounters, Map<String, Long> reorder) {
        this(id, name, program, state, ingress, destination, units, loadBalancing, created, counters, unitCounters,
            reorder, List.of(), false);
    }
}
