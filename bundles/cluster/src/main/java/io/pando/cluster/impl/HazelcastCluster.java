package io.pando.cluster.impl;

import com.hazelcast.cluster.Cluster;
import com.hazelcast.cluster.InitialMembershipEvent;
import com.hazelcast.cluster.InitialMembershipListener;
import com.hazelcast.cluster.Member;
import com.hazelcast.cluster.MembershipEvent;
import com.hazelcast.config.Config;
import com.hazelcast.config.JoinConfig;
import com.hazelcast.config.ListenerConfig;
import com.hazelcast.config.MapConfig;
import com.hazelcast.config.NetworkConfig;
import com.hazelcast.config.SplitBrainProtectionConfig;
import com.hazelcast.core.Hazelcast;
import com.hazelcast.core.HazelcastInstance;
import com.hazelcast.core.HazelcastInstanceNotActiveException;
import com.hazelcast.map.IMap;
import com.hazelcast.map.listener.EntryAddedListener;
import com.hazelcast.map.listener.EntryRemovedListener;
import com.hazelcast.splitbrainprotection.SplitBrainProtectionException;
import com.hazelcast.splitbrainprotection.SplitBrainProtectionOn;
import io.pando.api.unit.UnitId;
import io.pando.cluster.ClusterEvent;
import io.pando.cluster.ClusterFeatureAdminService;
import io.pando.cluster.ClusterListener;
import io.pando.cluster.ClusterMember;
import io.pando.cluster.ClusterMember.MemberRole;
import io.pando.cluster.ClusterService;
import io.pando.cluster.NoQuorumException;
import io.pando.cluster.NodeFeatureReport;
import io.pando.cluster.NotLeaderException;
import io.pando.cluster.SessionDirectory;
import io.pando.cluster.SessionRecord;
import io.pando.cluster.MemberRequests;
import io.pando.cluster.UnitDirectory;
import io.pando.cluster.UnitReport;
import io.pando.link.UnitPort;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.SortedSet;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.function.Supplier;
import java.util.regex.Pattern;
import org.apache.karaf.features.FeaturesService;
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
 * This node's member of the Pando cluster: an embedded Hazelcast member (TCP-IP discovery from the configured member
 * list, no multicast, no phone-home) behind {@link ClusterService}, {@link SessionDirectory} and
 * {@link ClusterFeatureAdminService}.
 *
 * <ul>
 * <li>Membership and leadership come from Hazelcast's member list, which every member orders the same way, oldest
 * first: the leader is its head. {@link ClusterListener} services get the changes on one event thread.</li>
 * <li>Quorum: at least {@link ClusterSettings#quorumSize()} members visible. The directory and the desired features
 * are also guarded by Hazelcast's split-brain protection with the same minimum, so a write that races a partition
 * is refused by the engine too.</li>
 * <li>The directory is a partitioned map of session id to {@link Records encoded} record with
 * {@link ClusterSettings#directoryBackups()} synchronous backups; put-if-absent is atomic on the key's owner.</li>
 * <li>Desired features are a map of feature name to the time it was asked for; each node's
 * {@link FeatureReconciler} installs them through Karaf's {@code FeaturesService} (when one is registered) and
 * publishes its report into a third map, by node name.</li>
 * <li>Unit reports: every {@link ClusterSettings#unitReportMillis()} this node writes the load of each of its own
 * units ({@code UnitPort} services whose location is {@code local}) into a fourth map, keyed by member id and unit,
 * each entry with a time to live of three intervals (at least 3 s); no split-brain protection (a report is an observation).</li>
 * <li>Requests between members and published values: {@link MemberMessaging}.</li>
 * </ul>
 */
@Component(name = HazelcastCluster.PID, configurationPolicy = ConfigurationPolicy.REQUIRE,
    service = {ClusterService.class, SessionDirectory.class, ClusterFeatureAdminService.class, UnitDirectory.class,
        MemberRequests.class})
@Designate(ocd = HazelcastCluster.Config.class)
public class HazelcastCluster implements ClusterService, SessionDirectory, ClusterFeatureAdminService,
    UnitDirectory, MemberRequests {

    static final String PID = "io.pando.cluster";
    static final String SESSIONS = "pando.sessions";
    static final String DESIRED_FEATURES = "pando.desired-features";
    static final String FEATURE_REPORTS = "pando.feature-reports";
    static final String UNITS = "pando.units";
    /** The location of a unit that runs on this node ({@code UnitPort#location()}). */
    static final String LOCAL = "local";
    static final String QUORUM = "pando-quorum";
    static final String ATTR_NAME = "pando.name";
    static final String ATTR_ROLES = "pando.roles";
    static final String ATTR_STARTED = "pando.started";

    private static final Logger LOG = System.getLogger(HazelcastCluster.class.getName());
    private static final Pattern FEATURE = Pattern.compile(
        "[A-Za-z0-9][A-Za-z0-9._-]{0,127}(/[A-Za-z0-9][A-Za-z0-9._-]{0,63})?");

    /** Configuration of this node's cluster member. */
    @ObjectClassDefinition(name = "Pando cluster",
        description = "This node's member of the Pando cluster (embedded Hazelcast): membership, failure "
            + "detection, the leader (oldest member) with split-brain protection, the session directory and the "
            + "features every node runs. Members find each other by TCP-IP from the member list; no multicast.")
    public @interface Config {

        /** @return the cluster name */
        @AttributeDefinition(name = "Cluster name", description = "Members join only a cluster of the same name.")
        String cluster_name() default "pando";

        /** @return the member name */
        @AttributeDefinition(name = "Member name", description = "This node's name, unique in the cluster "
            + "(letters, digits, '.', '_', '-'). Empty: BIND_ADDRESS-PORT.")
        String member_name() default "";

        /** @return the node's roles */
        @AttributeDefinition(name = "Node roles", description = "The router roles of this node, shown to other "
            + "members (e.g. distribution, unit, aggregation, control).")
        String[] node_roles() default {};

        /** @return the bind address */
        @AttributeDefinition(name = "Bind address", description = "The address this member binds and other "
            + "members reach it at (an address of this machine, not 0.0.0.0).")
        String bind_address() default "127.0.0.1";

        /** @return the port */
        @AttributeDefinition(name = "Port", description = "The member's TCP port (no auto-increment: a port in "
            + "use is an error).")
        int port() default 5701;

        /** @return the public address */
        @AttributeDefinition(name = "Public address", description = "HOST:PORT other members reach this member "
            + "at, if not the bind address and port (NAT, port forwarding). Empty: BIND_ADDRESS:PORT.")
        String public_address() default "";

        /** @return the member list */
        @AttributeDefinition(name = "Members", description = "Every member of the cluster, this one included, as "
            + "HOST or HOST:PORT (PORT defaults to this member's port). Empty: a cluster of one.")
        String[] members() default {};

        /** @return the heartbeat interval */
        @AttributeDefinition(name = "Heartbeat interval (s)", description = "How often members send heartbeats.")
        int heartbeat_interval_seconds() default 5;

        /** @return the failure timeout */
        @AttributeDefinition(name = "Failure timeout (s)", description = "A member that sent no heartbeat for this "
            + "long is removed from the cluster (failure detection). Greater than the heartbeat interval.")
        int failure_timeout_seconds() default 30;

        /** @return the join timeout */
        @AttributeDefinition(name = "Join timeout (s)", description = "How long a starting member waits for the "
            + "listed members to answer before it starts a cluster of its own.")
        int join_timeout_seconds() default 5;

        /** @return the quorum size */
        @AttributeDefinition(name = "Quorum (minimum members)", description = "The minimum number of members a "
            + "partition needs to admit or place sessions and change cluster-wide state. 0: a majority of the "
            + "member list.")
        int quorum_min_members() default 0;

        /** @return the backups of directory records */
        @AttributeDefinition(name = "Directory backups", description = "Synchronous backups of each session "
            + "directory record on other members (0 to 6).")
        int directory_backups() default 1;

        /** @return the merge interval */
        @AttributeDefinition(name = "Merge interval (s)", description = "How often a member looks for a "
            + "split-off partition of the cluster to merge with, after a network partition heals.")
        int merge_interval_seconds() default 30;

        /** @return the feature retry interval */
        @AttributeDefinition(name = "Feature retry (s)", description = "How often this node reconciles the "
            + "cluster-wide desired features anyway, retrying failed installs.")
        int features_retry_seconds() default 60;

        /** @return the unit report interval */
        @AttributeDefinition(name = "Unit report interval (ms)", description = "How often this node reports its "
            + "own units and their load to the cluster (100-60000); a report lives three intervals, at least 3 s.")
        int unit_report_interval_ms() default ClusterSettings.DEFAULT_UNIT_REPORT_MILLIS;

        /** @return the engine's log level */
        @AttributeDefinition(name = "Engine log level", description = "Level of the cluster engine's own log "
            + "(com.hazelcast): OFF, ERROR, WARN, INFO, DEBUG.")
        String logging_level() default "WARN";
    }

    private final ClusterSettings settings;
    private final Clock clock;
    private final java.util.logging.Logger engineLog;
    private final java.util.logging.Level engineLogBefore;
    private final ExecutorService events;
    private final List<ClusterListener> listeners = new CopyOnWriteArrayList<>();
    private final Object viewLock = new Object();
    private volatile View view = View.EMPTY;
    /** False while the member joins: the changes of its joining are not events. */
    private volatile boolean running;
    private final HazelcastInstance hz;
    private final IMap<String, byte[]> sessions;
    private final IMap<String, Long> desiredFeatures;
    private final IMap<String, byte[]> featureReports;
    private final IMap<String, byte[]> unitReports;
    private final Set<UnitPort> localUnits = ConcurrentHashMap.newKeySet();
    /** Units whose last report failed (logged once until it succeeds again). */
    private final Set<UnitId> failingUnits = ConcurrentHashMap.newKeySet();
    private final ScheduledExecutorService reporter;
    private final String localId;
    private final MemberMessaging messaging;
    private final Object installerLock = new Object();
    private volatile FeatureInstaller installer;
    private FeatureReconciler reconciler;

    /**
     * Starts this node's member from its configuration.
     *
     * @param config the configuration
     * @throws IllegalArgumentException if a value breaks its rule
     */
    @Activate
    public HazelcastCluster(Config config) {
        this(ClusterSettings.from(config), Clock.systemUTC());
    }

    /**
     * Starts a member and returns once it has joined a cluster (or, when none answers within the join timeout,
     * started one of its own).
     *
     * @param settings the validated settings
     * @param clock the clock of join times and reports
     * @throws IllegalStateException if the member cannot start (e.g. the port is in use)
     */
    HazelcastCluster(ClusterSettings settings, Clock clock) {
        this.settings = settings;
        this.clock = clock;
        // Hazelcast logs through java.util.logging ("jdk"); keep it to warnings unless configured otherwise.
        engineLog = java.util.logging.Logger.getLogger("com.hazelcast");
        engineLogBefore = engineLog.getLevel();
        engineLog.setLevel(settings.engineLogLevel());
        events = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "pando-cluster-events-" + settings.memberName());
            t.setDaemon(true);
            return t;
        });
        Thread thread = Thread.currentThread();
        ClassLoader tccl = thread.getContextClassLoader();
        thread.setContextClassLoader(Hazelcast.class.getClassLoader());
        try {
            hz = Hazelcast.newHazelcastInstance(engineConfig(settings, clock.instant(), new Membership()));
        } catch (RuntimeException e) {
            events.shutdownNow();
            engineLog.setLevel(engineLogBefore);
            throw new IllegalStateException("cluster member " + settings.memberName() + " could not start on "
                + settings.localAddress() + ": " + FeatureReconciler.message(e), e);
        } finally {
            thread.setContextClassLoader(tccl);
        }
        sessions = hz.getMap(SESSIONS);
        desiredFeatures = hz.getMap(DESIRED_FEATURES);
        featureReports = hz.getMap(FEATURE_REPORTS);
        unitReports = hz.getMap(UNITS);
        localId = hz.getCluster().getLocalMember().getUuid().toString();
        messaging = new MemberMessaging(hz, localId, settings.memberName(), () -> view.members);
        desiredFeatures.addEntryListener(new DesiredFeatureChanges(), false);
        reporter = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "pando-cluster-units-" + settings.memberName());
            t.setDaemon(true);
            return t;
        });
        reporter.scheduleWithFixedDelay(this::reportUnits, 0, settings.unitReportMillis(), TimeUnit.MILLISECONDS);
        running = true;
        refreshView(null, false);
        LOG.log(Level.INFO, "cluster member {0} ({1}) joined cluster {2}: {3} members, leader {4}, quorum {5}",
            settings.memberName(), settings.localAddress(), settings.clusterName(), members().size(),
            leader().map(ClusterMember::name).orElse("?"), hasQuorum() ? "yes" : "no (" + quorumSize() + " needed)");
    }

    /** @return the Hazelcast configuration of a member with these settings */
    static com.hazelcast.config.Config engineConfig(ClusterSettings s, Instant started,
        InitialMembershipListener listener) {
        com.hazelcast.config.Config c = new com.hazelcast.config.Config();
        c.setClassLoader(Hazelcast.class.getClassLoader());
        c.setClusterName(s.clusterName());
        c.setInstanceName("pando-" + s.clusterName() + "-" + s.memberName() + "-" + UUID.randomUUID());
        c.setProperty("hazelcast.phone.home.enabled", "false");
        c.setProperty("hazelcast.logging.type", "jdk");
        c.setProperty("hazelcast.shutdownhook.enabled", "false");
        c.setProperty("hazelcast.health.monitoring.level", "OFF");
        c.setProperty("hazelcast.local.localAddress", s.bindAddress());
        c.setProperty("hazelcast.socket.bind.any", "false");
        c.setProperty("hazelcast.heartbeat.interval.seconds", Integer.toString(s.heartbeatSeconds()));
        c.setProperty("hazelcast.max.no.heartbeat.seconds", Integer.toString(s.failureTimeoutSeconds()));
        c.setProperty("hazelcast.wait.seconds.before.join", "1");
        c.setProperty("hazelcast.graceful.shutdown.max.wait", "30");
        c.setProperty("hazelcast.merge.first.run.delay.seconds", Integer.toString(s.mergeIntervalSeconds()));
        c.setProperty("hazelcast.merge.next.run.delay.seconds", Integer.toString(s.mergeIntervalSeconds()));
        c.getJetConfig().setEnabled(false);
        c.getMemberAttributeConfig().setAttribute(ATTR_NAME, s.memberName());
        c.getMemberAttributeConfig().setAttribute(ATTR_ROLES, String.join(",", new TreeSet<>(s.nodeRoles())));
        c.getMemberAttributeConfig().setAttribute(ATTR_STARTED, Long.toString(started.toEpochMilli()));

        NetworkConfig net = c.getNetworkConfig();
        net.setPort(s.port());
        net.setPortAutoIncrement(false);
        net.setPublicAddress(s.advertisedAddress());
        JoinConfig join = net.getJoin();
        join.getMulticastConfig().setEnabled(false);
        join.getAutoDetectionConfig().setEnabled(false);
        join.getTcpIpConfig().setEnabled(true).setConnectionTimeoutSeconds(s.joinTimeoutSeconds())
            .setMembers(s.members().isEmpty() ? List.of(s.advertisedAddress()) : s.members());

        String protection = null;
        if (s.quorumSize() > 1) {
            protection = QUORUM;
            c.addSplitBrainProtectionConfig(new SplitBrainProtectionConfig(QUORUM, true, s.quorumSize())
                .setProtectOn(SplitBrainProtectionOn.WRITE));
        }
        c.addMapConfig(new MapConfig(SESSIONS).setBackupCount(s.directoryBackups())
            .setSplitBrainProtectionName(protection));
        c.addMapConfig(new MapConfig(DESIRED_FEATURES).setBackupCount(Math.max(1, s.directoryBackups()))
            .setSplitBrainProtectionName(protection));
        c.addMapConfig(new MapConfig(FEATURE_REPORTS).setBackupCount(1));
        c.addMapConfig(new MapConfig(UNITS).setBackupCount(1));
        c.addListenerConfig(new ListenerConfig(listener));
        return c;
    }

    @Deactivate
    void deactivate() {
        close();
    }

    /** Leaves the cluster gracefully (the directory's records are handed over first). */
    void close() {
        messaging.close();
        stopReconciler();
        stopReporter(true);
        try {
            hz.shutdown();
        } catch (RuntimeException e) {
            LOG.log(Level.WARNING, "cluster member " + settings.memberName() + " did not shut down cleanly", e);
        }
        events.shutdown();
        engineLog.setLevel(engineLogBefore);
    }

    /** Stops the member at once, as a crash would: for tests of failure detection. */
    void terminate() {
        messaging.close();
        stopReconciler();
        stopReporter(false);
        hz.getLifecycleService().terminate();
        events.shutdown();
    }

    /** @return the engine's session map, bypassing this class's own quorum check (tests of the engine's guard) */
    IMap<String, byte[]> engineSessions() {
        return sessions;
    }

    /**
     * @return whether every partition of the engine has its backups in sync (no migration under way): until then,
     *     a record written since the last membership change may live on one member only
     */
    @Override
    public boolean replicated() {
        return hz.getPartitionService().isClusterSafe();
    }

    // ---- requests between members and published values ----------------------------------------------------------

    @Override
    public CompletableFuture<byte[]> request(String member, String topic, byte[] body, Duration timeout) {
        return messaging.request(member, topic, body, timeout);
    }

    @Override
    public AutoCloseable serve(String topic, Function<byte[], byte[]> handler) {
        return messaging.serve(topic, handler);
    }

    @Override
    public void publish(String key, String value, Duration ttl) {
        engine("publish " + key, () -> {
            messaging.publish(key, value, ttl);
            return null;
        });
    }

    @Override
    public void withdraw(String key) {
        engine("withdraw " + key, () -> {
            messaging.withdraw(key);
            return null;
        });
    }

    @Override
    public Map<String, String> published(String key) {
        return engine("read " + key, () -> messaging.published(key));
    }

    /** @return the settings of this member */
    ClusterSettings settings() {
        return settings;
    }

    // ---- listeners and Karaf features --------------------------------------------------------------------------

    /** @param listener told of later changes */
    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC)
    void addListener(ClusterListener listener) {
        listeners.add(listener);
    }

    void removeListener(ClusterListener listener) {
        listeners.remove(listener);
    }

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
        policyOption = ReferencePolicyOption.GREEDY)
    void bindFeaturesService(FeaturesService features) {
        useInstaller(new KarafFeatureInstaller(features));
    }

    void unbindFeaturesService(FeaturesService features) {
        useInstaller(null);
    }

    /**
     * Reconciles the desired features through this installer from now on (none: not at all).
     *
     * @param next the node's feature manager, or null
     */
    void useInstaller(FeatureInstaller next) {
        synchronized (installerLock) {
            stopReconciler();
            installer = next;
            if (next != null) {
                reconciler = new FeatureReconciler(settings.memberName(), next, this::desiredFeatures,
                    r -> featureReports.set(r.node(), Records.encode(r)), settings.featureRetrySeconds(), clock);
            }
        }
    }

    private void stopReconciler() {
        synchronized (installerLock) {
            if (reconciler != null) {
                reconciler.close();
                try {
                    // an install under way in Karaf finishes on its own; a cluster read is cut short by the close
                    reconciler.awaitClosed(2_000);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                reconciler = null;
            }
        }
    }

    private void reconcileSoon() {
        synchronized (installerLock) {
            if (reconciler != null) {
                reconciler.requestReconcile();
            }
        }
    }

    // ---- unit reports -------------------------------------------------------------------------------------------

    /** @param unit a unit of this node (reported) or a remote unit this node uses (ignored: its node reports it) */
    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC)
    void addUnit(UnitPort unit) {
        localUnits.add(unit);
        if (reporter != null) {
            try {
                reporter.execute(this::reportUnits);
            } catch (java.util.concurrent.RejectedExecutionException e) {
                // shutting down
            }
        }
    }

    void removeUnit(UnitPort unit) {
        if (localUnits.remove(unit) && LOCAL.equals(location(unit))) {
            String key = key(unit.id());
            try {
                unitReports.removeAsync(key);
            } catch (RuntimeException e) {
                // the member is going down: the report expires on its own
            }
        }
    }

    private static String location(UnitPort unit) {
        try {
            return unit.location();
        } catch (RuntimeException e) {
            return "?";
        }
    }

    private String key(UnitId unit) {
        return localId + "/" + unit.value();
    }

    /** Writes the load of each local unit, on the reporter thread. */
    private void reportUnits() {
        long ttl = reportLifetime().toMillis();
        for (UnitPort u : localUnits) {
            if (!LOCAL.equals(location(u))) {
                continue;
            }
            UnitId id = null;
            try {
                id = u.id();
                UnitReport r = UnitReport.of(localId, settings.memberName(), u.load(), u.scheduler(), u.programs());
                unitReports.set(key(id), Records.encode(r), ttl, TimeUnit.MILLISECONDS);
                if (failingUnits.remove(id)) {
                    LOG.log(Level.INFO, "{0}: unit {1} reports again", settings.memberName(), id);
                }
            } catch (HazelcastInstanceNotActiveException e) {
                return;
            } catch (RuntimeException e) {
                if (id == null || failingUnits.add(id)) {
                    LOG.log(Level.WARNING, settings.memberName() + ": cannot report unit " + id + " to the cluster: "
                        + e.getMessage(), e);
                }
            }
        }
    }

    private void stopReporter(boolean withdraw) {
        reporter.shutdownNow();
        try {
            reporter.awaitTermination(2, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (withdraw) {
            for (UnitPort u : localUnits) {
                if (LOCAL.equals(location(u))) {
                    try {
                        unitReports.delete(key(u.id()));
                    } catch (RuntimeException e) {
                        break; // the report expires on its own
                    }
                }
            }
        }
    }

    @Override
    public List<UnitReport> units() {
        Set<String> current = new java.util.HashSet<>();
        for (ClusterMember m : view.members) {
            current.add(m.id());
        }
        List<UnitReport> out = new ArrayList<>();
        for (Map.Entry<String, byte[]> e : engine("read unit reports", unitReports::entrySet)) {
            try {
                UnitReport r = Records.decodeUnit(e.getValue());
                if (current.contains(r.memberId())) {
                    out.add(r);
                }
            } catch (IllegalArgumentException x) {
                LOG.log(Level.WARNING, "unit report " + e.getKey() + " unreadable: " + x.getMessage());
            }
        }
        out.sort(Comparator.comparing(UnitReport::member).thenComparing(r -> r.load().unit().value()));
        return out;
    }

    @Override
    public Duration reportInterval() {
        return Duration.ofMillis(settings.unitReportMillis());
    }

    /** @return how long a unit report lives unless refreshed: three intervals, at least 3 s (a busy node's
     *     report may come late; a node that left is dropped from the view at once anyway) */
    Duration reportLifetime() {
        return Duration.ofMillis(Math.max(3L * settings.unitReportMillis(), 3_000));
    }

    // ---- ClusterService -----------------------------------------------------------------------------------------

    @Override
    public String clusterName() {
        return settings.clusterName();
    }

    @Override
    public ClusterMember localMember() {
        View v = view;
        for (ClusterMember m : v.members) {
            if (m.local()) {
                return m;
            }
        }
        return member(hz.getCluster().getLocalMember(), MemberRole.MEMBER);
    }

    @Override
    public List<ClusterMember> members() {
        return view.members;
    }

    @Override
    public Optional<ClusterMember> leader() {
        List<ClusterMember> m = view.members;
        return m.isEmpty() ? Optional.empty() : Optional.of(m.get(0));
    }

    @Override
    public boolean isLeader() {
        View v = view;
        return v.quorum && !v.members.isEmpty() && v.members.get(0).local();
    }

    @Override
    public boolean hasQuorum() {
        return view.quorum;
    }

    @Override
    public int quorumSize() {
        return settings.quorumSize();
    }

    @Override
    public void requireQuorum(String action) {
        View v = view;
        if (!v.quorum) {
            throw noQuorum(action, v, null);
        }
    }

    @Override
    public void requireLeader(String action) {
        View v = view;
        requireQuorum(action);
        if (v.members.isEmpty() || !v.members.get(0).local()) {
            throw new NotLeaderException("refused to " + action + ": " + settings.memberName()
                + " is not the cluster leader; the leader is "
                + (v.members.isEmpty() ? "unknown" : v.members.get(0).name() + " (" + v.members.get(0).address()
                + ")"));
        }
    }

    private NoQuorumException noQuorum(String action, View v, Throwable cause) {
        return new NoQuorumException("refused to " + action + ": no quorum, " + settings.memberName() + " sees "
            + v.members.size() + " of the " + settings.quorumSize() + " members needed", cause);
    }

    // ---- SessionDirectory ---------------------------------------------------------------------------------------

    @Override
    public Optional<SessionRecord> get(String sessionId) {
        Objects.requireNonNull(sessionId, "sessionId");
        return Optional.ofNullable(engine("read session " + sessionId, () -> sessions.get(sessionId)))
            .map(Records::decodeSession);
    }

    @Override
    public Optional<SessionRecord> putIfAbsent(SessionRecord record) {
        String action = "place session " + record.sessionId();
        requireQuorum(action);
        byte[] bytes = Records.encode(record);
        byte[] before = engine(action, () -> sessions.putIfAbsent(record.sessionId(), bytes));
        return Optional.ofNullable(before).map(Records::decodeSession);
    }

    @Override
    public boolean replace(SessionRecord expected, SessionRecord updated) {
        if (!expected.sessionId().equals(updated.sessionId())) {
            throw new IllegalArgumentException("cannot replace session " + expected.sessionId() + " by session "
                + updated.sessionId() + ": the ids differ");
        }
        String action = "update session " + expected.sessionId();
        requireQuorum(action);
        byte[] old = Records.encode(expected);
        byte[] now = Records.encode(updated);
        return engine(action, () -> sessions.replace(expected.sessionId(), old, now));
    }

    @Override
    public Optional<SessionRecord> remove(String sessionId) {
        Objects.requireNonNull(sessionId, "sessionId");
        String action = "remove session " + sessionId;
        requireQuorum(action);
        return Optional.ofNullable(engine(action, () -> sessions.remove(sessionId))).map(Records::decodeSession);
    }

    @Override
    public List<SessionRecord> list() {
        Collection<byte[]> all = engine("list sessions", sessions::values);
        List<SessionRecord> out = new ArrayList<>(all.size());
        for (byte[] b : all) {
            out.add(Records.decodeSession(b));
        }
        out.sort(Comparator.comparing(SessionRecord::sessionId));
        return out;
    }

    @Override
    public int size() {
        return engine("count sessions", sessions::size);
    }

    // ---- ClusterFeatureAdminService -----------------------------------------------------------------------------

    @Override
    public SortedSet<String> desiredFeatures() {
        Set<String> names = engine("read the desired features", desiredFeatures::keySet);
        return new TreeSet<>(names);
    }

    @Override
    public boolean addDesiredFeature(String feature) {
        checkFeatureName(feature);
        FeatureInstaller i = installer;
        if (i != null) {
            boolean exists;
            try {
                exists = i.exists(feature);
            } catch (Exception e) {
                throw new IllegalStateException("cannot look up feature " + feature + ": "
                    + FeatureReconciler.message(e), e);
            }
            if (!exists) {
                throw new IllegalArgumentException("no feature " + feature + " in the feature repositories of "
                    + settings.memberName() + "; add its repository first (feature:repo-add) on every node");
            }
        }
        String action = "add desired feature " + feature;
        requireQuorum(action);
        long now = clock.millis();
        return engine(action, () -> desiredFeatures.putIfAbsent(feature, now)) == null;
    }

    @Override
    public boolean removeDesiredFeature(String feature) {
        checkFeatureName(feature);
        String action = "remove desired feature " + feature;
        requireQuorum(action);
        return engine(action, () -> desiredFeatures.remove(feature)) != null;
    }

    @Override
    public Map<String, NodeFeatureReport> reports() {
        Map<String, NodeFeatureReport> out = new TreeMap<>();
        for (Map.Entry<String, byte[]> e : engine("read feature reports", featureReports::entrySet)) {
            try {
                out.put(e.getKey(), Records.decodeReport(e.getValue()));
            } catch (IllegalArgumentException x) {
                LOG.log(Level.WARNING, "feature report of " + e.getKey() + " unreadable: " + x.getMessage());
            }
        }
        return out;
    }

    /** @return this node's latest feature report, or empty if it reconciles no features (no FeaturesService) */
    Optional<NodeFeatureReport> localReport() {
        synchronized (installerLock) {
            return reconciler == null ? Optional.empty() : Optional.of(reconciler.report());
        }
    }

    static void checkFeatureName(String feature) {
        if (feature == null || !FEATURE.matcher(feature).matches()) {
            throw new IllegalArgumentException("bad feature name '" + feature + "': NAME or NAME/VERSION, letters, "
                + "digits, '.', '_' and '-'");
        }
    }

    /** Runs a call on the engine, turning its refusals into the API's exceptions. */
    private <T> T engine(String action, Supplier<T> call) {
        try {
            return call.get();
        } catch (SplitBrainProtectionException e) {
            throw noQuorum(action, view, e);
        } catch (HazelcastInstanceNotActiveException e) {
            throw new IllegalStateException("cannot " + action + ": cluster member " + settings.memberName()
                + " is not running", e);
        }
    }

    // ---- membership ---------------------------------------------------------------------------------------------

    /** The cluster as this node last saw it: members oldest first, and quorum. */
    private record View(List<ClusterMember> members, boolean quorum) {
        static final View EMPTY = new View(List.of(), false);

        Optional<ClusterMember> find(String id) {
            return members.stream().filter(m -> m.id().equals(id)).findFirst();
        }
    }

    /**
     * Recomputes the view from the engine's member list and tells the listeners what changed.
     *
     * @param changed the member that joined or left, or null
     * @param joined whether it joined
     */
    private void refreshView(Member changed, boolean joined) {
        refreshView(hz.getCluster(), changed, joined);
    }

    private void refreshView(Cluster cluster, Member changed, boolean joined) {
        List<ClusterEvent> fired = new ArrayList<>();
        synchronized (viewLock) {
            View old = view;
            Set<Member> current = new LinkedHashSet<>(cluster.getMembers());
            List<ClusterMember> members = new ArrayList<>(current.size());
            for (Member m : current) {
                members.add(member(m, members.isEmpty() ? MemberRole.LEADER : MemberRole.MEMBER));
            }
            View now = new View(List.copyOf(members), members.size() >= settings.quorumSize());
            view = now;
            Optional<ClusterMember> leader = now.members.isEmpty() ? Optional.empty()
                : Optional.of(now.members.get(0));
            if (!running) {
                return;
            }
            if (changed != null && !changed.localMember()) {
                String id = changed.getUuid().toString();
                ClusterMember m = joined ? now.find(id).orElse(member(changed, MemberRole.MEMBER))
                    : old.find(id).orElse(member(changed, MemberRole.MEMBER));
                fired.add(new ClusterEvent(joined ? ClusterEvent.Type.MEMBER_JOINED : ClusterEvent.Type.MEMBER_LEFT,
                    m, now.members, leader, now.quorum));
            }
            String oldLeader = old.members.isEmpty() ? null : old.members.get(0).id();
            if (leader.isPresent() && oldLeader != null && !leader.get().id().equals(oldLeader)) {
                fired.add(new ClusterEvent(ClusterEvent.Type.LEADER_CHANGED, leader.get(), now.members, leader,
                    now.quorum));
            }
            if (old != View.EMPTY && old.quorum != now.quorum) {
                ClusterMember self = now.members.stream().filter(ClusterMember::local).findFirst()
                    .orElse(member(cluster.getLocalMember(), MemberRole.MEMBER));
                fired.add(new ClusterEvent(now.quorum ? ClusterEvent.Type.QUORUM_GAINED : ClusterEvent.Type.QUORUM_LOST,
                    self, now.members, leader, now.quorum));
            }
            for (ClusterEvent e : fired) {
                logEvent(e);
                dispatch(e);
            }
        }
    }

    private void logEvent(ClusterEvent e) {
        switch (e.type()) {
            case MEMBER_JOINED -> LOG.log(Level.INFO, "{0}: member {1} ({2}) joined, {3} members",
                settings.memberName(), e.member().name(), e.member().address(), e.members().size());
            case MEMBER_LEFT -> LOG.log(Level.WARNING, "{0}: member {1} ({2}) left, {3} members",
                settings.memberName(), e.member().name(), e.member().address(), e.members().size());
            case LEADER_CHANGED -> LOG.log(Level.INFO, "{0}: the leader is now {1}", settings.memberName(),
                e.member().name());
            case QUORUM_LOST -> LOG.log(Level.WARNING, "{0}: quorum lost, {1} of {2} members visible: leader-only "
                + "actions refuse", settings.memberName(), e.members().size(), settings.quorumSize());
            case QUORUM_GAINED -> LOG.log(Level.INFO, "{0}: quorum gained, {1} members", settings.memberName(),
                e.members().size());
            default -> {
            }
        }
    }

    private void dispatch(ClusterEvent e) {
        try {
            events.execute(() -> {
                for (ClusterListener l : listeners) {
                    try {
                        l.clusterChanged(e);
                    } catch (RuntimeException x) {
                        LOG.log(Level.WARNING, "cluster listener " + l + " failed on " + e.type(), x);
                    }
                }
            });
        } catch (java.util.concurrent.RejectedExecutionException x) {
            // shutting down
        }
    }

    private ClusterMember member(Member m, MemberRole role) {
        String name = m.getAttribute(ATTR_NAME);
        String roles = m.getAttribute(ATTR_ROLES);
        String started = m.getAttribute(ATTR_STARTED);
        Instant joinedAt;
        try {
            joinedAt = started == null ? Instant.EPOCH : Instant.ofEpochMilli(Long.parseLong(started));
        } catch (NumberFormatException e) {
            joinedAt = Instant.EPOCH;
        }
        String host = m.getAddress().getHost();
        String address = (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + m.getAddress().getPort();
        Set<String> nodeRoles = roles == null || roles.isEmpty() ? Set.of()
            : new TreeSet<>(Arrays.asList(roles.split(",")));
        return new ClusterMember(m.getUuid().toString(), name == null ? address : name, address, role, nodeRoles,
            joinedAt, m.localMember());
    }

    /** Hazelcast's membership callbacks, on its event threads. */
    private final class Membership implements InitialMembershipListener {

        @Override
        public void init(InitialMembershipEvent event) {
            refreshView(event.getCluster(), null, false);
        }

        @Override
        public void memberAdded(MembershipEvent event) {
            refreshView(event.getCluster(), event.getMember(), true);
            reconcileSoon();
        }

        @Override
        public void memberRemoved(MembershipEvent event) {
            refreshView(event.getCluster(), event.getMember(), false);
        }
    }

    /** Changes of the desired features, from any member. */
    private final class DesiredFeatureChanges
        implements EntryAddedListener<String, Long>, EntryRemovedListener<String, Long> {

        @Override
        public void entryAdded(com.hazelcast.core.EntryEvent<String, Long> event) {
            reconcileSoon();
        }

        @Override
        public void entryRemoved(com.hazelcast.core.EntryEvent<String, Long> event) {
            reconcileSoon();
        }
    }

    /** Waits for the event thread to deliver what is queued (tests). */
    boolean awaitEvents(long millis) throws InterruptedException {
        var done = new java.util.concurrent.CountDownLatch(1);
        events.execute(done::countDown);
        return done.await(millis, TimeUnit.MILLISECONDS);
    }
}
