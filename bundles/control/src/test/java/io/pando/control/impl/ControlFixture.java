package io.pando.control.impl;

import io.pando.api.router.RouterService;
import io.pando.api.router.SessionKey;
import io.pando.artp.ArtpException;
import io.pando.artp.testing.Configs;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import javax.security.auth.login.Configuration;

/**
 * A real control unit (endpoint, JAAS login through {@link PropertiesLoginModule}, admission) in front of a fake router
 * with units u1 and u2 and program {@code passthrough}, or in front of a given router, for other modules' tests (the
 * {@code pando session} commands, the keyed data path through a real distribution unit).
 * Binds the first free port of {@code [firstPort, lastPort]}.
 */
public final class ControlFixture implements AutoCloseable {

    private final FakeRouter router;
    private final ControlServer.Running running;
    private final AutoCloseable cluster;

    /**
     * @param users user = password lines
     * @param dir a directory for the users file
     * @param config configuration values (method names of {@link ControlServer.Config})
     * @param firstPort first port to try
     * @param lastPort last port to try
     */
    public ControlFixture(Map<String, String> users, Path dir, Map<String, Object> config, int firstPort, int lastPort)
        throws IOException {
        this(users, dir, config, firstPort, lastPort, null);
    }

    /**
     * A real control unit in front of {@code router} (e.g. a real distribution unit, for tests of the data path).
     *
     * @param users user = password lines
     * @param dir a directory for the users file
     * @param config configuration values (method names of {@link ControlServer.Config})
     * @param firstPort first port to try
     * @param lastPort last port to try
     * @param router the router; null for the fake router with units u1 and u2
     */
    public ControlFixture(Map<String, String> users, Path dir, Map<String, Object> config, int firstPort, int lastPort,
        RouterService router) throws IOException {
        this(users, dir, config, firstPort, lastPort, router, () -> null, null);
    }

    /** A control unit on a cluster ({@link NoQuorumControl}); this class names no cluster type, so that modules
     *  without pando-cluster on their class path can use it. */
    ControlFixture(Map<String, String> users, Path dir, Map<String, Object> config, int firstPort,
        int lastPort, RouterService router, Supplier<ClusterControl> clusterControl, AutoCloseable cluster)
        throws IOException {
        this.cluster = cluster;
        FakeRouter fake = router == null ? new FakeRouter("u1", "u2") : null;
        this.router = fake;
        RouterService serving = router == null ? fake : router;
        Path file = dir.resolve("control-users.properties");
        StringBuilder b = new StringBuilder();
        users.forEach((u, p) -> b.append(u).append(" = ").append(p).append('\n'));
        Files.writeString(file, b);
        Configuration jaas = PropertiesLoginModule.everyRealm(file);
        ControlServer.Running started = null;
        for (int port = firstPort; port <= lastPort && started == null; port++) {
            Map<String, Object> c = new HashMap<>(config);
            c.put("port", port);
            try {
                started = ControlServer.start(Configs.of(ControlServer.Config.class, c), jaas, () -> serving, null,
                    null, clusterControl, Clock.systemUTC());
            } catch (ArtpException e) {
                // in use: next port
            }
        }
        if (started == null) {
            throw new IllegalStateException("no free port in " + firstPort + "-" + lastPort);
        }
        this.running = started;
    }

    /** @return the control endpoint */
    public InetSocketAddress address() {
        return running.address();
    }

    /** @return the ids of the sessions open on the fake router (unsigned decimal) */
    public List<String> sessions() {
        return fake().sessions().stream().map(s -> s.id().toString()).toList();
    }

    /** @return the session key the fake router was given, per session id (hex) */
    public Map<String, String> keys() {
        Map<String, String> out = new HashMap<>();
        fake().requests.forEach((id, r) -> out.put(id.toString(), r.key().map(SessionKey::toHex).orElse("")));
        return out;
    }

    private FakeRouter fake() {
        if (router == null) {
            throw new IllegalStateException("this fixture serves a real router: ask it");
        }
        return router;
    }

    /** @return the CPU share the router was asked for, per session id */
    public Map<String, Double> cpus() {
        Map<String, Double> out = new HashMap<>();
        fake().requests.forEach((id, r) -> out.put(id.toString(), r.execution().cpus()));
        return out;
    }

    /** @return the parameters the router was given, per session id */
    public Map<String, Map<String, String>> parameters() {
        Map<String, Map<String, String>> out = new HashMap<>();
        fake().requests.forEach((id, r) -> out.put(id.toString(), r.parameters()));
        return out;
    }

    @Override
    public void close() {
        running.close();
        if (cluster != null) {
            try {
                cluster.close();
            } catch (Exception e) {
                throw new IllegalStateException("the cluster member did not stop", e);
            }
        }
    }
}
