package io.pando.distribution.impl;

import io.pando.api.policy.LoadBalancingPolicy;
import io.pando.api.router.DrainInfo;
import io.pando.api.router.MigrationInfo;
import io.pando.api.router.PolicyRole;
import io.pando.api.router.RouterService;
import io.pando.api.router.SessionInfo;
import io.pando.api.router.SessionRequest;
import io.pando.api.router.UnitInfo;
import io.pando.api.session.SessionId;
import io.pando.api.unit.UnitId;
import io.pando.artp.ArtpConfig;
import io.pando.link.AggregationPort;
import io.pando.link.UnitPort;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/**
 * The distribution unit as a DS component: the router's ingress and its {@link RouterService}. Units
 * ({@link UnitPort}) and load-balancing policies are dynamic references, so units may be added and policies
 * updated while sessions run.
 */
@Component(name = "io.pando.distribution", configurationPolicy = ConfigurationPolicy.OPTIONAL,
    service = RouterService.class)
@Designate(ocd = DistributionUnit.Config.class)
public class DistributionUnit implements RouterService {

    /** Configuration of the distribution unit. */
    @ObjectClassDefinition(name = "Pando distribution unit",
        description = "The router's ARTP ingress and session manager.")
    public @interface Config {

        /** @return the ingress address */
        @AttributeDefinition(name = "Ingress address", description = "Local address senders connect to.")
        String ingress_host() default "127.0.0.1";

        /** @return the ingress port */
        @AttributeDefinition(name = "Ingress port", description = "UDP port of the ingress, 0 for any free port.")
        int ingress_port() default 7400;

        /** @return the advertised host */
        @AttributeDefinition(name = "Advertised host", description = "Host name or address reported to "
            + "senders as the ingress; empty for the bound address.")
        String advertised_host() default "";

        /** @return the router's load-balancing policy */
        @AttributeDefinition(name = "Load-balancing policy", description = "Name of the LoadBalancingPolicy "
            + "service for sessions that do not name one (pando:policy-set load-balancing NAME switches it).")
        String load_balancing() default "round-robin";

        /** @return the session quota */
        @AttributeDefinition(name = "Session quota (KiB)", description = "Each session's reserved share of a "
            + "unit's buffer pool; beyond it the sender is paused by ARTP flow control.")
        long session_quota_kb() default 4096;

        /** @return the balancer's round interval */
        @AttributeDefinition(name = "Balancer interval (ms)", description = "Time between the session balancer's "
            + "rounds, in [0, 3600000]; 0 turns it off. It moves a live session off a unit that stays overloaded.")
        long balancer_interval_ms() default 1000;

        /** @return the load at which a unit is overloaded */
        @AttributeDefinition(name = "Balancer overload", description = "A unit is overloaded when its CPU or "
            + "buffer-pool fill is at least this, in (0, 1].")
        double balancer_overload() default 0.85;

        /** @return rounds a unit must be overloaded in a row */
        @AttributeDefinition(name = "Balancer sustain", description = "Rounds in a row a unit must be overloaded "
            + "before it sheds a session, in [1, 100].")
        int balancer_sustain() default 3;

        /** @return how much a move must help */
        @AttributeDefinition(name = "Balancer margin", description = "A move must lower the larger of the source's "
            + "and the target's loads by at least this, in [0, 1).")
        double balancer_margin() default 0.1;

        /** @return how long a moved session stays */
        @AttributeDefinition(name = "Balancer cooldown (s)", description = "A session the balancer moved stays "
            + "where it went for this long, in [0, 86400].")
        long balancer_cooldown_s() default 30;

        /** @return the ingress endpoint's connection cap */
        @AttributeDefinition(name = "Ingress connection cap", description = "Most ARTP connections the ingress "
            + "holds at once (the senders of all sessions), in [1, 16777216]. A sender beyond it is refused in the "
            + "handshake with SERVER_BUSY and the reason, and counted in ingress_connection_limit (pando:stats).")
        int artp_max_connections() default 10_000;
    }

    private final DistributionCore core;
    private final SessionBalancer balancer;

