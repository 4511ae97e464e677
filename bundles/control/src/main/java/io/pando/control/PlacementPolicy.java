package io.pando.control;

import io.pando.api.unit.UnitId;
import java.util.List;
import org.osgi.annotation.versioning.ConsumerType;

/**
 * Chooses the units of an admitted session. Implemented by vendors and registered as a service (property
 * {@code name}); the control unit uses the best-ranked one, or its default (the k eligible units with the most free
 * CPU share). Called with the control unit's reservations locked: must be quick and must not block.
 */
@ConsumerType
public interface PlacementPolicy {

    /**
     * @param demand what the session asks for; {@link SessionDemand#units()} is k
     * @param view the units and reservations
     * @return k distinct units of the view; fewer means the session cannot be placed (refused for capacity)
     */
    List<UnitId> place(SessionDemand demand, ResourceView view);
}
