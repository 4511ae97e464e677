package io.pando.control;

import org.osgi.annotation.versioning.ProviderType;

/**
 * A user's quota.
 *
 * @param sessions most open sessions
 * @param cpus most CPU share over all sessions and units, in cores
 * @param bandwidthBps most bandwidth over all sessions, bits/s
 */
@ProviderType
public record Quota(int sessions, double cpus, long bandwidthBps) {

    /** Checks the values. */
    public Quota {
        if (sessions < 0 || !(cpus >= 0) || bandwidthBps < 0) {
            throw new IllegalArgumentException("quota values are >= 0, got sessions " + sessions + ", cpus " + cpus
                + ", bandwidth " + bandwidthBps);
        }
    }
}
