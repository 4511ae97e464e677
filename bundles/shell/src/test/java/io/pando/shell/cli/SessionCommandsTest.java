package io.pando.shell.cli;

import static io.pando.shell.cli.Console.array;
import static io.pando.shell.cli.Console.object;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pando.api.router.RouterException;
import io.pando.api.session.SessionId;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import org.junit.jupiter.api.Test;

/** {@code pando:sessions}, {@code pando:session-info} and {@code pando:session-close} over an in-memory router. */
class SessionCommandsTest {

    private final FakeRouter router = new FakeRouter();

    @Test
    void sessionsTableHasOneRowPerSession() throws Exception {
        router.session(7, "video", "u1", "u2");
        router.session(8, "audio", "u2");
        String out = Console.run(sessions(false));
        for (String s : List.of("ID", "Name", "Program", "State", "Units", "Ingress", "Destination", "Datagrams In",
            "Datagrams Out", "video", "audio", "aes-gcm", "active", "127.0.0.1:7000", "[::1]:9000",
            "101", "99")) {
            assertTrue(out.contains(s), s + " in\n" + out);
        }
        assertTrue(out.indexOf("video") < out.indexOf("audio"), out);
    }

    @Test
    void sessionsJsonIsAnArrayOfSessionsWithUnsignedIds() throws Exception {
        router.session(-1L, "video", "u1");
        router.session(8, "audio", "u2");
        List<Object> all = array(Console.json(sessions(true)));
        assertEquals(2, all.size());
        Map<String, Object> first = object(all.get(0));
        assertEquals("18446744073709551615", first.get("id"));
        assertEquals(List.of("id", "name", "program", "state", "ingress", "destination", "units", "load_balancing",
            "keyed", "created", "counters", "unit_counters", "reorder", "flows"), List.copyOf(first.keySet()));
        assertEquals(false, first.get("keyed"));
        assertEquals("8", object(all.get(1)).get("id"));
    }

    @Test
    void noSessions() throws Exception {
        assertEquals("[]", Console.run(sessions(true)).strip());
        assertTrue(Console.run(sessions(false)).contains("no open sessions"));
    }

    @Test
    void infoJsonHasCountersPerUnit() throws Exception {
        router.session(7, "video", "u2", "u1");
        Map<String, Object> s = object(Console.json(info("7", true)));
        assertEquals(Map.of("bytes_in", 150_000L, "datagrams_in", 101L, "datagrams_out", 99L), s.get("counters"));
        Map<String, Object> perUnit = object(s.get("unit_counters"));
        assertEquals(List.of("u2", "u1"), List.copyOf(perUnit.keySet()), "in the session's order of units");
        assertEquals(Map.of("buffer_bytes", 4096L, "datagrams_in", 50L, "datagrams_out", 49L), perUnit.get("u2"));
        assertEquals(51L, object(perUnit.get("u1")).get("datagrams_in"));
        assertEquals(Map.of("held", 2L, "late", 1L), s.get("reorder"));
        assertEquals("[::1]:9000", s.get("destination"));
    }

    @Test
    void infoTableShowsPropertiesCountersUnitsAndReordering() throws Exception {
        router.session(7, "video", "u1", "u2");
        String out = Console.run(info("7", false));
        for (String s : List.of("Session", "video", "Program", "aes-gcm", "State", "active", "Ingress",
            "127.0.0.1:7000", "Units", "u1, u2", "Created", "2026-03-01T12:00:00Z", "Counter", "bytes_in",
            "150000", "Unit counter", "buffer_bytes", "4096", "Reorder", "late")) {
            assertTrue(out.contains(s), s + " in\n" + out);
        }
    }

    @Test
    void infoOfAnUnknownOrMalformedId() {
        router.session(7, "video", "u1");
        assertEquals("no session 42",
            assertThrows(NoSuchElementException.class, () -> Console.run(info("42", false))).getMessage());
        assertEquals("a session id is an unsigned decimal number, got 'abc'",
            assertThrows(IllegalArgumentException.class, () -> Console.run(info("abc", true))).getMessage());
        assertEquals("session id 0 is reserved for 'no session'",
            assertThrows(IllegalArgumentException.class, () -> Console.run(info("0", true))).getMessage());
    }

    @Test
    void closePrintsTheFinalReport() throws Exception {
        router.session(7, "video", "u1");
        String out = Console.run(close("7", false));
        assertTrue(out.startsWith("closed session 7 (video)"), out);
        assertTrue(out.contains("closed") && out.contains("datagrams_out"), out);
        assertFalse(router.sessions.containsKey(new SessionId(7)));

        router.session(8, "audio", "u1");
        Map<String, Object> s = object(Console.json(close("8", true)));
        assertEquals("8", s.get("id"));
        assertEquals("closed", s.get("state"));
        assertEquals(99L, object(s.get("counters")).get("datagrams_out"));
    }

    @Test
    void closeOfAnUnknownSessionOrARefusal() {
        assertEquals("no session 42",
            assertThrows(NoSuchElementException.class, () -> Console.run(close("42", true))).getMessage());
        router.session(7, "video", "u1");
        router.refusal = new RouterException("the aggregation unit does not answer");
        assertEquals("the aggregation unit does not answer",
            assertThrows(RouterException.class, () -> Console.run(close("7", false))).getMessage());
    }

    @Test
    void withoutARouterEveryCommandSaysSo() {
        for (RouterAction a : List.of(sessions(false), info("7", false), close("7", true))) {
            a.router = null;
            assertEquals(RouterAction.NOT_RUNNING,
                assertThrows(IllegalStateException.class, () -> Console.run(a)).getMessage());
        }
    }

    private SessionsCommand sessions(boolean json) {
        SessionsCommand c = new SessionsCommand();
        c.router = router;
        c.json = json;
        return c;
    }

    private SessionInfoCommand info(String id, boolean json) {
        SessionInfoCommand c = new SessionInfoCommand();
        c.router = router;
        c.id = id;
        c.json = json;
        return c;
    }

    private SessionCloseCommand close(String id, boolean json) {
        SessionCloseCommand c = new SessionCloseCommand();
        c.router = router;
        c.id = id;
        c.json = json;
        return c;
    }
}
