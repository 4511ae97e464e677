package io.pando.control.impl;

import io.netty.buffer.ByteBuf;
import io.pando.api.router.RouterService;
import io.pando.artp.ArtpConfig;
import io.pando.artp.ArtpConnection;
import io.pando.artp.ArtpEndpoint;
import io.pando.artp.ArtpHandler;
import io.pando.artp.SessionAcceptor;
import io.pando.artp.SessionGrant;
import io.pando.control.AdmissionPolicy;
import io.pando.control.PlacementPolicy;
import io.pando.control.Quota;
import io.pando.control.protocol.ControlCodec;
import io.pando.control.protocol.ControlMessage;
import io.pando.control.protocol.ControlProtocolException;
import io.pando.control.protocol.RefusalCode;
import java.net.InetSocketAddress;
import java.time.Clock;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import java.util.logging.Level;
import java.util.logging.Logger;
import javax.security.auth.login.Configuration;
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
 * The control unit's endpoint as a DS component: an ARTP endpoint that accepts only the control session (id 0),
 * decodes each CONTROL datagram as a request (docs/control.md), runs it on a worker thread through
 * {@link ControlCore}, and sends the reply on the same connection. The router, the admission and the placement policy
 * are dynamic references: they may come, go and be swapped while the endpoint runs.
 */
@Component(name = "io.pando.control", configurationPolicy = ConfigurationPolicy.OPTIONAL, service = {})
@Designate(ocd = ControlServer.Config.class)
public class ControlServer {

    private static final Logger LOG = Logger.getLogger(ControlServer.class.getName());

    /** Requests one connection may have in progress. */
    static final int MAX_IN_PROGRESS = 16;
    /** Requests waiting for a worker, over all connections. */
    static final int QUEUE = 1024;

    /** Configuration of the control unit. */
    @ObjectClassDefinition(name = "Pando control unit",
        description = "Session negotiation with users over ARTP (docs/control.md): authentication, admission, "
            + "placement, quotas.")
    public @interface Config {

        @AttributeDefinition(name = "Host", description = "Address of the control endpoint.")
        String host() default "127.0.0.1";

        @AttributeDefinition(name = "Port", description = "UDP port of the control endpoint (0 = any free port).")
        int port() default 7100;

        @AttributeDefinition(name = "JAAS realm", description = "Realm that checks users' passwords (karaf reads "
            + "etc/users.properties).")
        String realm() default "karaf";

        @AttributeDefinition(name = "Token lifetime (s)", description = "How long a token is valid, 1 to 86400.")
        long token_lifetime_seconds() default 3600;

        @AttributeDefinition(name = "Workers", description = "Threads that run requests (logins and session "
            + "creation may block), 1 to 64.")
        int workers() default 4;

        @AttributeDefinition(name = "Unit CPU capacity (cores)", description = "CPU share each unit offers to "
            + "sessions; admission refuses beyond it.")
        double unit_cpu_capacity() default 1.0;

        @AttributeDefinition(name = "Unit overload", description = "A unit whose measured CPU (0..1) is at or above "
            + "this takes no new session.")
        double unit_overload() default 0.95;

        @AttributeDefinition(name = "Unit report max age (s)", description = "A unit whose last load report is older "
            + "takes no new session.")
        long unit_report_max_age_seconds() default 30;

        @AttributeDefinition(name = "Bandwidth capacity (bit/s)", description = "Bandwidth the router admits in all; "
            + "0 = no limit.")
        long bandwidth_capacity_bps() default 0;

        @AttributeDefinition(name = "Sessions per user", description = "Default quota: most open sessions of a user.")
        int quota_sessions() default 16;

        @AttributeDefinition(name = "CPU share per user (cores)", description = "Default quota: most CPU share of a "
            + "user over all sessions and units.")
        double quota_cpus() default 8.0;

        @AttributeDefinition(name = "Bandwidth per user (bit/s)", description = "Default quota: most bandwidth of a "
            + "user over all sessions.")
        long quota_bandwidth_bps() default 10_000_000_000L;

