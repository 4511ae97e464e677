package io.pando.api.session;

import io.pando.api.unit.UnitId;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import org.osgi.annotation.versioning.ProviderType;

/**
 * A snapshot of an active session: its flows, the units that serve it and its state. A snapshot never
 * changes; ask {@link SessionService} again for a newer one.
 *
 * @param id the session id
 * @param owner the authenticated user that opened the session; not blank
 * @param state the life-cycle state
 * @param flows the session's flows, at least one, with distinct flow ids (copied, unmodifiable)
 * @param units the units that currently serve the session (copied, unmodifiable; empty while establishing)
 */
@ProviderType
public record ActiveSession(SessionId id, String owner, SessionState state, List<Flow> flows, Set<UnitId> units) {

    /**
     * @throws NullPointerException if an argument or an element is null
     * @throws IllegalArgumentException if the owner is blank, there is no flow or two flows share an id
     */
    public ActiveSession {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(owner, "owner");
        Objects.requireNonNull(state, "state");
        if (owner.isBlank()) {
            throw new IllegalArgumentException("a session has an owner");
        }
        flows = List.copyOf(flows);
        units = Set.copyOf(units);
        if (flows.isEmpty()) {
            throw new IllegalArgumentException("a session has at least one flow");
        }
        if (flows.stream().map(Flow::id).distinct().count() != flows.size()) {
            throw new IllegalArgumentException("flow ids of a session are distinct: " + flows);
        }
    }

    /**
     * @param flowId a flow id
     * @return the flow of this session with that id, or {@code null} if the session has no such flow
     */
    public Flow flow(FlowId flowId) {
        for (Flow flow : flows) {
            if (flow.id().equals(flowId)) {
                return flow;
            }
        }
        return null;
    }
}
