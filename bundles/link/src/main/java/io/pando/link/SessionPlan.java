package io.pando.link;

import io.pando.api.router.Execution;
import io.pando.api.session.Flow;
import io.pando.api.session.FlowId;
import io.pando.api.session.SessionId;
import io.pando.api.unit.UnitId;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import org.osgi.annotation.versioning.ProviderType;

/**
 * A session as its roles need to know it.
 *
 * @param id the session id
 * @param name the administrator's label
 * @param program the active program's name
 * @param parameters the program's parameters
 * @param destination where the aggregation unit sends the results
 * @param units the units serving the session
 * @param quotaBytes the session's quota in each unit's buffer pool
 * @param reorderWindowMillis the session's own reorder window hold time, if it set one
 * @param execution where the program runs and its limits (an empty isolation: each unit chooses by the
 *     program's origin)
 * @param flows the session's flows sorted by id, flow 0 (to {@code destination}) among them
 * @since 1.2 (flows)
 */
@ProviderType
public record SessionPlan(SessionId id, String name, String program, Map<String, String> parameters,
    InetSocketAddress destination, List<UnitId> units, long quotaBytes, Optional<Long> reorderWindowMillis, Execution execution,
    List<Flow> flows) {

    /** Copies the collections. */
    public SessionPlan {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(program, "program");
        Objects.requireNonNull(destination, "destination");
        Objects.requireNonNull(reorderWindowMillis, "reorderWindowMillis");
        Objects.requireNonNull(execution, "execution");
        parameters = Map.copyOf(parameters);
        units = List.copyOf(units);
        Objects.requireNonNull(flows, "flows");
        if (flows.isEmpty()) {
            flows = List.of(new Flow(FlowId.of(0), "default", destination));
        } else {
            flows = List.copyOf(flows);
            long last = -1;
            boolean hasDefault = false;
            for (Flow f : flows) {
                if (f.id().value() <= last) {
                    throw new IllegalArgumentException("flows must be sorted by id without repeats, got " + flows);
                }
                last = f.id().value();
                hasDefault |= last == 0;
            }
            if (!hasDefault) {
                throw new IllegalArgumentException("a session has flow 0, got " + flows);
            }
        }
        if (quotaBytes < 1) {
            throw new IllegalArgumentException("quotaBytes must be >= 1, got " + quotaBytes);
        }
    }

    /**
     * A plan with the router's default {@link Execution}.
     *
     * @param id see the record
     * @param name see the record
     * @param program see the record
     * @param parameters see the record
     * @param destination see the record
     * @param units see the record
     * @param quotaBytes see the record
     * @param reorderWindowMillis see the record
     */
    public SessionPlan(SessionId id, String name, String program, Map<String, String> parameters,
        InetSocketAddress destination, List<UnitId> units, long quotaBytes, Optional<Long> reorderWindowMillis) {
        this(id, name, program, parameters, destination, units, quotaBytes, reorderWindowMillis, Execution.DEFAULT,
            List.of());
    }

    /**
     * A plan whose session has one flow, flow 0, to {@code destination}.
     *
     * @param id see the record
     * @param name see the record
     * @param program see the record
     * @param parameters see the record
     * @param destination see the record
     * @param units see the record
     * @param quotaBytes see the record
     * @param reorderWindowMillis see the record
     * @param execution see the record
     */
    public SessionPlan(SessionId id, String name, String program, Map<String, String> parameters,
        InetSocketAddress destination, List<UnitId> units, long quotaBytes, Optional<Long> reorderWindowMillis,
        Execution execution) {
        this(id, name, program, parameters, destination, units, quotaBytes, reorderWindowMillis, execution, List.of());
    }

    /**
     * @param flow a flow number
     * @return the flow of this session with that number, or {@code null}
     */
    public Flow flow(long flow) {
        for (Flow f : flows) {
            if (f.id().value() == flow) {
                return f;
            }
        }
        return null;
    }
}
