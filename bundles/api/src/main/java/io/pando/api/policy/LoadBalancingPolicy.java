package io.pando.api.policy;

import io.pando.api.program.Datagram;
import io.pando.api.session.ActiveSession;
import io.pando.api.unit.UnitId;
import io.pando.api.unit.UnitLoad;
import java.util.List;
import java.util.Map;
import org.osgi.annotation.versioning.ConsumerType;

/**
 * Chooses the unit that processes a datagram: the heart of the distribution unit. Typical policies: session
 * affinity (always the same unit), round robin, static weights, least loaded.
 *
 * <p>The distribution unit calls it once per whole datagram (packets of one datagram never split over units)
 * and never for control datagrams, which go to every unit of the session. Called concurrently from several
 * I/O threads: implementations are thread safe, and keep any per-session state small and bounded (sessions
 * come and go).
 */
@ConsumerType
public interface LoadBalancingPolicy {

    /**
     * @param datagram the datagram to place, read-only and valid only during the call
     * @param session the datagram's session
     * @param candidates the units that serve the session and are up; never empty, in a stable order
     * @param loads the latest load report per unit; a candidate may have none yet
     * @return one of {@code candidates}; anything else is a bug, counted, and the first candidate is used
     */
    UnitId choose(Datagram datagram, ActiveSession session, List<UnitId> candidates, Map<UnitId, UnitLoad> loads);
}
