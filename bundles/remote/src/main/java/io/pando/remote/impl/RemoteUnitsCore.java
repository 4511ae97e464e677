package io.pando.remote.impl;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.pando.api.unit.UnitId;
import io.pando.artp.ArtpConfig;
import io.pando.artp.ArtpConnection;
import io.pando.artp.ArtpEndpoint;
import io.pando.artp.ArtpHandler;
import io.pando.artp.ErrorCode;
import io.pando.link.UnitPort;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;

/**
 * On the distribution node: makes the units of other nodes available to the distribution unit as
 * {@link UnitPort} services, one {@link RemoteNode} per configured unit node.
 *
 * <p>Data to remote units leaves through one client-only ARTP endpoint (one connection per session and unit);
 * control goes over one TCP connection per node. Remote units are told to send their results to
 * {@link #aggregation()}, this node's {@code AggregationServer}.
 */
final class RemoteUnitsCore implements ArtpHandler {

    private static final Logger LOG = System.getLogger(RemoteUnitsCore.class.getName());

    /**
     * Service property of every proxy: the unit node it stands for. A {@code UnitServer} serves only units
     * without it, so proxies are never served on.
     */
    static final String PROXY_PROPERTY = "pando.remote.node";
    /** Service property of every proxy: its location, {@code host:controlPort}. */
    static final String LOCATION_PROPERTY = "unit.location";

    /** Where the proxies are published: the OSGi service registry, or a test's map. */
    interface Registry {
        /**
         * @return what withdraws the service again
         */
        Runnable register(UnitPort unit, Map<String, Object> properties);
    }

    private final String name;
    private final InetSocketAddress aggregation;
    private final ResultAttachments attachments;
    private final Registry registry;
    private final ByteBufAllocator alloc;
    private final long pollMillis;
    private final long maxBackoffMillis;
    private final long stallMillis;
    private final MultiThreadIoEventLoopGroup group;
    private final ArtpEndpoint data;
    private final ExecutorService registrar;
    private final List<RemoteNode> nodes = new ArrayList<>();
    /** Every published proxy by unit id, whichever node it is on: a unit id is published once. */
    private final Map<UnitId, RemoteUnitPort> published = new ConcurrentHashMap<>();
    private final Map<RemoteUnitPort, Runnable> registrations = new ConcurrentHashMap<>();
    private final LongAdder duplicateUnits = new LongAdder();
    private final LongAdder unexpectedDatagrams = new LongAdder();

