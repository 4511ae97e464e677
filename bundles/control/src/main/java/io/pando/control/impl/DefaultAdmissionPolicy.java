package io.pando.control.impl;

import io.pando.control.AdmissionDecision;
import io.pando.control.AdmissionPolicy;
import io.pando.control.ResourceView;
import io.pando.control.SessionDemand;
import io.pando.control.UnitResources;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * The built-in admission: the user's quotas (sessions, CPU share, bandwidth), then the units' CPU capacity (at least
 * k eligible units with the share free) and the router's bandwidth capacity. Refusals give the numbers.
 */
final class DefaultAdmissionPolicy implements AdmissionPolicy {

    @Override
    public AdmissionDecision admit(SessionDemand d, ResourceView v) {
        String user = v.usage().user();
        if (v.usage().sessions() + 1 > v.quota().sessions()) {
            return AdmissionDecision.refuse(AdmissionDecision.Refusal.QUOTA, "quota: " + user + " has "
                + v.usage().sessions() + " open session(s), the quota is " + v.quota().sessions());
        }
        if (d.totalCpus() + v.usage().cpus() > v.quota().cpus() + 1e-9) {
            return AdmissionDecision.refuse(AdmissionDecision.Refusal.QUOTA, String.format(Locale.ROOT,
                "quota: CPU share %.3f (%.3f on %d unit(s)) + %.3f held exceeds %s's %.3f", d.totalCpus(), d.cpus(),
                d.units(), v.usage().cpus(), user, v.quota().cpus()));
        }
        if (d.bandwidthBps() + v.usage().bandwidthBps() > v.quota().bandwidthBps()) {
            return AdmissionDecision.refuse(AdmissionDecision.Refusal.QUOTA, "quota: bandwidth " + d.bandwidthBps()
                + " bit/s + " + v.usage().bandwidthBps() + " held exceeds " + user + "'s " + v.quota().bandwidthBps()
                + " bit/s");
        }
        long fit = v.units().stream().filter(u -> u.eligible() && u.cpuFree() + 1e-9 >= d.cpus()).count();
        if (fit < d.units()) {
            String units = v.units().isEmpty() ? "no unit is running" : v.units().stream().map(DefaultAdmissionPolicy::describe)
                .collect(Collectors.joining(", "));
            return AdmissionDecision.refuse(AdmissionDecision.Refusal.CAPACITY, String.format(Locale.ROOT,
                "capacity: CPU share %.3f per unit on %d unit(s) does not fit (%d fit): %s", d.cpus(), d.units(), fit,
                units));
        }
        if (v.bandwidthCapacityBps() > 0 && d.bandwidthBps() + v.bandwidthReservedBps() > v.bandwidthCapacityBps()) {
            return AdmissionDecision.refuse(AdmissionDecision.Refusal.CAPACITY, "capacity: bandwidth "
                + d.bandwidthBps() + " bit/s + " + v.bandwidthReservedBps() + " reserved exceeds the router's "
                + v.bandwidthCapacityBps() + " bit/s");
        }
        return AdmissionDecision.admit();
    }

    static String describe(UnitResources u) {
        return u.unavailable().map(why -> u.id() + " " + why)
            .orElseGet(() -> String.format(Locale.ROOT, "%s %.3f free of %.3f", u.id(), u.cpuFree(), u.cpuCapacity()));
    }
}
