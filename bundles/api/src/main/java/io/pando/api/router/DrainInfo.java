package io.pando.api.router;

import io.pando.api.session.SessionId;
import io.pando.api.unit.UnitId;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.osgi.annotation.versioning.ProviderType;

/**
 * The result of draining a unit ({@link RouterService#drainUnit}).
 *
 * @param unit the drained unit; it takes no new session until {@link RouterService#undrainUnit}
 * @param migrated the sessions moved off it, in the order they moved
 * @param notMigrated the sessions that could not be moved, with the reason each; they still run on the unit
 * @since 1.3
 */
@ProviderType
public record DrainInfo(UnitId unit, List<MigrationInfo> migrated, Map<SessionId, String> notMigrated) {

    /** Copies the collections. */
    public DrainInfo {
        Objects.requireNonNull(unit, "unit");
        migrated = List.copyOf(migrated);
        notMigrated = Map.copyOf(notMigrated);
    }
}
