package io.pando.remote.impl;

import io.netty.buffer.PooledByteBufAllocator;
import io.pando.link.UnitPort;
import java.net.InetSocketAddress;
import java.util.Hashtable;
import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceRegistration;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/**
 * On the distribution node: registers a {@link UnitPort} service for every unit of the configured unit nodes, so
 * the distribution unit spreads sessions over them like over local units. A node that cannot be reached has no
 * services registered until it can.
 */
@Component(name = RemoteUnits.PID, configurationPolicy = ConfigurationPolicy.REQUIRE, service = {})
@Designate(ocd = RemoteUnits.Config.class)
public class RemoteUnits {

    static final String PID = "io.pando.remote.units";
    /** The default floor of the data-path rule for a hung unit node, {@code stall.ms}. */
    static final long DEFAULT_STALL_MS = 300;

    /** Configuration of the remote units. */
    @ObjectClassDefinition(name = "Pando remote units",
        description = "The unit nodes whose units this node's distribution unit uses, and where those units send "
            + "their results.")
    public @interface Config {

        /** @return the unit nodes */
        @AttributeDefinition(name = "Unit nodes", description = "The unit servers to use: "
            + "HOST:CONTROL_PORT/DATA_PORT, comma-separated (IPv6 in brackets).")
        String[] nodes();

        /** @return where remote units send their results */
        @AttributeDefinition(name = "Aggregation address", description = "HOST:PORT of this node's aggregation "
            + "server (io.pando.remote.aggregationserver data.host/data.port) as the unit nodes reach it.")
        String aggregation_address();

        /** @return the local address of the data endpoint */
        @AttributeDefinition(name = "Data address", description = "Local address of the ARTP endpoint that "
            + "sends datagrams to remote units; 0.0.0.0 for any.")
        String data_host() default "0.0.0.0";

        /** @return the local port of the data endpoint */
        @AttributeDefinition(name = "Data port", description = "Local UDP port of that endpoint, 0 for any.")
        int data_port() default 0;

        /** @return the poll period */
        @AttributeDefinition(name = "Load poll (ms)", description = "How often each node's units, loads, "
            + "programs and schedulers are read, 10 to 10000.")
        long load_poll_ms() default 100;

        /** @return the longest reconnection back-off */
        @AttributeDefinition(name = "Reconnect back-off (ms)", description = "Longest wait between attempts to "
            + "reach a lost unit node (starts at 100 ms, doubles), 100 to 600000.")
        long reconnect_max_ms() default 5000;

        /** @return the floor of the data-path rule for a unit node that hangs */
        @AttributeDefinition(name = "Hung unit node (ms)", description = "A unit node that holds datagrams it has "
            + "not acknowledged and sends nothing at all (no ARTP acknowledgement, no reply to a poll, no "
            + "acknowledgement of processed datagrams) for this long, or for four times its data connections' "
            + "retransmission timeout if that is longer, is declared failed and what it had is given to other units "
            + "(a node that is only slow still acknowledges). 0 turns the rule off (the 3 s poll timeout remains); "
            + "otherwise 100 to 60000.")
        long stall_ms() default DEFAULT_STALL_MS;

        /** @return this node's name in the unit nodes' logs */
        @AttributeDefinition(name = "Node name", description = "How this node introduces itself to unit nodes; "
            + "empty for the host name.")
        String node_name() default "";
    }

    private final RemoteUnitsCore core;

    /**
     * @param config the configuration
     * @param attachments shared with this node's aggregation server, if one runs here
     * @throws IllegalArgumentException if a value breaks its rule
     */
    @Activate
    public RemoteUnits(Config config, BundleContext context, @Reference ResultAttachments attachments) {
        if (config.load_poll_ms() < 10 || config.load_poll_ms() > 10_000) {
            throw new IllegalArgumentException("load.poll.ms must be in [10, 10000], got " + config.load_poll_ms());
        }
        if (config.reconnect_max_ms() < 100 || config.reconnect_max_ms() > 600_000) {
            throw new IllegalArgumentException("reconnect.max.ms must be in [100, 600000], got "
                + config.reconnect_max_ms());
        }
        if (config.aggregation_address() == null || config.aggregation_address().isBlank()) {
            throw new IllegalArgumentException("aggregation.address is required: HOST:PORT of this node's "
                + "aggregation server as the unit nodes reach it");
        }
        String name = config.node_name().isBlank() ? hostName() : config.node_name();
        core = new RemoteUnitsCore(name, NodeAddress.parseAll(config.nodes()),
            NodeAddress.hostPort("aggregation.address", config.aggregation_address()),
            new InetSocketAddress(config.data_host(), UnitServer.port("data.port", config.data_port())),
            (unit, props) -> {
                ServiceRegistration<UnitPort> reg = context.registerService(UnitPort.class, unit,
                    new Hashtable<>(props));
                return () -> {
                    try {
                        reg.unregister();
                    } catch (IllegalStateException e) {
                        // already gone with the bundle
                    }
                };
            }, UnitServer.artpConfig(), PooledByteBufAllocator.DEFAULT, config.load_poll_ms(),
            config.reconnect_max_ms(), checkStallMillis(config.stall_ms()), attachments);
    }

    /**
     * @return {@code stall.ms} if valid
     * @throws IllegalArgumentException unless it is 0 (off) or in [100, 60000]
     */
    static long checkStallMillis(long ms) {
        if (ms != 0 && (ms < 100 || ms > 60_000)) {
            throw new IllegalArgumentException("stall.ms must be 0 (off) or in [100, 60000] ms, got " + ms
                + " (below 100 ms a loaded but live unit node would be declared failed on every scheduling hiccup)");
        }
        return ms;
    }

    @Deactivate
    void deactivate() {
        core.stop();
    }

    private static String hostName() {
        try {
            return java.net.InetAddress.getLocalHost().getHostName();
        } catch (java.io.IOException e) {
            return "distribution-node";
        }
    }
}