    /**
     * @param config the configuration
     * @param aggregation the node's aggregation unit
     * @throws IllegalArgumentException if a value breaks its rule
     */
    @Activate
    public DistributionUnit(Config config, @Reference AggregationPort aggregation) {
        if (config.ingress_port() < 0 || config.ingress_port() > 65535) {
            throw new IllegalArgumentException("ingress.port must be in [0, 65535], got " + config.ingress_port());
        }
        if (config.session_quota_kb() < 1 || config.session_quota_kb() > 1 << 20) {
            throw new IllegalArgumentException("session.quota.kb must be in [1, 1048576], got "
                + config.session_quota_kb());
        }
        core = new DistributionCore(new InetSocketAddress(config.ingress_host(), config.ingress_port()),
            config.advertised_host(), config.load_balancing(), config.session_quota_kb() << 10, aggregation,
            artpConfig(config.artp_max_connections()));
        balancer = new SessionBalancer(this, balancerSettings(config));
    }

    /** @throws IllegalArgumentException naming the setting if the cap is out of its range */
    static ArtpConfig artpConfig(int maxConnections) {
        if (maxConnections < 1 || maxConnections > 1 << 24) {
            throw new IllegalArgumentException("artp.max.connections must be in [1, 16777216], got "
                + maxConnections);
        }
        return ArtpConfig.builder().maxConnections(maxConnections).build();
    }

    /** @throws IllegalArgumentException naming the setting that breaks its rule */
    static SessionBalancer.Settings balancerSettings(Config config) {
        if (config.balancer_interval_ms() < 0 || config.balancer_interval_ms() > 3_600_000) {
            throw new IllegalArgumentException("balancer.interval.ms must be in [0, 3600000] (0: off), got "
                + config.balancer_interval_ms());
        }
        if (config.balancer_cooldown_s() < 0 || config.balancer_cooldown_s() > 86_400) {
            throw new IllegalArgumentException("balancer.cooldown.s must be in [0, 86400], got "
                + config.balancer_cooldown_s());
        }
        return new SessionBalancer.Settings(Duration.ofMillis(config.balancer_interval_ms()),
            config.balancer_overload(), config.balancer_sustain(), config.balancer_margin(),
            Duration.ofSeconds(config.balancer_cooldown_s()));
    }

    @Activate
    void activate() {
        balancer.start();
    }

    @Deactivate
    void deactivate() {
        balancer.stop();
        core.stop();
    }

    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC,
        policyOption = ReferencePolicyOption.GREEDY)
    void bindUnit(UnitPort unit) {
        core.addUnit(unit);
    }

    void unbindUnit(UnitPort unit) {
        core.removeUnit(unit);
    }

    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC,
        policyOption = ReferencePolicyOption.GREEDY, target = "(name=*)")
    void bindPolicy(LoadBalancingPolicy policy, Map<String, Object> props) {
        core.addPolicy(String.valueOf(props.get("name")), policy);
    }

    void unbindPolicy(LoadBalancingPolicy policy, Map<String, Object> props) {
        core.removePolicy(String.valueOf(props.get("name")), policy);
    }

    @Override
    public SessionInfo createSession(SessionRequest request) {
        return core.createSession(request);
    }

    @Override
    public List<SessionInfo> sessions() {
        return core.sessions();
    }

    @Override
    public Optional<SessionInfo> session(SessionId id) {
        return core.session(id);
    }

    @Override
    public SessionInfo closeSession(SessionId id) {
        return core.closeSession(id);
    }

    @Override
    public MigrationInfo migrateSession(SessionId id, UnitId from, UnitId to) {
        return core.migrateSession(id, from, to);
    }

    @Override
    public DrainInfo drainUnit(UnitId unit) {
        return core.drainUnit(unit);
    }

    @Override
    public boolean undrainUnit(UnitId unit) {
        return core.undrainUnit(unit);
    }

    @Override
    public List<UnitInfo> units() {
        return core.units();
    }

    @Override
    public void selectPolicy(PolicyRole role, String name) {
        core.selectPolicy(role, name);
    }

    @Override
    public Map<PolicyRole, String> selectedPolicies() {
        return core.selectedPolicies();
    }

    @Override
    public Map<String, Long> stats() {
        Map<String, Long> m = new LinkedHashMap<>(core.stats());
        m.putAll(balancer.counters());
        return m;
    }
}
