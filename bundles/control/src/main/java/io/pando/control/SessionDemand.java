package io.pando.control;

import java.util.Objects;
import org.osgi.annotation.versioning.ProviderType;

/**
 * What a session asks for, as admission and placement see it.
 *
 * @param user the user asking (the session's owner if admitted)
 * @param program the active program
 * @param cpus the CPU share per unit, in cores
 * @param memoryMb the sandbox memory per unit, MiB
 * @param bandwidthBps the bandwidth of the whole session, bits/s; 0 if none reserved
 * @param units k: how many units serve the session
 */
@ProviderType
public record SessionDemand(String user, String program, double cpus, int memoryMb, long bandwidthBps, int units) {

    /** Checks the values. */
    public SessionDemand {
        Objects.requireNonNull(user, "user");
        Objects.requireNonNull(program, "program");
        if (!(cpus > 0) || memoryMb < 0 || bandwidthBps < 0 || units < 1) {
            throw new IllegalArgumentException("a demand has cpus > 0, memory, bandwidth >= 0 and units >= 1");
        }
    }

    /** @return the CPU share over all units: cpus × units */
    public double totalCpus() {
        return cpus * units;
    }
}
