package io.pando.policies.impl;

import io.pando.api.policy.LoadBalancingPolicy;
import io.pando.api.program.Datagram;
import io.pando.api.session.ActiveSession;
import io.pando.api.session.SessionState;
import io.pando.api.unit.UnitId;
import io.pando.api.unit.UnitLoad;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/**
 * Round robin per session, whole datagrams: the k-th datagram of a session goes to candidate
 * {@code (start + k) mod n}, where {@code start} is derived from the session id so that sessions do not all
 * begin on the same unit.
 *
 * <p><b>Threading:</b> {@link #choose} runs concurrently on the distribution unit's I/O threads. Lock free:
 * one {@code ConcurrentHashMap} lookup and one atomic increment per datagram; allocation only on a session's
 * first datagram.
 */
@Component(name = "io.pando.policies.round-robin", service = LoadBalancingPolicy.class,
    configurationPolicy = ConfigurationPolicy.OPTIONAL, property = "name=" + RoundRobinPolicy.NAME)
@Designate(ocd = RoundRobinPolicy.Config.class)
public class RoundRobinPolicy implements LoadBalancingPolicy {

    /** The policy's name. */
    public static final String NAME = "round-robin";

    /** Configuration of the round-robin policy. */
    @ObjectClassDefinition(name = "Pando load balancing: round robin",
        description = "The datagrams of a session take turns over the units that serve it.")
    public @interface Config {

        /** @return the bound of the counter table */
        @AttributeDefinition(name = "Tracked sessions",
            description = "Most sessions with a round-robin position, in [16, 16777216]. Past it a quarter of "
                + "the positions is forgotten (those sessions restart their turn).")
        int max_sessions() default 65536;
    }

    private final SessionTable<AtomicLong> positions;

    /**
     * @param config the configuration
     * @throws IllegalArgumentException if a value breaks its rule
     */
    @Activate
    public RoundRobinPolicy(Config config) {
        this(config.max_sessions());
    }

    RoundRobinPolicy(int maxSessions) {
        PolicySettings.checkRange(NAME, "max.sessions", maxSessions, 16, 1 << 24);
        this.positions = new SessionTable<>(maxSessions,
            s -> new AtomicLong(PolicySettings.mix(s.value()) & Long.MAX_VALUE));
    }

    @Override
    public UnitId choose(Datagram datagram, ActiveSession session, List<UnitId> candidates,
        Map<UnitId, UnitLoad> loads) {
        if (session.state() == SessionState.CLOSED) {
            positions.remove(session.id());
            return candidates.get(0);
        }
        long k = positions.get(session.id()).getAndIncrement();
        return candidates.get((int) Long.remainderUnsigned(k, candidates.size()));
    }
}
