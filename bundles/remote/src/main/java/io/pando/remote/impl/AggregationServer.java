package io.pando.remote.impl;

import io.pando.link.AggregationPort;
import java.net.InetSocketAddress;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/**
 * On the aggregation node: receives the results of units on other nodes over ARTP and hands them to the local
 * aggregation unit. Restarts with it (a static reference: its sessions, and so every attachment, end with it).
 */
@Component(name = AggregationServer.PID, configurationPolicy = ConfigurationPolicy.REQUIRE, service = {})
@Designate(ocd = AggregationServer.Config.class)
public class AggregationServer {

    static final String PID = "io.pando.remote.aggregationserver";

    /** Configuration of the aggregation server. */
    @ObjectClassDefinition(name = "Pando aggregation server",
        description = "Receives the results of units on other nodes for this node's aggregation unit.")
    public @interface Config {

        /** @return the local address */
        @AttributeDefinition(name = "Data address", description = "Local address of the ARTP endpoint units send "
            + "results to; 0.0.0.0 for any.")
        String data_host() default "0.0.0.0";

        /** @return the local port */
        @AttributeDefinition(name = "Data port", description = "UDP port of that endpoint (the port of "
            + "aggregation.address in io.pando.remote.units).")
        int data_port() default 7412;

        /** @return the credit window */
        @AttributeDefinition(name = "Credit window (KiB)", description = "Most bytes of one unit's results of one "
            + "session at the aggregation unit, not yet sent on, before that unit is paused; 64 to 1048576.")
        long credit_window_kb() default 4096;
    }

    private final AggregationServerCore core;

    /**
     * @param config the configuration
     * @param aggregation this node's aggregation unit
     * @param attachments where the distribution unit on this node leaves the remote units it attached
     * @throws IllegalArgumentException if a value breaks its rule
     */
    @Activate
    public AggregationServer(Config config, @Reference AggregationPort aggregation,
            @Reference ResultAttachments attachments) {
        if (config.credit_window_kb() < 64 || config.credit_window_kb() > 1 << 20) {
            throw new IllegalArgumentException("credit.window.kb must be in [64, 1048576], got "
                + config.credit_window_kb());
        }
        core = new AggregationServerCore(new InetSocketAddress(config.data_host(),
            UnitServer.port("data.port", config.data_port())), aggregation, config.credit_window_kb() << 10,
            UnitServer.artpConfig(), attachments);
    }

    @Deactivate
    void deactivate() {
        core.stop();
    }
}