        @AttributeDefinition(name = "Per-user quotas", description = "Overrides, one per user: "
            + "USER=sessions:N,cpus:C,bandwidth:BPS (keys optional).")
        String[] user_quotas() default {};
    }

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
        policyOption = ReferencePolicyOption.GREEDY)
    volatile RouterService router;

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
        policyOption = ReferencePolicyOption.GREEDY)
    volatile AdmissionPolicy admission;

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
        policyOption = ReferencePolicyOption.GREEDY)
    volatile PlacementPolicy placement;

    /** Present when pando-cluster runs: then only the leader admits, and sessions live in its directory. */
    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
        policyOption = ReferencePolicyOption.GREEDY)
    volatile ClusterControl cluster;

    private Running running;

    /**
     * How often a node serves the cluster's requests, publishes its router's units and closes on its router the
     * sessions the leader closed for their owner, ms.
     */
    static final long RECONCILE_MILLIS = 1000;

    /** The endpoint, the workers and the core of one activation. */
    static final class Running implements AutoCloseable {
        final ControlCore core;
        final ThreadPoolExecutor workers;
        final ArtpEndpoint endpoint;
        final ScheduledExecutorService reconciler;

        Running(Settings settings, Supplier<RouterService> router, Authenticator authenticator,
            Supplier<AdmissionPolicy> admission, Supplier<PlacementPolicy> placement,
            Supplier<ClusterControl> cluster, Clock clock) {
            this.core = new ControlCore(settings, router, authenticator, admission, placement, cluster, clock);
            AtomicInteger n = new AtomicInteger();
            this.workers = new ThreadPoolExecutor(settings.workers(), settings.workers(), 60, TimeUnit.SECONDS,
                new ArrayBlockingQueue<>(QUEUE), r -> {
                    Thread t = new Thread(r, "pando-control-" + n.incrementAndGet());
                    t.setDaemon(true);
                    return t;
                });
            ArtpConfig config = ArtpConfig.builder().maxDatagramSize(ControlCodec.MAX_REQUEST).build();
            SessionAcceptor controlOnly = (sessionId, peer) -> sessionId == 0 ? SessionGrant.UNKEYED : null;
            try {
                this.endpoint = ArtpEndpoint.builder().bind(new InetSocketAddress(settings.host(), settings.port()))
                    .config(config).acceptor(controlOnly).handler(new Handler(this)).start();
            } catch (RuntimeException e) {
                workers.shutdownNow();
                throw e;
            }
            this.reconciler = Executors.newSingleThreadScheduledExecutor(r -> {
                Thread t = new Thread(r, "pando-control-reconciler");
                t.setDaemon(true);
                return t;
            });
            reconciler.scheduleWithFixedDelay(() -> {
                try {
                    core.maintain();
                } catch (RuntimeException e) {
                    LOG.log(Level.FINE, "serving the cluster, publishing this node's router or reconciling its "
                        + "sessions with the directory failed; next time", e);
                }
            }, 0, RECONCILE_MILLIS, TimeUnit.MILLISECONDS);
        }

        InetSocketAddress address() {
            return endpoint.localAddress();
        }

        @Override
        public void close() {
            reconciler.shutdownNow();
            try {
                reconciler.awaitTermination(2, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            core.stopServing();
            endpoint.close();
            workers.shutdownNow();
            try {
                workers.awaitTermination(5, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** Decodes requests on the event loop, runs them on a worker, sends the reply. */
    static final class Handler implements ArtpHandler {
        private final Running running;

        Handler(Running running) {
            this.running = running;
        }

        @Override
        public void connected(ArtpConnection connection) {
            connection.attach(new AtomicInteger());
        }

        @Override
        public void datagram(ArtpConnection connection, ByteBuf datagram, boolean control) {
            ControlMessage message;
            try {
                if (!control) {
                    reply(connection, new ControlMessage.Refused(0, RefusalCode.MALFORMED,
                        "requests are CONTROL datagrams; a DATA datagram was received"));
                    return;
                }
                message = ControlCodec.decode(datagram);
            } catch (ControlProtocolException e) {
                reply(connection, new ControlMessage.Refused(e.requestId(), e.code(), e.getMessage()));
                return;
            } finally {
                datagram.release();
            }
            if (!(message instanceof ControlMessage.Request request)) {
                reply(connection, new ControlMessage.Refused(message.requestId(), RefusalCode.MALFORMED,
                    "a reply (MESSAGE " + String.format("0x%04X", message.type()) + ") is not a request"));
                return;
            }
            AtomicInteger inProgress = connection.attachment() instanceof AtomicInteger a ? a : new AtomicInteger();
            if (inProgress.incrementAndGet() > MAX_IN_PROGRESS) {
                inProgress.decrementAndGet();
                reply(connection, new ControlMessage.Refused(request.requestId(), RefusalCode.BUSY,
                    "more than " + MAX_IN_PROGRESS + " requests in progress on this connection"));
                return;
            }
            try {
                running.workers.execute(() -> {
                    try {
                        reply(connection, running.core.handle(request));
                    } finally {
                        inProgress.decrementAndGet();
                    }
                });
            } catch (RejectedExecutionException e) {
                inProgress.decrementAndGet();
                reply(connection, new ControlMessage.Refused(request.requestId(), RefusalCode.BUSY,
                    "the control unit is busy; try again"));
            }
        }

        private static void reply(ArtpConnection connection, ControlMessage.Reply reply) {
            ByteBuf out;
            try {
                out = ControlCodec.encode(io.netty.buffer.PooledByteBufAllocator.DEFAULT, reply);
            } catch (IllegalArgumentException e) {
                LOG.log(Level.WARNING, "cannot encode the reply " + reply, e);
                out = ControlCodec.encode(io.netty.buffer.PooledByteBufAllocator.DEFAULT, new ControlMessage.Refused(
                    reply.requestId(), RefusalCode.INTERNAL, "the reply could not be encoded: " + e.getMessage()));
            }
            try {
                connection.sendControl(out);
            } catch (IllegalStateException | IllegalArgumentException e) {
                LOG.log(Level.FINE, "reply dropped: {0}", e.getMessage());
            }
        }
    }

    /**
     * @param config the configuration
     * @throws IllegalArgumentException naming the key whose value is wrong
     */
    @Activate
    void activate(Config config) {
        running = new Running(settings(config), () -> router, new JaasAuthenticator(config.realm(), null),
            () -> {
                AdmissionPolicy a = admission;
                return a != null ? a : new DefaultAdmissionPolicy();
            },
            () -> {
                PlacementPolicy p = placement;
                return p != null ? p : new MostFreePlacement();
            }, () -> cluster, Clock.systemUTC());
        LOG.log(Level.INFO, "control unit listening on {0} (realm {1})",
            new Object[] {running.address(), config.realm()});
    }

    @Deactivate
    void deactivate() {
        Running r = running;
        running = null;
        if (r != null) {
            r.close();
        }
    }

    static Settings settings(Config c) {
        Quota quota = new Quota(c.quota_sessions(), c.quota_cpus(), c.quota_bandwidth_bps());
        return new Settings(c.host(), c.port(), c.realm(), c.token_lifetime_seconds(), c.workers(),
            c.unit_cpu_capacity(), c.unit_overload(), c.unit_report_max_age_seconds(), c.bandwidth_capacity_bps(),
            quota, Settings.parseUserQuotas(c.user_quotas(), quota));
    }

    /** For tests outside a framework: a JAAS configuration of their own. */
    static Running start(Config config, Configuration jaas, Supplier<RouterService> router,
        Supplier<AdmissionPolicy> admission, Supplier<PlacementPolicy> placement, Clock clock) {
        return start(config, jaas, router, admission, placement, () -> null, clock);
    }

    /** For tests outside a framework: a control unit on a cluster. */
    static Running start(Config config, Configuration jaas, Supplier<RouterService> router,
        Supplier<AdmissionPolicy> admission, Supplier<PlacementPolicy> placement, Supplier<ClusterControl> cluster,
        Clock clock) {
        return new Running(settings(config), router, new JaasAuthenticator(config.realm(), jaas),
            admission == null ? DefaultAdmissionPolicy::new : admission,
            placement == null ? MostFreePlacement::new : placement, cluster, clock);
    }
}
