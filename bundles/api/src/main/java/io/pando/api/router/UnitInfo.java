package io.pando.api.router;

import io.pando.api.unit.UnitId;
import io.pando.api.unit.UnitLoad;
import java.util.Map;
import java.util.Objects;
import org.osgi.annotation.versioning.ProviderType;

/**
 * A parallel AR unit as the router reports it.
 *
 * @param id the unit's id
 * @param location where it runs: {@code local} or the address of its node
 * @param load its live load
 * @param scheduler the packet scheduler it uses
 * @param counters its totals (snake_case keys)
 */
@ProviderType
public record UnitInfo(UnitId id, String location, UnitLoad load, String scheduler, Map<String, Long> counters) {

    /** Copies the counters. */
    public UnitInfo {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(location, "location");
        Objects.requireNonNull(load, "load");
        Objects.requireNonNull(scheduler, "scheduler");
        counters = Map.copyOf(counters);
    }
}
