package io.pando.control.impl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.pando.api.session.SessionId;
import io.pando.api.unit.UnitId;
import io.pando.artp.ArtpConnection;
import io.pando.artp.ArtpEndpoint;
import io.pando.artp.ArtpException;
import io.pando.artp.ArtpHandler;
import io.pando.artp.testing.Configs;
import io.pando.control.AdmissionDecision;
import io.pando.control.AdmissionPolicy;
import io.pando.control.protocol.ControlClient;
import io.pando.control.protocol.ControlCodec;
import io.pando.control.protocol.ControlMessage;
import io.pando.control.protocol.Distribution;
import io.pando.control.protocol.FlowSpec;
import io.pando.control.protocol.RefusalCode;
import io.pando.control.protocol.Resources;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;
import javax.security.auth.login.AppConfigurationEntry;
import javax.security.auth.login.Configuration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The control unit over real ARTP endpoints on loopback (ports 18100-18199), authenticating through a real JAAS login
 * module reading a properties file, in front of a {@link FakeRouter} (admission, ownership and quotas need the
 * router's answers, not its data path).
 */
class ControlServerTest {

    private static final AtomicInteger NEXT_PORT = new AtomicInteger(18100);
    private static final Duration T = Duration.ofSeconds(10);
    private static final InetSocketAddress DEST = new InetSocketAddress("127.0.0.1", 9000);

    @TempDir
    Path dir;

    private final FakeRouter router = new FakeRouter("u1", "u2");
    private final AtomicLong now = new AtomicLong(Instant.parse("2026-01-01T00:00:00Z").toEpochMilli());
    private final Clock clock = new Clock() {
        @Override
        public java.time.ZoneId getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(java.time.ZoneId zone) {
            return this;
        }

        @Override
        public Instant instant() {
            return Instant.ofEpochMilli(now.get());
        }
    };
    private ControlServer.Running server;
    private final List<AutoCloseable> toClose = new java.util.ArrayList<>();

    @AfterEach
    void close() throws Exception {
        for (AutoCloseable c : toClose) {
            c.close();
        }
        if (server != null) {
            server.close();
        }
    }

    private Configuration jaas() throws IOException {
        Path users = dir.resolve("users.properties");
        Files.writeString(users, "alice = wonder\nbob = builder\ncarol = c4r0l\n");
        return new Configuration() {
            @Override
            public AppConfigurationEntry[] getAppConfigurationEntry(String name) {
                return "test-realm".equals(name) ? new AppConfigurationEntry[] {new AppConfigurationEntry(
                    PropertiesLoginModule.class.getName(), AppConfigurationEntry.LoginModuleControlFlag.REQUIRED,
                    Map.of("file", users.toString()))} : null;
            }
        };
    }

    private void start(Map<String, Object> config) throws IOException {
        start(config, null);
    }

    private void start(Map<String, Object> config, Supplier<AdmissionPolicy> admission) throws IOException {
        Configuration jaas = jaas();
        while (true) {
            Map<String, Object> c = new HashMap<>(config);
            c.put("port", NEXT_PORT.getAndIncrement());
            c.putIfAbsent("realm", "test-realm");
            if ((int) c.get("port") > 18199) {
                throw new IllegalStateException("no free port in 18100-18199");
            }
            try {
                server = ControlServer.start(Configs.of(ControlServer.Config.class, c), jaas, () -> router, admission,
                    null, clock);
                return;
            } catch (ArtpException e) {
                // port in use: take the next one
            }
        }
    }

    private ControlClient client() throws Exception {
        ControlClient c = ControlClient.connect(server.address(), T);
        toClose.add(c);
        return c;
    }

    private static byte[] token(ControlClient c, String user, String password) throws Exception {
        ControlMessage.Reply r = c.call(new ControlMessage.Auth(c.nextRequestId(), user, password), T);
        return assertInstanceOf(ControlMessage.Authed.class, r, r.toString()).token();
    }

    private static ControlMessage.Reply open(ControlClient c, byte[] token, int milliCpus, int k) throws Exception {
        return c.call(new ControlMessage.Open(c.nextRequestId(), token, "passthrough", Optional.empty(), Map.of(), DEST,
            List.of(), new Resources(milliCpus, 0, 0, 0, -1), Distribution.over(k)), T);
    }

    private static ControlMessage.Refused refused(ControlMessage.Reply r, RefusalCode code) {
        ControlMessage.Refused refused = assertInstanceOf(ControlMessage.Refused.class, r, r.toString());
        assertEquals(code, refused.code(), refused.reason());
        return refused;
    }

    @Test
    void authOpenListClose() throws Exception {
        start(Map.of());
        ControlClient c = client();
        ControlMessage.Authed authed = (ControlMessage.Authed) c.call(new ControlMessage.Auth(7, "alice", "wonder"), T);
        assertEquals(7, authed.requestId());
        assertEquals(3600, authed.lifetimeSeconds());
        ControlMessage.Reply r = c.call(new ControlMessage.Open(8, authed.token(), "passthrough", Optional.of("conf"),
            Map.of("key", "v"), DEST, List.of(new FlowSpec(1, "audio", new InetSocketAddress("127.0.0.1", 9001))),
            new Resources(250, 256, 5000, 1_000_000, 20), Distribution.over(2)), T);
        ControlMessage.Opened opened = assertInstanceOf(ControlMessage.Opened.class, r, r.toString());
        assertEquals(8, opened.requestId());
        assertEquals(FakeRouter.INGRESS, opened.ingress());
        assertEquals("conf", opened.name());
        assertEquals(List.of("u1", "u2"), opened.units());
        var request = router.requests.get(new SessionId(opened.sessionId()));
        assertEquals(32, opened.sessionKey().orElseThrow().length, "the owner gets the session's key");
        assertTrue(java.util.Arrays.equals(request.key().orElseThrow().bytes(), opened.sessionKey().get()),
            "the key the router was given");
        assertEquals(0.25, request.execution().cpus());
        assertEquals(256, request.execution().memoryMb());
        assertEquals(5000, request.execution().cpuBudgetMicros());
        assertEquals(Optional.of(20L), request.reorderWindowMillis());
        assertEquals(2, request.units());
        assertEquals(Map.of("key", "v"), request.parameters());
        assertEquals(2, request.flows().size());

        ControlMessage.ListResult list = (ControlMessage.ListResult) c.call(new ControlMessage.ListSessions(9,
            authed.token()), T);
        assertEquals(1, list.sessions().size());
        var s = list.sessions().get(0);
        assertEquals(opened.sessionId(), s.sessionId());
        assertEquals("active", s.state());
        assertEquals(250, s.milliCpus());
        assertEquals(1_000_000, s.bandwidthBps());
        assertEquals(new Distribution(Distribution.Mode.SPREAD, 2), s.distribution());

        ControlMessage.Closed closed = (ControlMessage.Closed) c.call(new ControlMessage.Close(10, authed.token(),
            opened.sessionId()), T);
        assertEquals(5L, closed.counters().get("datagrams_in"));
        assertTrue(router.sessions.isEmpty());
        assertEquals(0, server.core.reservations());
        assertEquals(List.of(), ((ControlMessage.ListResult) c.call(new ControlMessage.ListSessions(11,
            authed.token()), T)).sessions());
        refused(c.call(new ControlMessage.Close(12, authed.token(), opened.sessionId()), T), RefusalCode.NOT_YOURS);
    }

    @Test
    void authRefusals() throws Exception {
        start(Map.of("token_lifetime_seconds", 60L));
        ControlClient c = client();
        assertEquals("wrong user or password", refused(c.call(new ControlMessage.Auth(1, "alice", "wrong"), T),
            RefusalCode.AUTH_FAILED).reason());
        refused(c.call(new ControlMessage.Auth(2, "mallory", "wonder"), T), RefusalCode.AUTH_FAILED);
        // a token never issued
        byte[] forged = new byte[32];
        assertTrue(refused(open(c, forged, 100, 1), RefusalCode.TOKEN_INVALID).reason().contains("authenticate again"));
        refused(c.call(new ControlMessage.ListSessions(3, forged), T), RefusalCode.TOKEN_INVALID);
        // an expired token
        byte[] token = token(c, "alice", "wonder");
        assertInstanceOf(ControlMessage.ListResult.class, c.call(new ControlMessage.ListSessions(4, token), T));
        now.addAndGet(60_000);
        refused(c.call(new ControlMessage.ListSessions(5, token), T), RefusalCode.TOKEN_INVALID);
        refused(open(c, token, 100, 1), RefusalCode.TOKEN_INVALID);
        assertTrue(router.sessions.isEmpty());
    }

    @Test
    void aSecondUserCannotCloseOrListTheFirstUsersSession() throws Exception {
        start(Map.of());
        ControlClient alice = client();
        ControlClient bob = client();
        byte[] a = token(alice, "alice", "wonder");
        byte[] b = token(bob, "bob", "builder");
        ControlMessage.Opened opened = (ControlMessage.Opened) open(alice, a, 100, 1);
        ControlMessage.Refused r = refused(bob.call(new ControlMessage.Close(1, b, opened.sessionId()), T),
            RefusalCode.NOT_YOURS);
        assertEquals("not your session", r.reason());
        // the same answer as for a session that does not exist: bob learns nothing
        assertEquals("not your session", refused(bob.call(new ControlMessage.Close(2, b, 123456789), T),
            RefusalCode.NOT_YOURS).reason());
        assertEquals(List.of(), ((ControlMessage.ListResult) bob.call(new ControlMessage.ListSessions(3, b), T))
            .sessions());
        assertEquals(1, router.sessions.size(), "still open");
        assertEquals(1, ((ControlMessage.ListResult) alice.call(new ControlMessage.ListSessions(4, a), T))
            .sessions().size());
        // a token of bob presented on alice's connection is still bob's: tokens name the user, not the connection
        refused(alice.call(new ControlMessage.Close(5, b, opened.sessionId()), T), RefusalCode.NOT_YOURS);
        assertInstanceOf(ControlMessage.Closed.class, alice.call(new ControlMessage.Close(6, a, opened.sessionId()), T));
    }

    @Test
    void quotaRefusalsSayWhy() throws Exception {
        start(Map.of("quota_sessions", 2, "user_quotas", new String[] {"bob=sessions:5,cpus:0.3",
            "carol=bandwidth:1000"}));
        ControlClient c = client();
        byte[] a = token(c, "alice", "wonder");
        assertInstanceOf(ControlMessage.Opened.class, open(c, a, 100, 1));
        assertInstanceOf(ControlMessage.Opened.class, open(c, a, 100, 1));
        String why = refused(open(c, a, 100, 1), RefusalCode.QUOTA).reason();
        assertTrue(why.contains("alice has 2 open session(s), the quota is 2"), why);

        byte[] b = token(c, "bob", "builder");
        assertInstanceOf(ControlMessage.Opened.class, open(c, b, 200, 1));
        why = refused(open(c, b, 100, 2), RefusalCode.QUOTA).reason();
        assertTrue(why.contains("CPU share 0.200 (0.100 on 2 unit(s)) + 0.200 held exceeds bob's 0.300"), why);

        byte[] cc = token(c, "carol", "c4r0l");
        why = refused(c.call(new ControlMessage.Open(c.nextRequestId(), cc, "passthrough", Optional.empty(), Map.of(),
            DEST, List.of(), new Resources(0, 0, 0, 5000, -1), Distribution.ONE), T), RefusalCode.QUOTA).reason();
        assertTrue(why.contains("bandwidth 5000 bit/s + 0 held exceeds carol's 1000 bit/s"), why);
        assertEquals(3, router.sessions.size());
    }

    /** A program runs on one thread per unit: more than one core per unit could be reserved, never guaranteed. */
    @Test
    void moreThanOneCorePerUnitIsRefusedAsImpossibleWhateverTheCapacity() throws Exception {
        start(Map.of("unit_cpu_capacity", 4.0));
        ControlClient c = client();
        byte[] a = token(c, "alice", "wonder");
        String why = refused(open(c, a, 1001, 1), RefusalCode.INVALID).reason();
        assertTrue(why.contains("CPU share 1.001 per unit cannot be guaranteed") && why.contains("one thread"), why);
        assertTrue(refused(open(c, a, 4000, 2), RefusalCode.INVALID).reason().contains("at most 1.000 core"));
        assertEquals(0, router.sessions.size(), "nothing reaches the router");
        assertInstanceOf(ControlMessage.Opened.class, open(c, a, 1000, 2), "one core per unit on two units is fine");
    }

    @Test
    void admissionRefusesBeyondCapacity() throws Exception {
        start(Map.of("unit_cpu_capacity", 1.0));
        ControlClient c = client();
        byte[] a = token(c, "alice", "wonder");
        byte[] b = token(c, "bob", "builder");
        assertInstanceOf(ControlMessage.Opened.class, open(c, a, 800, 1));
        assertInstanceOf(ControlMessage.Opened.class, open(c, b, 800, 1));
        String why = refused(open(c, a, 300, 1), RefusalCode.CAPACITY).reason();
        assertTrue(why.contains("CPU share 0.300 per unit on 1 unit(s) does not fit (0 fit)"), why);
        assertTrue(why.contains("u1 0.200 free of 1.000") && why.contains("u2 0.200 free of 1.000"), why);
        assertInstanceOf(ControlMessage.Opened.class, open(c, a, 200, 1), "what fits is admitted");
        // spread over more units than run
        refused(open(c, b, 10, 3), RefusalCode.CAPACITY);
        // more share than the units have left
        assertTrue(refused(open(c, b, 900, 1), RefusalCode.CAPACITY).reason().contains("0.900 per unit"));
        assertEquals(3, router.sessions.size());
        // an administrator closes a session on the router: its share is free again
        router.closeSession(router.sessions.keySet().iterator().next());
        assertInstanceOf(ControlMessage.Opened.class, open(c, b, 700, 1));
    }

    @Test
    void concurrentOpensNeverReserveTheSameShare() throws Exception {
        start(Map.of("unit_cpu_capacity", 1.0, "workers", 8));
        ControlClient c = client();
        byte[] a = token(c, "alice", "wonder");
        // 12 OPENs at once, each 0.3 core on both units: exactly 3 fit (0.9 of 1.0 per unit)
        java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(12);
        try {
            List<java.util.concurrent.Future<ControlMessage.Reply>> replies = new java.util.ArrayList<>();
            for (int i = 0; i < 12; i++) {
                replies.add(pool.submit(() -> open(c, a, 300, 2)));
            }
            int opened = 0;
            int capacity = 0;
            for (var f : replies) {
                ControlMessage.Reply r = f.get(30, TimeUnit.SECONDS);
                if (r instanceof ControlMessage.Opened) {
                    opened++;
                } else if (refused(r, RefusalCode.CAPACITY) != null) {
                    capacity++;
                }
            }
            assertEquals(3, opened);
            assertEquals(9, capacity);
            assertEquals(3, router.sessions.size());
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void staleAndOverloadedUnitsTakeNoSession() throws Exception {
        start(Map.of("unit_report_max_age_seconds", 5L, "unit_overload", 0.9));
        ControlClient c = client();
        byte[] a = token(c, "alice", "wonder");
        router.units.put(UnitId.of("u1"), 0.95);
        router.reportedAt = Instant.ofEpochMilli(now.get() - 1000);
        ControlMessage.Opened o = (ControlMessage.Opened) open(c, a, 100, 1);
        assertEquals(List.of("u1"), o.units(), "the router chose (fewest sessions); the fake's choice");
        String why = refused(open(c, a, 100, 2), RefusalCode.CAPACITY).reason();
        assertTrue(why.contains("u1 is overloaded (CPU 0.95)"), why);
        router.reportedAt = Instant.ofEpochMilli(now.get() - 60_000);
        why = refused(open(c, a, 100, 1), RefusalCode.CAPACITY).reason();
        assertTrue(why.contains("has not reported for 60 s"), why);
    }

    @Test
    void routerRefusalsAreRelayed() throws Exception {
        start(Map.of());
        ControlClient c = client();
        byte[] a = token(c, "alice", "wonder");
        String why = refused(c.call(new ControlMessage.Open(1, a, "no-such-program", Optional.empty(), Map.of(), DEST,
            List.of(), Resources.DEFAULT, Distribution.ONE), T), RefusalCode.INVALID).reason();
        assertTrue(why.contains("no active program 'no-such-program'"), why);
        assertEquals(0, server.core.reservations(), "a refused session reserves nothing");
        refused(c.call(new ControlMessage.Open(2, a, "passthrough", Optional.empty(), Map.of(), DEST,
            List.of(new FlowSpec(1, "default", DEST)), Resources.DEFAULT, Distribution.ONE), T), RefusalCode.INVALID);
    }

    @Test
    void aSwappedAdmissionPolicyDecides() throws Exception {
        AtomicInteger calls = new AtomicInteger();
        start(Map.of(), () -> (demand, view) -> {
            calls.incrementAndGet();
            return demand.program().equals("passthrough") && view.units().size() == 2
                ? AdmissionDecision.refuse(AdmissionDecision.Refusal.CAPACITY, "vendor policy says no")
                : AdmissionDecision.admit();
        });
        ControlClient c = client();
        byte[] a = token(c, "alice", "wonder");
        assertEquals("vendor policy says no", refused(open(c, a, 100, 1), RefusalCode.CAPACITY).reason());
        assertEquals(1, calls.get());
    }

    @Test
    void noRouterMeansUnavailable() throws Exception {
        Configuration jaas = jaas();
        server = ControlServer.start(Configs.of(ControlServer.Config.class, Map.of("port",
            NEXT_PORT.getAndIncrement(), "realm", "test-realm")), jaas, () -> null, null, null, clock);
        ControlClient c = client();
        byte[] a = token(c, "alice", "wonder");
        assertTrue(refused(open(c, a, 100, 1), RefusalCode.UNAVAILABLE).reason().contains("pando-distribution"));
    }

    @Test
    void everySessionGetsItsOwnKeyAndOnlyItsOwnerSeesIt() throws Exception {
        start(Map.of());
        Raw raw = new Raw();
        ArtpEndpoint e = ArtpEndpoint.builder().handler(raw).start();
        toClose.add(e);
        ArtpConnection conn = e.connect(server.address(), 0, null).toCompletableFuture().get(10, TimeUnit.SECONDS);
        conn.sendControl(Unpooled.wrappedBuffer(ControlCodec.toBytes(new ControlMessage.Auth(1, "alice", "wonder"))));
        byte[] token = ((ControlMessage.Authed) raw.replies.poll(10, TimeUnit.SECONDS)).token();
        java.util.Set<String> keys = new java.util.HashSet<>();
        List<byte[]> opened = new java.util.ArrayList<>();
        for (int i = 0; i < 3; i++) {
            conn.sendControl(Unpooled.wrappedBuffer(ControlCodec.toBytes(new ControlMessage.Open(10 + i, token,
                "passthrough", Optional.empty(), Map.of(), DEST, List.of(), new Resources(100, 0, 0, 0, -1),
                Distribution.over(1)))));
            ControlMessage.Opened o = assertInstanceOf(ControlMessage.Opened.class, raw.replies.poll(10,
                TimeUnit.SECONDS));
            byte[] key = o.sessionKey().orElseThrow();
            assertEquals(32, key.length);
            assertTrue(router.sessions.get(new SessionId(o.sessionId())).keyed(), "the router keyed the session");
            keys.add(java.util.HexFormat.of().formatHex(key));
            opened.add(key);
        }
        assertEquals(3, keys.size(), "a fresh key per session");
        raw.bytes.clear();
        conn.sendControl(Unpooled.wrappedBuffer(ControlCodec.toBytes(new ControlMessage.ListSessions(20, token))));
        ControlMessage.ListResult list = assertInstanceOf(ControlMessage.ListResult.class, raw.replies.poll(10,
            TimeUnit.SECONDS));
        assertEquals(3, list.sessions().size());
        byte[] wire = raw.bytes.poll(10, TimeUnit.SECONDS);
        for (byte[] key : opened) {
            assertEquals(-1, indexOf(wire, key), "LIST_RESULT carries no session key");
        }
        assertEquals(-1, indexOf(wire, new byte[] {0x40, 0x23, 0x00, 0x20}), "no SESSION_KEY field at all");
    }

    @Test
    void aRouterThatDoesNotKeyTheSessionGetsNoKeySentToTheOwner() throws Exception {
        router.keysSessions = false;
        start(Map.of());
        ControlClient c = client();
        ControlMessage.Opened o = assertInstanceOf(ControlMessage.Opened.class, open(c, token(c, "alice", "wonder"),
            100, 1));
        assertTrue(o.sessionKey().isEmpty(), "the sender must connect unkeyed: a key it was given would not work");
        assertTrue(router.requests.get(new SessionId(o.sessionId())).keyed(), "the control unit asked for a key");
    }

    private static int indexOf(byte[] haystack, byte[] needle) {
        for (int i = 0; i + needle.length <= haystack.length; i++) {
            if (java.util.Arrays.equals(haystack, i, i + needle.length, needle, 0, needle.length)) {
                return i;
            }
        }
        return -1;
    }

    /** Collects replies (decoded, and their bytes) on a raw ARTP connection. */
    static final class Raw implements ArtpHandler {
        final BlockingQueue<ControlMessage> replies = new LinkedBlockingQueue<>();
        final BlockingQueue<byte[]> bytes = new LinkedBlockingQueue<>();

        @Override
        public void datagram(ArtpConnection connection, ByteBuf datagram, boolean control) {
            try {
                bytes.add(io.netty.buffer.ByteBufUtil.getBytes(datagram));
                replies.add(ControlCodec.decode(datagram));
            } finally {
                datagram.release();
            }
        }
    }

    @Test
    void malformedRequestsOnTheWireAreRefusedWithAReason() throws Exception {
        start(Map.of());
        Raw raw = new Raw();
        ArtpEndpoint e = ArtpEndpoint.builder().handler(raw).start();
        toClose.add(e);
        ArtpConnection conn = e.connect(server.address(), 0, null).toCompletableFuture().get(10, TimeUnit.SECONDS);
        // a truncated control block never arrives: ARTP itself refuses to send it (and a receiver drops it, counted)
        assertThrows(IllegalArgumentException.class, () -> conn.sendControl(Unpooled.wrappedBuffer(
            java.util.HexFormat.of().parseHex("40100002000140110008000000000000000b40120005616c"))));
        // an oversize USER
        conn.sendControl(Unpooled.wrappedBuffer(java.util.HexFormat.of().parseHex("40100002000140110008000000000000"
            + "000b40120041" + "61".repeat(65) + "4013000170" + "00000000")));
        ControlMessage.Refused r = (ControlMessage.Refused) raw.replies.poll(10, TimeUnit.SECONDS);
        assertEquals(RefusalCode.MALFORMED, r.code());
        assertEquals(11, r.requestId());
        assertTrue(r.reason().contains("USER has 1 to 64 bytes, got 65"), r.reason());
        // a DATA datagram
        conn.send(Unpooled.wrappedBuffer(new byte[] {1, 2, 3}));
        r = (ControlMessage.Refused) raw.replies.poll(10, TimeUnit.SECONDS);
        assertTrue(r.reason().contains("CONTROL datagrams"), r.reason());
        // a reply sent as a request
        conn.sendControl(Unpooled.wrappedBuffer(ControlCodec.toBytes(new ControlMessage.Refused(44,
            RefusalCode.BUSY, "x"))));
        r = (ControlMessage.Refused) raw.replies.poll(10, TimeUnit.SECONDS);
        assertEquals(44, r.requestId());
        assertTrue(r.reason().contains("is not a request"), r.reason());
        // an unknown field type
        conn.sendControl(Unpooled.wrappedBuffer(java.util.HexFormat.of().parseHex("40100002000440110008000000000000"
            + "002d4014002000000000000000000000000000000000000000000000000000000000000000004abc000000000000")));
        r = (ControlMessage.Refused) raw.replies.poll(10, TimeUnit.SECONDS);
        assertEquals(45, r.requestId());
        assertTrue(r.reason().contains("unknown field type 0x4ABC"), r.reason());
        // an unknown message
        conn.sendControl(Unpooled.wrappedBuffer(java.util.HexFormat.of().parseHex("4010000200994011000800000000000000"
            + "2e00000000")));
        r = (ControlMessage.Refused) raw.replies.poll(10, TimeUnit.SECONDS);
        assertEquals(RefusalCode.UNKNOWN_MESSAGE, r.code());
        // the server still serves
        ControlClient c = client();
        token(c, "alice", "wonder");
    }

    @Test
    void onlyTheControlSessionIsAccepted() throws Exception {
        start(Map.of());
        ArtpEndpoint e = ArtpEndpoint.builder().handler(new Raw()).start();
        toClose.add(e);
        CompletionException failed = assertThrows(CompletionException.class,
            () -> e.connect(server.address(), 5, null).toCompletableFuture().join());
        assertTrue(failed.getCause().getMessage().toLowerCase().contains("session"), failed.getCause().getMessage());
    }

    @Test
    void badConfigurationNamesTheKey() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
            () -> ControlServer.settings(Configs.of(ControlServer.Config.class, Map.of("unit_overload", 1.5))));
        assertTrue(e.getMessage().contains("unit.overload"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> ControlServer.settings(Configs.of(
            ControlServer.Config.class, Map.of("user_quotas", new String[] {"alice=cpus:lots"}))));
        assertTrue(e.getMessage().contains("user.quotas"), e.getMessage());
    }
}
