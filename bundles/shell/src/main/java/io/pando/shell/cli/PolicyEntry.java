package io.pando.shell.cli;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.Constants;
import org.osgi.framework.InvalidSyntaxException;
import org.osgi.framework.ServiceReference;

/**
 * One registered policy service, as {@code pando:policy-list} shows it.
 *
 * @param name the service's {@code name} property, {@code null} if it has none
 * @param bundle symbolic name of the providing bundle, {@code null} if the service went away meanwhile
 * @param bundleId id of the providing bundle, -1 if the service went away meanwhile
 */
record PolicyEntry(PolicyRole role, String name, String bundle, long bundleId, int ranking, long serviceId) {

    /** Role (by its console name), then name (unnamed last), then service id. */
    static final Comparator<PolicyEntry> ORDER = Comparator.comparing((PolicyEntry e) -> e.role().label)
        .thenComparing(PolicyEntry::name, Comparator.nullsLast(Comparator.naturalOrder()))
        .thenComparingLong(PolicyEntry::serviceId);

    /**
     * Every service registered under the roles' interfaces, whichever bundle exports the interface (a listing shows
     * all of them, also those this bundle could not use), sorted by {@link #ORDER}.
     */
    static List<PolicyEntry> find(BundleContext context, List<PolicyRole> roles) {
        List<PolicyEntry> entries = new ArrayList<>();
        for (PolicyRole role : roles) {
            ServiceReference<?>[] refs;
            try {
                refs = context.getAllServiceReferences(role.objectClass, null);
            } catch (InvalidSyntaxException e) {
                throw new IllegalStateException("no filter was given", e);
            }
            if (refs != null) {
                for (ServiceReference<?> ref : refs) {
                    entries.add(of(role, ref));
                }
            }
        }
        entries.sort(ORDER);
        return entries;
    }

    static PolicyEntry of(PolicyRole role, ServiceReference<?> ref) {
        Object name = ref.getProperty("name");
        Object ranking = ref.getProperty(Constants.SERVICE_RANKING);
        Object id = ref.getProperty(Constants.SERVICE_ID);
        Bundle b = ref.getBundle();
        return new PolicyEntry(role, name == null ? null : String.valueOf(name),
            b == null ? null : b.getSymbolicName(), b == null ? -1 : b.getBundleId(),
            // the framework treats a non-Integer service.ranking as 0
            ranking instanceof Integer r ? r : 0,
            id instanceof Long l ? l : -1);
    }

    /** @return this entry as a JSON object: role, name, bundle, bundle_id, ranking, service_id */
    String toJson() {
        return Json.object(fields());
    }

    /** @return this entry as a JSON object: role, name, bundle, bundle_id, ranking, service_id, selected */
    String toJson(boolean selected) {
        Map<String, Object> m = fields();
        m.put("selected", selected);
        return Json.object(m);
    }

    private Map<String, Object> fields() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("role", role.label);
        m.put("name", name);
        m.put("bundle", bundle);
        m.put("bundle_id", bundleId);
        m.put("ranking", ranking);
        m.put("service_id", serviceId);
        return m;
    }
}
