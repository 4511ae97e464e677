package io.pando.aggregation.impl;

import io.pando.api.policy.AggregationStrategy;
import io.pando.api.session.SessionId;
import io.pando.api.unit.UnitId;
import io.pando.artp.ArtpConfig;
import io.pando.link.AggregationChannel;
import io.pando.link.AggregationPort;
import io.pando.link.Credit;
import io.pando.link.SessionPlan;
import java.net.InetSocketAddress;
import java.util.Map;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import org.osgi.service.component.ComponentServiceObjects;
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
 * The aggregation unit as a DS component. Strategies ({@link AggregationStrategy}) are dynamic references
 * looked up by their {@code name} property; the selected one may be switched or updated while results flow.
 */
@Component(name = "io.pando.aggregation", configurationPolicy = ConfigurationPolicy.OPTIONAL,
    service = AggregationPort.class)
@Designate(ocd = AggregationUnit.Config.class)
public class AggregationUnit implements AggregationPort {

    /** Configuration of the aggregation unit. */
    @ObjectClassDefinition(name = "Pando aggregation unit",
        description = "Sends every session's processed datagrams to its destination over ARTP.")
    public @interface Config {

        /** @return the local address of the egress endpoint */
        @AttributeDefinition(name = "Egress address", description = "Local address the egress ARTP endpoint "
            + "binds; 0.0.0.0 for any.")
        String egress_host() default "0.0.0.0";

        /** @return the local port */
        @AttributeDefinition(name = "Egress port", description = "Local UDP port, 0 for any free port.")
        int egress_port() default 0;

        /** @return the strategy's name */
        @AttributeDefinition(name = "Aggregation strategy", description = "Name of the AggregationStrategy "
            + "service to use (pando:policy-set aggregation NAME switches it live).")
        String strategy() default "reorder-window";

        /** @return the egress endpoint's connection cap */
        @AttributeDefinition(name = "Egress connection cap", description = "Most ARTP connections the egress "
            + "endpoint holds at once, in [1, 16777216]: one per destination of every session that has sent a "
            + "result and is not closed, so it bounds the sessions with traffic on this node (idle sessions hold "
            + "none). A session's first result beyond it fails its egress: its results are dropped and counted "
            + "(egress_failed, egress_lost) with the reason logged, and the refusal is counted in "
            + "aggregation_egress_connection_limit (pando:stats).")
        int artp_max_connections() default 10_000;
    }

    private final AggregationCore core;
    private final Map<Object, StrategyFactory> factories = new ConcurrentHashMap<>();

    /**
     * @param config the configuration
     * @throws IllegalArgumentException if a value breaks its rule
     */
    @Activate
    public AggregationUnit(Config config) {
        if (config.egress_port() < 0 || config.egress_port() > 65535) {
            throw new IllegalArgumentException("egress.port must be in [0, 65535], got " + config.egress_port());
        }
        core = new AggregationCore(new InetSocketAddress(config.egress_host(), config.egress_port()),
            artpConfig(config.artp_max_connections()), config.strategy());
    }

    /** @throws IllegalArgumentException naming the setting if the cap is out of its range */
    static ArtpConfig artpConfig(int maxConnections) {
        if (maxConnections < 1 || maxConnections > 1 << 24) {
            throw new IllegalArgumentException("artp.max.connections must be in [1, 16777216], got "
                + maxConnections);
        }
        return ArtpConfig.builder().maxConnections(maxConnections).build();
    }

    @Deactivate
    void deactivate() {
        core.stop();
    }

    @Reference(service = AggregationStrategy.class, cardinality = ReferenceCardinality.MULTIPLE,
        policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY, target = "(name=*)")
    void bindStrategy(ComponentServiceObjects<AggregationStrategy> objects, Map<String, Object> props) {
        StrategyFactory f = new StrategyFactory() {
            @Override
            public AggregationStrategy get() {
                return objects.getService();
            }

            @Override
            public void unget(AggregationStrategy strategy) {
                objects.ungetService(strategy);
            }
        };
        factories.put(objects, f);
        core.addStrategy(String.valueOf(props.get("name")), f);
    }

    void unbindStrategy(ComponentServiceObjects<AggregationStrategy> objects, Map<String, Object> props) {
        StrategyFactory f = factories.remove(objects);
        if (f != null) {
            core.removeStrategy(String.valueOf(props.get("name")), f);
        }
    }

    @Override
    public String strategy() {
        return core.strategy();
    }

    @Override
    public void selectStrategy(String name) {
        core.selectStrategy(name);
    }

    @Override
    public CompletionStage<Void> open(SessionPlan plan) {
        return core.open(plan);
    }

    @Override
    public AggregationChannel attach(SessionId session, UnitId unit, Credit credit) {
        return core.attach(session, unit, credit);
    }

    @Override
    public CompletionStage<Map<String, Long>> close(SessionId session) {
        return core.close(session);
    }

    @Override
    public Map<String, Long> counters(SessionId session) {
        return core.counters(session);
    }

    @Override
    public Map<String, Long> reorder(SessionId session) {
        return core.reorder(session);
    }

    @Override
    public Map<String, Long> counters() {
        return core.counters();
    }
}
