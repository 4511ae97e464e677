package io.pando.control.protocol;

import java.net.InetSocketAddress;
import java.util.List;
import java.util.Objects;
import org.osgi.annotation.versioning.ProviderType;

/**
 * One session in a LIST_RESULT.
 *
 * @param sessionId the session id (unsigned)
 * @param name the session's label
 * @param program the active program
 * @param state the lifecycle state ({@code active}, {@code closing}, ...)
 * @param ingress where a sender connects
 * @param units the units serving it
 * @param milliCpus the CPU share reserved per unit, thousandths of a core
 * @param bandwidthBps the bandwidth reserved, 0 if none
 * @param distribution one unit or spread
 */
@ProviderType
public record SessionSummary(long sessionId, String name, String program, String state, InetSocketAddress ingress,
    List<String> units, int milliCpus, long bandwidthBps, Distribution distribution) {

    /** Copies the unit list. */
    public SessionSummary {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(program, "program");
        Objects.requireNonNull(state, "state");
        Objects.requireNonNull(ingress, "ingress");
        Objects.requireNonNull(distribution, "distribution");
        units = List.copyOf(units);
    }
}
