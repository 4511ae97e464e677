package io.pando.shell.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.lang.reflect.Proxy;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.Constants;
import org.osgi.framework.ServiceReference;

/**
 * The command over a fake service registry: selection, order, table and JSON output, bad roles; with a router, which
 * policy is selected.
 */
class PolicyListCommandTest {

    private final Map<String, List<ServiceReference<?>>> registry = new HashMap<>();
    private FakeRouter router;

    @Test
    void listsEveryRoleSortedByRoleThenName() throws Exception {
        register(PolicyRole.SCHEDULER, "fifo", "io.pando.policies", 12, null, 40);
        register(PolicyRole.LOAD_BALANCING, "round-robin", "io.pando.policies", 12, null, 31);
        register(PolicyRole.LOAD_BALANCING, "affinity", "io.pando.policies", 12, 5, 30);
        register(PolicyRole.AGGREGATION, "reorder-window", "io.pando.policies", 12, null, 51);

        String out = run(null, true);
        String last = out.strip().lines().reduce((a, b) -> b).orElseThrow();
        assertEquals("[{\"role\":\"aggregation\",\"name\":\"reorder-window\",\"bundle\":\"io.pando.policies\","
            + "\"bundle_id\":12,\"ranking\":0,\"service_id\":51},"
            + "{\"role\":\"load-balancing\",\"name\":\"affinity\",\"bundle\":\"io.pando.policies\","
            + "\"bundle_id\":12,\"ranking\":5,\"service_id\":30},"
            + "{\"role\":\"load-balancing\",\"name\":\"round-robin\",\"bundle\":\"io.pando.policies\","
            + "\"bundle_id\":12,\"ranking\":0,\"service_id\":31},"
            + "{\"role\":\"scheduler\",\"name\":\"fifo\",\"bundle\":\"io.pando.policies\","
            + "\"bundle_id\":12,\"ranking\":0,\"service_id\":40}]", last);
    }

    @Test
    void roleSelectsOneRoleAndTableShowsEveryColumn() throws Exception {
        register(PolicyRole.SCHEDULER, "drr", "io.pando.policies", 12, null, 41);
        register(PolicyRole.LOAD_BALANCING, "weighted", "io.pando.policies", 12, null, 32);

        String table = run("scheduler", false);
        assertTrue(table.contains("Role") && table.contains("Service ID"), table);
        assertTrue(table.contains("drr") && table.contains("io.pando.policies") && table.contains("41"), table);
        assertTrue(!table.contains("weighted"), table);
        assertEquals("[]", run("aggregation", true).strip());
    }

    @Test
    void emptyRegistryIsAnEmptyArray() throws Exception {
        assertEquals("[]", run(null, true).strip());
        assertTrue(run(null, false).contains("no policy services registered"));
    }

    @Test
    void unknownRoleNamesTheAllowedOnes() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> run("nonsense", false));
        assertEquals("unknown policy role 'nonsense': use one of load-balancing, scheduler, aggregation",
            e.getMessage());
    }

    @Test
    void oddNamesAreEscaped() throws Exception {
        register(PolicyRole.AGGREGATION, "a\"b\\c\nd\u0001", null, -1, null, 7);
        String last = run(null, true).strip();
        assertEquals("[{\"role\":\"aggregation\",\"name\":\"a\\\"b\\\\c\\nd\\u0001\",\"bundle\":null,"
            + "\"bundle_id\":-1,\"ranking\":0,\"service_id\":7}]", last);
    }

    @Test
    void withARouterJsonSaysWhichPolicyIsSelected() throws Exception {
        register(PolicyRole.LOAD_BALANCING, "round-robin", "io.pando.policies", 12, null, 31);
        register(PolicyRole.LOAD_BALANCING, "weighted", "io.pando.policies", 12, null, 32);
        register(PolicyRole.SCHEDULER, null, "io.pando.policies", 12, null, 40);
        router = new FakeRouter();

        List<Object> all = Console.array(Console.parse(run(null, true).strip()));
        assertEquals(3, all.size());
        Map<String, Object> rr = Console.object(all.get(0));
        assertEquals("round-robin", rr.get("name"));
        assertEquals(true, rr.get("selected"));
        assertEquals(false, Console.object(all.get(1)).get("selected"));
        assertEquals(false, Console.object(all.get(2)).get("selected"), "a policy without a name is never selected");

        router.selected.put(io.pando.api.router.PolicyRole.LOAD_BALANCING, "weighted");
        all = Console.array(Console.parse(run("load-balancing", true).strip()));
        assertEquals(List.of(false, true), all.stream().map(o -> Console.object(o).get("selected")).toList());
    }

    @Test
    void withARouterTheTableHasASelectedColumn() throws Exception {
        register(PolicyRole.SCHEDULER, "fifo", "io.pando.policies", 12, null, 40);
        register(PolicyRole.SCHEDULER, "drr", "io.pando.policies", 12, null, 41);
        assertTrue(!run(null, false).contains("Selected"));
        router = new FakeRouter();
        List<String> lines = run(null, false).lines().toList();
        assertTrue(lines.get(0).contains("Selected"), lines.get(0));
        assertTrue(lines.stream().anyMatch(l -> l.contains("drr") && l.strip().endsWith("no")), lines.toString());
        assertTrue(lines.stream().anyMatch(l -> l.contains("fifo") && l.strip().endsWith("yes")), lines.toString());
    }

    private String run(String role, boolean json) throws Exception {
        PolicyListCommand c = new PolicyListCommand();
        c.context = context();
        c.router = router;
        c.role = role;
        c.json = json;
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        PrintStream old = System.out;
        System.setOut(new PrintStream(bytes, true, StandardCharsets.UTF_8));
        try {
            c.execute();
        } finally {
            System.setOut(old);
        }
        return bytes.toString(StandardCharsets.UTF_8);
    }

    /** Registers a fake reference; a null bundle name stands for a service unregistered meanwhile. */
    private void register(PolicyRole role, String name, String bsn, long bundleId, Integer ranking, long serviceId) {
        Map<String, Object> props = new HashMap<>();
        props.put("name", name);
        props.put(Constants.SERVICE_ID, serviceId);
        if (ranking != null) {
            props.put(Constants.SERVICE_RANKING, ranking);
        }
        Bundle bundle = bsn == null ? null : proxy(Bundle.class, (m, a) -> switch (m) {
            case "getSymbolicName" -> bsn;
            case "getBundleId" -> bundleId;
            default -> throw new UnsupportedOperationException(m);
        });
        ServiceReference<?> ref = proxy(ServiceReference.class, (m, a) -> switch (m) {
            case "getProperty" -> props.get((String) a[0]);
            case "getBundle" -> bundle;
            default -> throw new UnsupportedOperationException(m);
        });
        registry.computeIfAbsent(role.objectClass, k -> new ArrayList<>()).add(ref);
    }

    private BundleContext context() {
        return proxy(BundleContext.class, (m, a) -> {
            if (m.equals("getAllServiceReferences") && a[1] == null) {
                List<ServiceReference<?>> refs = registry.get((String) a[0]);
                return refs == null ? null : refs.toArray(new ServiceReference<?>[0]);
            }
            throw new UnsupportedOperationException(m);
        });
    }

    private interface Handler {
        Object call(String method, Object[] args);
    }

    private static <T> T proxy(Class<T> type, Handler h) {
        return type.cast(Proxy.newProxyInstance(type.getClassLoader(), new Class<?>[] {type},
            (p, m, a) -> h.call(m.getName(), a)));
    }
}
