package io.pando.shell.cli;

import static io.pando.shell.cli.Console.object;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pando.api.router.PolicyRole;
import io.pando.api.router.RouterException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** {@code pando:policy-set} and {@code pando:stats} over an in-memory router. */
class PolicySetCommandTest {

    private final FakeRouter router = new FakeRouter();

    @Test
    void switchesAndSaysFromWhatToWhat() throws Exception {
        assertEquals("load-balancing: round-robin -> weighted", Console.run(set("load-balancing", "weighted", false))
            .strip());
        assertEquals("weighted", router.selected.get(PolicyRole.LOAD_BALANCING));

        Map<String, Object> m = object(Console.json(set("scheduler", "drr", true)));
        Map<String, Object> expected = new LinkedHashMap<>();
        expected.put("role", "scheduler");
        expected.put("previous", "fifo");
        expected.put("selected", "drr");
        assertEquals(expected, m);
        assertEquals(List.copyOf(expected.keySet()), List.copyOf(m.keySet()));
    }

    @Test
    void aRoleWithoutSelectionHadNone() throws Exception {
        router.selected.remove(PolicyRole.AGGREGATION);
        assertEquals("aggregation: (none) -> passthrough",
            Console.run(set("aggregation", "passthrough", false)).strip());
        router.selected.remove(PolicyRole.AGGREGATION);
        assertEquals(null, object(Console.json(set("aggregation", "passthrough", true))).get("previous"));
    }

    @Test
    void unknownRoleNamesTheAllowedOnes() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
            () -> Console.run(set("lb", "weighted", false)));
        assertEquals("unknown policy role 'lb': use one of load-balancing, scheduler, aggregation", e.getMessage());
        assertEquals("round-robin", router.selected.get(PolicyRole.LOAD_BALANCING));
    }

    @Test
    void theRoutersRefusalsPassThrough() {
        assertEquals("no scheduler policy named 'wfq'", assertThrows(IllegalArgumentException.class,
            () -> Console.run(set("scheduler", "wfq", true))).getMessage());
        router.refusal = new RouterException("a swap is in progress");
        assertEquals("a swap is in progress", assertThrows(RouterException.class,
            () -> Console.run(set("scheduler", "drr", false))).getMessage());
        assertEquals("fifo", router.selected.get(PolicyRole.SCHEDULER));
    }

    @Test
    void statsJsonHasPoliciesAndCounters() throws Exception {
        router.stats.put("datagrams_in", 1000L);
        router.stats.put("drops_no_session", 3L);
        router.stats.put("bytes_in", 1_500_000L);
        Map<String, Object> m = object(Console.json(stats(true)));
        assertEquals(List.of("policies", "counters"), List.copyOf(m.keySet()));
        Map<String, Object> policies = object(m.get("policies"));
        assertEquals(List.of("load-balancing", "scheduler", "aggregation"), List.copyOf(policies.keySet()));
        assertEquals(Map.of("load-balancing", "round-robin", "scheduler", "fifo", "aggregation", "reorder-window"),
            policies);
        Map<String, Object> counters = object(m.get("counters"));
        assertEquals(List.of("bytes_in", "datagrams_in", "drops_no_session"), List.copyOf(counters.keySet()));
        assertEquals(3L, counters.get("drops_no_session"));
    }

    @Test
    void statsTable() throws Exception {
        router.stats.put("datagrams_in", 1000L);
        String out = Console.run(stats(false));
        for (String s : List.of("Role", "Selected Policy", "load-balancing", "round-robin", "aggregation",
            "reorder-window", "Counter", "datagrams_in", "1000")) {
            assertTrue(out.contains(s), s + " in\n" + out);
        }
    }

    @Test
    void withoutARouter() {
        for (RouterAction a : List.of(set("scheduler", "drr", false), stats(true))) {
            a.router = null;
            assertEquals(RouterAction.NOT_RUNNING,
                assertThrows(IllegalStateException.class, () -> Console.run(a)).getMessage());
        }
    }

    private PolicySetCommand set(String role, String name, boolean json) {
        PolicySetCommand c = new PolicySetCommand();
        c.router = router;
        c.role = role;
        c.name = name;
        c.json = json;
        return c;
    }

    private StatsCommand stats(boolean json) {
        StatsCommand c = new StatsCommand();
        c.router = router;
        c.json = json;
        return c;
    }
}
