package io.pando.shell.cli;

import static io.pando.shell.cli.Console.object;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pando.api.session.SessionId;
import io.pando.api.unit.UnitId;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import org.junit.jupiter.api.Test;

/** {@code pando:session-migrate}, {@code pando:unit-drain} and {@code pando:unit-undrain} over an in-memory router. */
class MigrationCommandsTest {

    private final FakeRouter router = new FakeRouter()
        .unit("u1", "local", 0.1, 0, 1 << 20, 1, 0)
        .unit("u2", "local", 0.1, 0, 1 << 20, 0, 0)
        .unit("u3", "local", 0.1, 0, 1 << 20, 0, 0);

    @Test
    void migrateSaysWhatMovedAndHowLongDatagramsWereHeld() throws Exception {
        router.session(7, "video", "u1");
        String out = Console.run(migrate("7", "u1", "u2", false));
        assertTrue(out.contains("migrated session 7 from u1 to u2: hand-over 1.500 ms, 3 datagrams held, 8 state bytes"),
            out);
        assertEquals(List.of(UnitId.of("u2")), router.sessions.get(new SessionId(7)).units());
    }

    @Test
    void migrateJsonAndTheSourceTakenFromAOneUnitSession() throws Exception {
        router.session(7, "video", "u1");
        Map<String, Object> m = object(Console.json(migrate("7", null, "u3", true)));
        assertEquals(Map.of("session", "7", "from", "u1", "to", "u3", "handover_us", 1500L, "held_datagrams", 3L,
            "state_bytes", 8L, "timers", 0L), m);
    }

    @Test
    void migrateRefusesClearly() {
        router.session(7, "video", "u1", "u2");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
            () -> Console.run(migrate("7", null, "u3", false)));
        assertTrue(e.getMessage().contains("name the unit it leaves with --from"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Console.run(migrate("7", "u1", "u2", false)));
        assertTrue(e.getMessage().contains("already serves"), e.getMessage());
        assertThrows(NoSuchElementException.class, () -> Console.run(migrate("9", null, "u2", false)));
        assertThrows(IllegalArgumentException.class, () -> Console.run(migrate("7", "u1", "not a unit!", false)));
    }

    @Test
    void drainMovesEverySessionAndUndrainUndoes() throws Exception {
        router.session(7, "video", "u1");
        router.session(8, "audio", "u1", "u2");
        router.session(9, "other", "u3");
        Map<String, Object> d = object(Console.json(drain("u1", true)));
        assertEquals("u1", d.get("unit"));
        assertEquals(2, ((List<?>) d.get("migrated")).size(), d.toString());
        assertEquals(Map.of(), d.get("not_migrated"));
        assertTrue(router.sessions.values().stream().noneMatch(s -> s.units().contains(UnitId.of("u1"))));
        String out = Console.run(undrain("u1", false));
        assertTrue(out.contains("unit u1 takes new sessions again"), out);
        assertEquals(Map.of("unit", "u1", "was_drained", false), object(Console.json(undrain("u1", true))));
    }

    @Test
    void drainTableNamesWhatStays() throws Exception {
        router.session(8, "audio", "u1", "u2", "u3");
        String out = Console.run(drain("u1", false));
        assertTrue(out.contains("unit u1 is drained"), out);
        assertTrue(out.contains("session 8 stays on u1: no other unit can take it"), out);
        assertThrows(NoSuchElementException.class, () -> Console.run(drain("u9", false)));
    }

    private SessionMigrateCommand migrate(String id, String from, String to, boolean json) {
        SessionMigrateCommand c = new SessionMigrateCommand();
        c.router = router;
        c.id = id;
        c.from = from;
        c.to = to;
        c.json = json;
        return c;
    }

    private UnitDrainCommand drain(String unit, boolean json) {
        UnitDrainCommand c = new UnitDrainCommand();
        c.router = router;
        c.unit = unit;
        c.json = json;
        return c;
    }

    private UnitUndrainCommand undrain(String unit, boolean json) {
        UnitUndrainCommand c = new UnitUndrainCommand();
        c.router = router;
        c.unit = unit;
        c.json = json;
        return c;
    }
}
