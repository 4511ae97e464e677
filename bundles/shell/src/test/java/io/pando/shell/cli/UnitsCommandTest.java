package io.pando.shell.cli;

import static io.pando.shell.cli.Console.array;
import static io.pando.shell.cli.Console.object;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** {@code pando:units} over an in-memory router. */
class UnitsCommandTest {

    private final FakeRouter router = new FakeRouter()
        .unit("node-b.unit-1", "10.0.0.2:7100", 0.0, 0, 1024, 0, 0)
        .unit("node-a.unit-1", "local", 0.375, 1536, 64L << 20, 3, 12);

    @Test
    void tableShowsLoadSortedById() throws Exception {
        String out = Console.run(command(false));
        for (String s : List.of("ID", "Location", "Sessions", "CPU", "Buffer Used/Capacity", "Queued", "Scheduler",
            "node-a.unit-1", "local", "37.5%", "1.5 KiB/64.0 MiB", "12", "fifo", "10.0.0.2:7100", "0 B/1.0 KiB")) {
            assertTrue(out.contains(s), s + " in\n" + out);
        }
        assertTrue(out.indexOf("node-a.unit-1") < out.indexOf("node-b.unit-1"), out);
    }

    @Test
    void jsonIsAnArrayOfUnits() throws Exception {
        List<Object> units = array(Console.json(command(true)));
        assertEquals(2, units.size());
        Map<String, Object> a = object(units.get(0));
        assertEquals("node-a.unit-1", a.get("id"));
        assertEquals("local", a.get("location"));
        assertEquals("fifo", a.get("scheduler"));
        Map<String, Object> load = object(a.get("load"));
        assertEquals(0.375, load.get("cpu"));
        assertEquals(1536L, load.get("buffer_used"));
        assertEquals(64L << 20, load.get("buffer_capacity"));
        assertEquals(3L, load.get("sessions"));
        assertEquals(12L, load.get("queued_datagrams"));
        assertEquals("2026-03-01T12:00:00Z", load.get("at"));
        assertEquals(Map.of("datagrams_processed", 2000L, "program_errors", 0L), a.get("counters"));
        assertEquals(0.0, object(object(units.get(1)).get("load")).get("cpu"));
    }

    @Test
    void noUnits() throws Exception {
        router.units.clear();
        assertEquals("[]", Console.run(command(true)).strip());
        assertTrue(Console.run(command(false)).contains("no units available"));
    }

    @Test
    void withoutARouter() {
        UnitsCommand c = command(true);
        c.router = null;
        assertEquals(RouterAction.NOT_RUNNING,
            assertThrows(IllegalStateException.class, () -> Console.run(c)).getMessage());
    }

    @Test
    void byteCountsForPeople() {
        assertEquals("0 B", UnitsCommand.bytes(0));
        assertEquals("1023 B", UnitsCommand.bytes(1023));
        assertEquals("1.0 KiB", UnitsCommand.bytes(1024));
        assertEquals("64.0 MiB", UnitsCommand.bytes(64L << 20));
        assertEquals("8.0 EiB", UnitsCommand.bytes(Long.MAX_VALUE));
    }

    private UnitsCommand command(boolean json) {
        UnitsCommand c = new UnitsCommand();
        c.router = router;
        c.json = json;
        return c;
    }
}
