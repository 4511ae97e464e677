package io.pando.unit.impl;

import io.pando.artp.testing.Configs;
import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pando.api.policy.PacketScheduler;
import io.pando.api.program.ActiveProgram;
import io.pando.api.session.SessionId;
import io.pando.link.UnitChannel;
import io.pando.policies.impl.FifoScheduler;
import io.pando.unit.impl.RecordingAggregation.CreditMode;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;
import org.osgi.framework.ServiceReference;
import org.osgi.service.component.ComponentServiceObjects;

/** The unit's DS component without a framework: configuration rules, dynamic programs and schedulers. */
class ArUnitTest {

    /** What SCR hands a component for a prototype-scope reference: counts instances out and back. */
    static final class Objects<S> implements ComponentServiceObjects<S> {
        final Supplier<S> supplier;
        final AtomicInteger out = new AtomicInteger();

        Objects(Supplier<S> supplier) {
            this.supplier = supplier;
        }

        @Override
        public S getService() {
            out.incrementAndGet();
            return supplier.get();
        }

        @Override
        public void ungetService(S service) {
            out.decrementAndGet();
        }

        @Override
        public ServiceReference<S> getServiceReference() {
            return null; // a service registered by no bundle here: trusted, built in
        }
    }

    static ArUnit.Config config(Map<String, Object> values) {
        return Configs.of(ArUnit.Config.class, values);
    }

    @Test
    void configurationValuesAreChecked() {
        IllegalArgumentException pool = assertThrows(IllegalArgumentException.class,
            () -> new ArUnit(config(Map.of("unit_id", "u1", "buffer_capacity_mb", 0L))));
        assertEquals("buffer.capacity.mb must be in [1, 1048576], got 0", pool.getMessage());
        IllegalArgumentException window = assertThrows(IllegalArgumentException.class,
            () -> new ArUnit(config(Map.of("unit_id", "u1", "link_window_kb", (long) (1 << 21)))));
        assertEquals("link.window.kb must be in [1, 1048576], got 2097152", window.getMessage());
        IllegalArgumentException id = assertThrows(IllegalArgumentException.class,
            () -> new ArUnit(config(Map.of("unit_id", "-bad"))));
        assertTrue(id.getMessage().contains("unit id"), id.getMessage());
    }

    @Test
    void programsAndSchedulersComeAndGoWhileTheUnitRuns() throws Exception {
        ArUnit unit = new ArUnit(config(Map.of("unit_id", "u9", "scheduler", "fifo", "buffer_capacity_mb", 8L)));
        RecordingAggregation agg = new RecordingAggregation(CreditMode.IMMEDIATE);
        try {
            assertEquals("u9", unit.id().value());
            assertEquals("local", unit.location());
            assertEquals(8L << 20, unit.load().bufferCapacity());
            assertEquals("arrival-order", unit.scheduler(), "until the selected scheduler is registered");
            Objects<PacketScheduler> fifo = new Objects<>(FifoScheduler::new);
            unit.bindScheduler(fifo, Map.of("name", "fifo"));
            UnitCoreTest.await(() -> unit.scheduler().equals("fifo"), "fifo");
            Objects<ActiveProgram> passthrough = new Objects<>(PassthroughProgram::new);
            unit.bindProgram(passthrough, Map.of("name", "passthrough"));
            assertEquals(Set.of("passthrough"), unit.programs());

            UnitChannel ch = unit.open(UnitCoreTest.plan(1, "passthrough", 1 << 20), agg, new RecordingEvents());
            for (int i = 0; i < 100; i++) {
                ch.deliver(i, UnitCoreTest.datagram(i, 64), false);
            }
            RecordingAggregation.Channel out = agg.channel(new SessionId(1));
            UnitCoreTest.await(() -> out.count() == 100, "100 results");
            assertEquals(1, passthrough.out.get(), "one instance for the session");

            unit.unbindProgram(passthrough, Map.of("name", "passthrough"));
            assertEquals(0, passthrough.out.get(), "the instance is given back before unbind returns");
            assertEquals(Set.of(), unit.programs());
            unit.unbindScheduler(fifo, Map.of("name", "fifo"));
            assertEquals(0, fifo.out.get());
            assertEquals("arrival-order", unit.scheduler());
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> unit.selectScheduler("fifo"));
            assertTrue(e.getMessage().contains("no packet scheduler 'fifo' on unit u9"), e.getMessage());

            ch.deliver(100, UnitCoreTest.datagram(100, 64), false); // held: the program is away
            UnitCoreTest.await(() -> ch.counters().get("waiting_for_program") == 1, "held");
            Objects<ActiveProgram> again = new Objects<>(PassthroughProgram::new);
            unit.bindProgram(again, Map.of("name", "passthrough"));
            UnitCoreTest.await(() -> out.count() == 101, "the held datagram processed");
            ch.close().toCompletableFuture().get(5, TimeUnit.SECONDS);
            assertEquals(0, again.out.get());
            assertEquals(0, unit.counters().get("sessions"));
        } finally {
            unit.deactivate();
            agg.shutdown();
        }
    }

    /** SCR calls the unbind methods after the deactivate method (DS 1.5, 112.5.15). */
    @Test
    void unbindingAfterDeactivateAsScrDoesIsQuiet() {
        ArUnit unit = new ArUnit(config(Map.of("unit_id", "u7", "scheduler", "fifo", "buffer_capacity_mb", 8L)));
        Objects<PacketScheduler> fifo = new Objects<>(FifoScheduler::new);
        Objects<ActiveProgram> passthrough = new Objects<>(PassthroughProgram::new);
        unit.bindScheduler(fifo, Map.of("name", "fifo"));
        unit.bindProgram(passthrough, Map.of("name", "passthrough"));
        unit.deactivate();
        assertDoesNotThrow(() -> unit.unbindProgram(passthrough, Map.of("name", "passthrough")));
        assertDoesNotThrow(() -> unit.unbindScheduler(fifo, Map.of("name", "fifo")));
    }
}
