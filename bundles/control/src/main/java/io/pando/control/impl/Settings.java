package io.pando.control.impl;

import io.pando.control.Quota;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;

/**
 * The control unit's configuration, checked (docs/control.md, section 8).
 *
 * @param host the control endpoint's address
 * @param port its UDP port, 0 = any
 * @param realm the JAAS realm
 * @param tokenLifetimeSeconds token lifetime
 * @param workers request threads
 * @param unitCpuCapacity CPU share each unit offers, cores
 * @param unitOverload measured CPU at or above which a unit takes no new session
 * @param reportMaxAgeSeconds a unit whose report is older takes no new session
 * @param bandwidthCapacityBps router-wide bandwidth, 0 = no limit
 * @param quota the default per-user quota
 * @param userQuotas per-user overrides
 */
record Settings(String host, int port, String realm, long tokenLifetimeSeconds, int workers, double unitCpuCapacity,
    double unitOverload, long reportMaxAgeSeconds, long bandwidthCapacityBps, Quota quota, Map<String, Quota> userQuotas) {

    Settings {
        Objects.requireNonNull(host, "host");
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("port must be in [0, 65535], got " + port);
        }
        if (realm == null || realm.isBlank()) {
            throw new IllegalArgumentException("realm must name a JAAS realm, got '" + realm + "'");
        }
        if (tokenLifetimeSeconds < 1 || tokenLifetimeSeconds > 86_400) {
            throw new IllegalArgumentException("token.lifetime.seconds must be in [1, 86400], got "
                + tokenLifetimeSeconds);
        }
        if (workers < 1 || workers > 64) {
            throw new IllegalArgumentException("workers must be in [1, 64], got " + workers);
        }
        if (!(unitCpuCapacity > 0 && unitCpuCapacity <= 1024)) {
            throw new IllegalArgumentException("unit.cpu.capacity must be in (0, 1024] cores, got " + unitCpuCapacity);
        }
        if (!(unitOverload > 0 && unitOverload <= 1)) {
            throw new IllegalArgumentException("unit.overload must be in (0, 1], got " + unitOverload);
        }
        if (reportMaxAgeSeconds < 1) {
            throw new IllegalArgumentException("unit.report.max.age.seconds must be >= 1, got " + reportMaxAgeSeconds);
        }
        if (bandwidthCapacityBps < 0) {
            throw new IllegalArgumentException("bandwidth.capacity.bps must be >= 0, got " + bandwidthCapacityBps);
        }
        Objects.requireNonNull(quota, "quota");
        userQuotas = Map.copyOf(userQuotas);
    }

    /** @return the quota of {@code user} */
    Quota quotaOf(String user) {
        return userQuotas.getOrDefault(user, quota);
    }

    /**
     * Parses {@code user.quotas} entries: {@code USER=sessions:N,cpus:C,bandwidth:BPS}, keys optional (the default
     * quota's value otherwise).
     *
     * @throws IllegalArgumentException naming the entry and what is wrong
     */
    static Map<String, Quota> parseUserQuotas(String[] entries, Quota defaults) {
        Map<String, Quota> out = new HashMap<>();
        for (String entry : entries == null ? new String[0] : entries) {
            if (entry == null || entry.isBlank()) {
                continue;
            }
            int eq = entry.indexOf('=');
            if (eq <= 0) {
                throw new IllegalArgumentException("user.quotas: expected USER=sessions:N,cpus:C,bandwidth:BPS, got '"
                    + entry + "'");
            }
            String user = entry.substring(0, eq).strip();
            int sessions = defaults.sessions();
            double cpus = defaults.cpus();
            long bandwidth = defaults.bandwidthBps();
            for (String part : entry.substring(eq + 1).split(",")) {
                String[] kv = part.strip().split(":", 2);
                try {
                    switch (kv.length == 2 ? kv[0].strip() : "") {
                        case "sessions" -> sessions = Integer.parseInt(kv[1].strip());
                        case "cpus" -> cpus = Double.parseDouble(kv[1].strip());
                        case "bandwidth" -> bandwidth = Long.parseLong(kv[1].strip());
                        default -> throw new IllegalArgumentException("user.quotas: unknown quota '" + part.strip()
                            + "' for " + user + " (sessions:N, cpus:C, bandwidth:BPS)");
                    }
                } catch (NumberFormatException e) {
                    throw new IllegalArgumentException("user.quotas: '" + part.strip() + "' for " + user
                        + " is not a number");
                }
            }
            if (out.put(user, new Quota(sessions, cpus, bandwidth)) != null) {
                throw new IllegalArgumentException("user.quotas: " + user + " is given twice");
            }
        }
        return out;
    }
}
