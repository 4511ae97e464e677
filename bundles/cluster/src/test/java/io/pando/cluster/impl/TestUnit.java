package io.pando.cluster.impl;

import io.pando.api.unit.UnitId;
import io.pando.api.unit.UnitLoad;
import io.pando.link.AggregationPort;
import io.pando.link.SessionEvents;
import io.pando.link.SessionPlan;
import io.pando.link.UnitChannel;
import io.pando.link.UnitPort;
import java.time.Instant;
import java.util.Map;
import java.util.Set;

/**
 * A unit as the cluster sees it through {@link UnitPort}: an id, a location and a load the test sets. It serves no
 * sessions (the cluster never opens one).
 */
final class TestUnit implements UnitPort {

    private final UnitId id;
    private final String location;
    volatile int sessions;
    volatile RuntimeException failure;

    TestUnit(String id, String location) {
        this.id = UnitId.of(id);
        this.location = location;
    }

    @Override public UnitId id() { return id; }
    @Override public String location() { return location; }
    @Override public String scheduler() { return "drr"; }
    @Override public Set<String> programs() { return Set.of("passthrough", "aes-gcm-encrypt"); }
    @Override public Map<String, Long> counters() { return Map.of(); }
    @Override public void selectScheduler(String name) { }

    @Override
    public UnitLoad load() {
        RuntimeException f = failure;
        if (f != null) {
            throw f;
        }
        return new UnitLoad(id, Instant.now(), 0.25, 1024, 4096, sessions, 3);
    }

    @Override
    public UnitChannel open(SessionPlan plan, AggregationPort aggregation, SessionEvents events) {
        throw new UnsupportedOperationException("the cluster opens no sessions");
    }
}
