package io.pando.distribution.impl;

import io.netty.buffer.ByteBuf;
import io.pando.aggregation.impl.BenchAggregation;
import io.pando.api.router.SessionRequest;
import io.pando.api.session.SessionId;
import io.pando.artp.ArtpConfig;
import io.pando.artp.ArtpConnection;
import io.pando.artp.ArtpEndpoint;
import io.pando.artp.ArtpHandler;
import io.pando.artp.SessionAcceptor;
import io.pando.link.AggregationPort;
import io.pando.link.UnitPort;
import io.pando.unit.impl.BenchUnits;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A router in this JVM as a node runs it, without the framework: the real distribution unit, in-process units
 * running {@code passthrough} and the real aggregation unit, over real ARTP sockets on loopback. Sessions are
 * created and closed through {@link io.pando.api.router.RouterService}, as {@code pando:session-create} does.
 */
final class BenchRouter implements AutoCloseable {

    /**
     * The endpoints' ARTP configuration: the defaults, but for the connection cap (10,000 by default), which would
     * stop the aggregation unit's egress (one connection per session with traffic) and the destination first.
     */
    static final ArtpConfig CONFIG = ArtpConfig.builder().maxConnections(1 << 20).build();
    /** Each session's quota in each unit's buffer pool. */
    static final long QUOTA = 64 << 10;

    final AggregationPort aggregation;
    final List<UnitPort> units = new ArrayList<>();
    final DistributionCore core;
    private final InetSocketAddress destination;
    private final int unitsPerSession;
    private long names;

    /**
     * @param units how many units the node runs (every session uses all of them)
     * @param destination where the sessions' results go
     */
    BenchRouter(int units, InetSocketAddress destination) {
        this.destination = destination;
        this.unitsPerSession = units;
        InetSocketAddress loopback = new InetSocketAddress("127.0.0.1", 0);
        aggregation = BenchAggregation.start(loopback, CONFIG);
        core = new DistributionCore(loopback, "", "round-robin", QUOTA, aggregation, CONFIG);
        for (int i = 0; i < units; i++) {
            UnitPort u = BenchUnits.passthrough("u" + i, Long.MAX_VALUE / 2);
            this.units.add(u);
            core.addUnit(u);
        }
    }

    /** @return the id of a new session running {@code passthrough} on every unit */
    SessionId create() {
        return core.createSession(new SessionRequest("s" + names++, "passthrough", destination, unitsPerSession,
            Optional.empty(), Optional.empty(), Map.of())).id();
    }

    void close(SessionId id) {
        core.closeSession(id);
    }

    @Override
    public void close() {
        core.stop();
        for (UnitPort u : units) {
            BenchUnits.stop(u);
        }
        BenchAggregation.stop(aggregation);
    }

    /** A destination: an ARTP endpoint that accepts every session and counts (and releases) what arrives. */
    static final class Destination implements ArtpHandler, AutoCloseable {
        final AtomicLong datagrams = new AtomicLong();
        final ArtpEndpoint endpoint = ArtpEndpoint.builder().bind(new InetSocketAddress("127.0.0.1", 0))
            .config(CONFIG).handler(this).acceptor(SessionAcceptor.ANY).start();

        @Override
        public void datagram(ArtpConnection connection, ByteBuf datagram, boolean control) {
            datagrams.incrementAndGet();
            datagram.release();
        }

        InetSocketAddress address() {
            return endpoint.localAddress();
        }

        @Override
        public void close() {
            endpoint.close();
        }
    }
}
