package io.pando.control;

import java.util.Objects;
import org.osgi.annotation.versioning.ProviderType;

/**
 * What a user holds now.
 *
 * @param user the user
 * @param sessions open sessions
 * @param cpus CPU share reserved over all sessions and units, in cores
 * @param bandwidthBps bandwidth reserved over all sessions, bits/s
 */
@ProviderType
public record UserUsage(String user, int sessions, double cpus, long bandwidthBps) {

    /** Checks the user. */
    public UserUsage {
        Objects.requireNonNull(user, "user");
    }
}
