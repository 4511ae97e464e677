package io.pando.control;

import java.util.List;
import java.util.Objects;
import org.osgi.annotation.versioning.ProviderType;

/**
 * The resources an admission or placement decision is made against, taken at one moment.
 *
 * @param units every unit the router can use, with live load and reservations
 * @param usage what the asking user holds
 * @param quota the asking user's quota
 * @param bandwidthReservedBps bandwidth reserved router-wide
 * @param bandwidthCapacityBps bandwidth the router admits in all, 0 = no limit
 */
@ProviderType
public record ResourceView(List<UnitResources> units, UserUsage usage, Quota quota, long bandwidthReservedBps,
    long bandwidthCapacityBps) {

    /** Copies the unit list. */
    public ResourceView {
        Objects.requireNonNull(usage, "usage");
        Objects.requireNonNull(quota, "quota");
        units = List.copyOf(units);
    }
}
