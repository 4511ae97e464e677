package io.pando.policies.impl;

import io.pando.api.policy.LoadBalancingPolicy;
import io.pando.api.program.Datagram;
import io.pando.api.session.ActiveSession;
import io.pando.api.session.SessionId;
import io.pando.api.session.SessionState;
import io.pando.api.unit.UnitId;
import io.pando.api.unit.UnitLoad;
import java.util.List;
import java.util.Map;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/**
 * Session affinity: every datagram of a session goes to one unit. The unit is pinned on the session's first
 * datagram by rendezvous (highest random weight) hashing of the session id over the candidates, and stays
 * pinned while it is a candidate: a unit that joins later does not take sessions away. Only when the pinned
 * unit disappears does the session move, again by rendezvous hashing, so the sessions of the lost unit
 * spread evenly over the others and no other session moves.
 *
 * <p><b>Threading:</b> {@link #choose} runs concurrently on the distribution unit's I/O threads. Lock free:
 * one {@code ConcurrentHashMap} lookup and a scan of the candidates per datagram; allocation only when a
 * session is pinned or re-pinned.
 */
@Component(name = "io.pando.policies.affinity", service = LoadBalancingPolicy.class,
    configurationPolicy = ConfigurationPolicy.OPTIONAL, property = "name=" + AffinityPolicy.NAME)
@Designate(ocd = AffinityPolicy.Config.class)
public class AffinityPolicy implements LoadBalancingPolicy {

    /** The policy's name. */
    public static final String NAME = "affinity";

    /** Configuration of the affinity policy. */
    @ObjectClassDefinition(name = "Pando load balancing: affinity",
        description = "Every datagram of a session goes to one unit, kept while that unit serves the session.")
    public @interface Config {

        /** @return the bound of the pin table */
        @AttributeDefinition(name = "Pinned sessions",
            description = "Most sessions whose unit is remembered, in [16, 16777216]. Past it a quarter of the "
                + "pins is forgotten; a forgotten session is re-pinned by hashing, which moves it only if units "
                + "joined since it was pinned.")
        int max_sessions() default 65536;
    }

    private final SessionTable<UnitId> pins;

    /**
     * @param config the configuration
     * @throws IllegalArgumentException if a value breaks its rule
     */
    @Activate
    public AffinityPolicy(Config config) {
        this(config.max_sessions());
    }

    AffinityPolicy(int maxSessions) {
        PolicySettings.checkRange(NAME, "max.sessions", maxSessions, 16, 1 << 24);
        this.pins = new SessionTable<>(maxSessions, s -> null);
    }

    @Override
    public UnitId choose(Datagram datagram, ActiveSession session, List<UnitId> candidates,
        Map<UnitId, UnitLoad> loads) {
        SessionId id = session.id();
        if (session.state() == SessionState.CLOSED) {
            pins.remove(id);
        }
        UnitId pinned = pins.peek(id);
        if (pinned != null) {
            for (int i = 0, n = candidates.size(); i < n; i++) {
                UnitId candidate = candidates.get(i);
                if (candidate.equals(pinned)) {
                    return candidate;
                }
            }
        }
        UnitId chosen = rendezvous(id, candidates);
        if (session.state() != SessionState.CLOSED) {
            pins.put(id, chosen);
        }
        return chosen;
    }

    /** @return the unit a session is pinned to, or null; for diagnostics and tests */
    UnitId pinned(SessionId session) {
        return pins.peek(session);
    }

    /**
     * Rendezvous hashing: the candidate with the highest hash of (session, unit); ties (practically never)
     * go to the first in candidate order.
     */
    static UnitId rendezvous(SessionId session, List<UnitId> candidates) {
        UnitId best = candidates.get(0);
        long bestScore = Long.MIN_VALUE;
        long sessionHash = PolicySettings.mix(session.value());
        for (int i = 0, n = candidates.size(); i < n; i++) {
            UnitId candidate = candidates.get(i);
            long score = PolicySettings.mix(sessionHash ^ (candidate.value().hashCode() * 0x9e3779b97f4a7c15L));
            if (i == 0 || score > bestScore) {
                best = candidate;
                bestScore = score;
            }
        }
        return best;
    }
}
