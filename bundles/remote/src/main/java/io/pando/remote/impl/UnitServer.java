package io.pando.remote.impl;

import io.netty.buffer.PooledByteBufAllocator;
import io.pando.artp.ArtpConfig;
import io.pando.link.UnitPort;
import java.net.InetSocketAddress;
import java.util.Map;
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
 * On a unit node: serves every local {@link UnitPort} (not the proxies of remote units) to distribution units on
 * other nodes. Units are a dynamic reference, so units may be added and removed while sessions run.
 */
@Component(name = UnitServer.PID, configurationPolicy = ConfigurationPolicy.REQUIRE, service = {})
@Designate(ocd = UnitServer.Config.class)
public class UnitServer {

    static final String PID = "io.pando.remote.unitserver";

    /** Configuration of the unit server. */
    @ObjectClassDefinition(name = "Pando unit server",
        description = "Serves this node's parallel AR units to distribution units on other nodes: control over "
            + "TCP, data over ARTP (UDP).")
    public @interface Config {

        /** @return the control address */
        @AttributeDefinition(name = "Control address", description = "Local address of the TCP control port; "
            + "0.0.0.0 for any.")
        String control_host() default "0.0.0.0";

        /** @return the control port */
        @AttributeDefinition(name = "Control port", description = "TCP port distribution nodes connect to "
            + "(HOST:CONTROL_PORT/DATA_PORT in their io.pando.remote.units nodes).")
        int control_port() default 7410;

        /** @return the data address */
        @AttributeDefinition(name = "Data address", description = "Local address of the ARTP data endpoint and "
            + "of the connections to aggregation servers; 0.0.0.0 for any.")
        String data_host() default "0.0.0.0";

        /** @return the data port */
        @AttributeDefinition(name = "Data port", description = "UDP port of the ARTP data endpoint.")
        int data_port() default 7411;
    }

    private final UnitServerCore core;

    /**
     * @param config the configuration
     * @throws IllegalArgumentException if a value breaks its rule
     */
    @Activate
    public UnitServer(Config config) {
        core = new UnitServerCore(new InetSocketAddress(config.control_host(), port("control.port",
            config.control_port())), new InetSocketAddress(config.data_host(), port("data.port", config.data_port())),
            artpConfig(), PooledByteBufAllocator.DEFAULT);
    }

    @Deactivate
    void deactivate() {
        core.stop();
    }

    /** Local units only: the proxies of remote units carry {@value RemoteUnitsCore#PROXY_PROPERTY}. */
    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC,
        policyOption = ReferencePolicyOption.GREEDY, target = "(!(" + RemoteUnitsCore.PROXY_PROPERTY + "=*))")
    void bindUnit(UnitPort unit, Map<String, Object> props) {
        core.addUnit(unit);
    }

    void unbindUnit(UnitPort unit, Map<String, Object> props) {
        core.removeUnit(unit);
    }

    /** @return the ARTP configuration of every endpoint of this bundle: room for the prefix on a 1 MiB datagram */
    static ArtpConfig artpConfig() {
        return ArtpConfig.builder().maxDatagramSize(DataPrefix.MAX_DATAGRAM).build();
    }

    static int port(String name, int port) {
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException(name + " must be in [0, 65535], got " + port);
        }
        return port;
    }
}
