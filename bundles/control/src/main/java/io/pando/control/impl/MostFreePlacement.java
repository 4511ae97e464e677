package io.pando.control.impl;

import io.pando.api.unit.UnitId;
import io.pando.control.PlacementPolicy;
import io.pando.control.ResourceView;
import io.pando.control.SessionDemand;
import io.pando.control.UnitResources;
import java.util.Comparator;
import java.util.List;

/** The built-in placement: the k eligible units with the most free CPU share, then the lowest load, then the id. */
final class MostFreePlacement implements PlacementPolicy {

    @Override
    public List<UnitId> place(SessionDemand d, ResourceView v) {
        return v.units().stream()
            .filter(u -> u.eligible() && u.cpuFree() + 1e-9 >= d.cpus())
            .sorted(Comparator.comparingDouble(UnitResources::cpuFree).reversed()
                .thenComparingDouble(u -> u.load().cpu())
                .thenComparing(u -> u.id().value()))
            .limit(d.units())
            .map(UnitResources::id)
            .toList();
    }
}
