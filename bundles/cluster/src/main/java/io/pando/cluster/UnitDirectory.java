package io.pando.cluster;

import java.time.Duration;
import java.util.List;
import org.osgi.annotation.versioning.ProviderType;

/**
 * The parallel AR units of every node of the cluster, with their live load: each node reports its own (local)
 * units every {@link #reportInterval()}, and a report lives three intervals (at least 3 s), so the units of a node
 * that stopped reporting disappear within that time; the units of a member that left disappear at once. Readable in a minority
 * partition too (the reports are what the partition can see, not a decision).
 *
 * @since 1.1
 */
@ProviderType
public interface UnitDirectory {

    /**
     * @return the units reported by the current members, sorted by member name, then unit id; a node's remote
     *     units (units of other nodes it uses) are reported by the node that runs them, never twice
     */
    List<UnitReport> units();

    /** @return how often each node reports its units */
    Duration reportInterval();
}