    /**
     * @param name this node's name in the unit nodes' logs
     * @param nodes the unit nodes
     * @param aggregation the address remote units send their results to
     * @param dataBind the local address of the data endpoint (port 0: any)
     * @param pollMillis how often each node's units are listed
     * @param maxBackoffMillis longest wait between reconnection attempts
     * @param stallMillis the floor of the data-path rule for a node that hangs ({@code stall.ms}; 0: off)
     * @param attachments where remote units are attached through the distribution unit's port, when this node's
     *     aggregation server takes them (so that the distribution unit retains their datagrams)
     */
    RemoteUnitsCore(String name, List<NodeAddress> nodes, InetSocketAddress aggregation, InetSocketAddress dataBind,
            Registry registry, ArtpConfig artp, ByteBufAllocator alloc, long pollMillis, long maxBackoffMillis,
            long stallMillis, ResultAttachments attachments) {
        if (nodes.isEmpty()) {
            throw new IllegalArgumentException("nodes lists no unit node (HOST:CONTROL_PORT/DATA_PORT, "
                + "comma-separated)");
        }
        if (aggregation.getAddress() == null || aggregation.getAddress().isAnyLocalAddress()) {
            throw new IllegalArgumentException("aggregation.address must be an address the unit nodes can reach, got "
                + aggregation);
        }
        this.name = name;
        this.aggregation = aggregation;
        this.attachments = attachments;
        this.registry = registry;
        this.alloc = alloc;
        this.pollMillis = pollMillis;
        this.maxBackoffMillis = maxBackoffMillis;
        this.stallMillis = RemoteUnits.checkStallMillis(stallMillis);
        this.group = Transport.group("pando-remote-units-control", 1);
        this.registrar = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "pando-remote-units-registrar");
            t.setDaemon(true);
            return t;
        });
        try {
            this.data = ArtpEndpoint.builder().bind(dataBind).config(artp).handler(this).start();
        } catch (RuntimeException e) {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
            registrar.shutdownNow();
            throw new IllegalStateException("remote units: cannot bind the data endpoint " + dataBind + ": "
                + e.getMessage(), e);
        }
        for (NodeAddress n : nodes) {
            this.nodes.add(new RemoteNode(this, n));
        }
        LOG.log(Level.INFO, "remote units: unit nodes {0}; their results go to {1}", nodes, aggregation);
        this.nodes.forEach(RemoteNode::start);
    }

    void stop() {
        nodes.forEach(RemoteNode::stop);
        registrar.shutdown();
        try {
            registrar.awaitTermination(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        data.close();
        group.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
    }

    // ---- for the nodes

    String name() {
        return name;
    }

    InetSocketAddress aggregation() {
        return aggregation;
    }

    ArtpEndpoint data() {
        return data;
    }

    ResultAttachments attachments() {
        return attachments;
    }

    ByteBufAllocator alloc() {
        return alloc;
    }

    MultiThreadIoEventLoopGroup group() {
        return group;
    }

    long pollMillis() {
        return pollMillis;
    }

    long maxBackoffMillis() {
        return maxBackoffMillis;
    }

    /** @return the unit nodes, in configuration order */
    List<RemoteNode> nodes() {
        return List.copyOf(nodes);
    }

    long stallMillis() {
        return stallMillis;
    }

    /** @return whether the proxy is published (false: another node already has a unit of that id) */
    boolean publish(RemoteUnitPort unit) {
        RemoteUnitPort other = published.putIfAbsent(unit.id(), unit);
        if (other != null) {
            duplicateUnits.increment();
            LOG.log(Level.ERROR, "remote units: unit id {0} is reported by {1} and by {2}; only the first is used",
                unit.id(), other.location(), unit.location());
            return false;
        }
        Map<String, Object> props = new LinkedHashMap<>();
        props.put(UnitPort.UNIT_ID, unit.id().value());
        props.put(PROXY_PROPERTY, unit.location());
        props.put(LOCATION_PROPERTY, unit.location());
        registrar.execute(() -> {
            if (published.get(unit.id()) == unit) {
                registrations.put(unit, registry.register(unit, props));
                LOG.log(Level.INFO, "remote units: unit {0} on {1} registered", unit.id(), unit.location());
            }
        });
        return true;
    }

    /** Withdraws a proxy whose node went away or no longer lists it. */
    void withdraw(RemoteUnitPort unit) {
        published.remove(unit.id(), unit);
        registrar.execute(() -> {
            Runnable r = registrations.remove(unit);
            if (r != null) {
                r.run();
                LOG.log(Level.INFO, "remote units: unit {0} on {1} withdrawn", unit.id(), unit.location());
            }
        });
    }

    Map<String, Long> counters() {
        Map<String, Long> m = new LinkedHashMap<>();
        m.put("units", (long) published.size());
        m.put("nodes_connected", nodes.stream().filter(RemoteNode::connected).count());
        m.put("duplicate_units", duplicateUnits.sum());
        m.put("unexpected_datagrams", unexpectedDatagrams.sum());
        return m;
    }

    // ---- ARTP (data endpoint loop)

    @Override
    public void datagram(ArtpConnection connection, ByteBuf datagram, boolean control) {
        unexpectedDatagrams.increment(); // a unit server sends nothing back on a data connection
        datagram.release();
    }

    @Override
    public void writabilityChanged(ArtpConnection connection) {
        if (connection.attachment() instanceof RemoteUnitChannel c) {
            c.writabilityChanged();
        }
    }

    @Override
    public void closed(ArtpConnection connection, ErrorCode code, String reason) {
        if (connection.attachment() instanceof RemoteUnitChannel c) {
            c.closed(code, reason);
        }
    }
}
