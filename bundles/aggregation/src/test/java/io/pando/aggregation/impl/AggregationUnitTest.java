package io.pando.aggregation.impl;

import io.pando.artp.testing.Configs;
import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.pando.api.policy.AggregationStrategy;
import io.pando.policies.impl.PassThroughStrategy;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.osgi.framework.ServiceReference;
import org.osgi.service.component.ComponentServiceObjects;

/** The aggregation unit's DS component without a framework. */
class AggregationUnitTest {

    /** What SCR hands a component for a reference: counts instances out and back. */
    static final class Objects implements ComponentServiceObjects<AggregationStrategy> {
        final AtomicInteger out = new AtomicInteger();

        @Override
        public AggregationStrategy getService() {
            out.incrementAndGet();
            return new PassThroughStrategy();
        }

        @Override
        public void ungetService(AggregationStrategy service) {
            out.decrementAndGet();
        }

        @Override
        public ServiceReference<AggregationStrategy> getServiceReference() {
            throw new UnsupportedOperationException();
        }
    }

    static AggregationUnit.Config config(Map<String, Object> values) {
        return Configs.of(AggregationUnit.Config.class, values);
    }

    @Test
    void configurationValuesAreChecked() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
            () -> new AggregationUnit(config(Map.of("egress_port", 70_000))));
        assertEquals("egress.port must be in [0, 65535], got 70000", e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
            () -> new AggregationUnit(config(Map.of("artp_max_connections", 0))));
        assertEquals("artp.max.connections must be in [1, 16777216], got 0", e.getMessage());
    }

    @Test
    void theEgressConnectionCapIsConfiguredAndShown() {
        AggregationUnit unit = new AggregationUnit(config(Map.of("egress_host", "127.0.0.1",
            "artp_max_connections", 25)));
        try {
            assertEquals(25, unit.counters().get("egress_max_connections"));
            assertEquals(0, unit.counters().get("egress_connection_limit"));
            assertEquals(0, unit.counters().get("egress_connections"));
        } finally {
            unit.deactivate();
        }
        AggregationUnit defaults = new AggregationUnit(config(Map.of("egress_host", "127.0.0.1")));
        try {
            assertEquals(10_000, defaults.counters().get("egress_max_connections"));
        } finally {
            defaults.deactivate();
        }
    }

    @Test
    void strategiesComeAndGoWhileTheUnitRuns() throws Exception {
        AggregationUnit unit = new AggregationUnit(config(Map.of("egress_host", "127.0.0.1",
            "strategy", PassThroughStrategy.NAME)));
        try {
            assertEquals("direct", unit.strategy(), "until the selected strategy is registered");
            Objects objects = new Objects();
            unit.bindStrategy(objects, Map.of("name", PassThroughStrategy.NAME));
            AggregationCoreTest.await(() -> unit.strategy().equals(PassThroughStrategy.NAME), "pass-through");
            assertEquals(1, objects.out.get());
            assertEquals(1, unit.counters().get("strategy_switches"));
            unit.unbindStrategy(objects, Map.of("name", PassThroughStrategy.NAME));
            assertEquals("direct", unit.strategy());
            assertEquals(0, objects.out.get(), "the instance is given back before unbind returns");
        } finally {
            unit.deactivate();
        }
    }

    /** SCR calls the unbind methods after the deactivate method (DS 1.5, 112.5.15). */
    @Test
    void unbindingAfterDeactivateAsScrDoesIsQuiet() {
        AggregationUnit unit = new AggregationUnit(config(Map.of("egress_host", "127.0.0.1",
            "strategy", PassThroughStrategy.NAME)));
        Objects objects = new Objects();
        unit.bindStrategy(objects, Map.of("name", PassThroughStrategy.NAME));
        unit.deactivate();
        assertDoesNotThrow(() -> unit.unbindStrategy(objects, Map.of("name", PassThroughStrategy.NAME)));
    }
}
