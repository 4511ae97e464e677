package io.pando.control;

import io.pando.api.unit.UnitId;
import io.pando.api.unit.UnitLoad;
import java.util.Objects;
import java.util.Optional;
import org.osgi.annotation.versioning.ProviderType;

/**
 * A unit as the control unit sees it when admitting.
 *
 * @param id the unit
 * @param load its last load report
 * @param cpuCapacity the CPU share it offers to sessions, in cores
 * @param cpuReserved the CPU share the control unit has reserved on it
 * @param sessions the sessions the control unit has placed on it
 * @param unavailable why it takes no new session (stale report, overloaded), empty if it may
 */
@ProviderType
public record UnitResources(UnitId id, UnitLoad load, double cpuCapacity, double cpuReserved, int sessions,
    Optional<String> unavailable) {

    /** Checks the values. */
    public UnitResources {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(load, "load");
        Objects.requireNonNull(unavailable, "unavailable");
    }

    /** @return the CPU share still free, in cores (never negative) */
    public double cpuFree() {
        return Math.max(0, cpuCapacity - cpuReserved);
    }

    /** @return whether it may take a new session at all */
    public boolean eligible() {
        return unavailable.isEmpty();
    }
}
