package io.pando.shell.cli;

import static io.pando.shell.cli.Console.array;
import static io.pando.shell.cli.Console.object;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pando.api.router.RouterException;
import io.pando.api.router.SessionKey;
import io.pando.api.session.Flow;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/** {@code pando:session-create} over an in-memory router: the request it builds, its output, and what it refuses. */
class SessionCreateCommandTest {

    private final FakeRouter router = new FakeRouter().unit("u1", "local", 0.1, 0, 1024, 0, 0)
        .unit("u2", "local", 0.2, 0, 1024, 0, 0).unit("u3", "10.0.0.3:7100", 0.3, 0, 1024, 0, 0);

    @Test
    void everyOptionReachesTheRouterAndJsonIsTheSession() throws Exception {
        SessionCreateCommand c = command("video", "aes-gcm", "10.0.0.9:9000");
        c.units = "2";
        c.policy = "weighted";
        c.reorderWindow = "40";
        c.params = List.of("key=abc=def", "mode=", "rounds=3");
        c.json = true;

        Map<String, Object> s = object(Console.json(c));

        assertEquals(2, router.lastRequest.units());
        assertEquals(Optional.of("weighted"), router.lastRequest.loadBalancing());
        assertEquals(Optional.of(40L), router.lastRequest.reorderWindowMillis());
        assertEquals(Map.of("key", "abc=def", "mode", "", "rounds", "3"), router.lastRequest.parameters());
        assertEquals("10.0.0.9", router.lastRequest.destination().getAddress().getHostAddress());

        assertEquals("1", s.get("id"));
        assertEquals("video", s.get("name"));
        assertEquals("aes-gcm", s.get("program"));
        assertEquals("active", s.get("state"));
        assertEquals("127.0.0.1:7000", s.get("ingress"));
        assertEquals("10.0.0.9:9000", s.get("destination"));
        assertEquals(List.of("u1", "u2"), s.get("units"));
        assertEquals("weighted", s.get("load_balancing"));
        assertEquals("2026-03-01T12:00:00Z", s.get("created"));
        assertEquals(Map.of("datagrams_in", 0L, "datagrams_out", 0L), s.get("counters"));
        assertEquals(List.of("u1", "u2"), List.copyOf(object(s.get("unit_counters")).keySet()));
        assertEquals(Map.of(), s.get("reorder"));
    }

    @Test
    void absentOptionsMeanEveryUnitAndTheRouterDefaults() throws Exception {
        SessionCreateCommand c = command("video", "echo", "10.0.0.9:9000");
        c.json = true;
        Map<String, Object> s = object(Console.json(c));
        assertEquals(0, router.lastRequest.units());
        assertEquals(Optional.empty(), router.lastRequest.loadBalancing());
        assertEquals(Optional.empty(), router.lastRequest.reorderWindowMillis());
        assertEquals(Map.of(), router.lastRequest.parameters());
        assertEquals(3, array(s.get("units")).size());
        assertEquals("round-robin", s.get("load_balancing"));
    }

    @Test
    void hostNamesAreResolvedAndIpv6GoesInBrackets() throws Exception {
        SessionCreateCommand c = command("video", "echo", "sink.example:9000");
        c.json = true;
        assertEquals("10.0.0.9:9000", object(Console.json(c)).get("destination"));

        c = command("video", "echo", "[2001:db8::9]:9000");
        c.json = true;
        assertEquals("[2001:db8::9]:9000", object(Console.json(c)).get("destination"));
    }

    @Test
    void tableNamesTheIngressAndTheSessionId() throws Exception {
        String out = Console.run(command("video", "aes-gcm", "10.0.0.9:9000"));
        assertTrue(out.startsWith("created session 1 (video): senders connect to 127.0.0.1:7000 with session id 1"),
            out);
        assertTrue(out.contains("Destination") && out.contains("10.0.0.9:9000"), out);
        assertTrue(out.contains("Load balancing") && out.contains("round-robin"), out);
        assertTrue(out.contains("Unit counter") && out.contains("u3"), out);
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', quoteCharacter = '"', value = {
        "sink                | no port: write HOST:PORT",
        "sink:               | the port is a number in [1, 65535], got ''",
        "sink:0              | the port is a number in [1, 65535], got '0'",
        "sink:65536          | the port is a number in [1, 65535], got '65536'",
        "sink:http           | the port is a number in [1, 65535], got 'http'",
        "sink:-1             | the port is a number in [1, 65535], got '-1'",
        "sink:123456         | the port is a number in [1, 65535], got '123456'",
        ":9000               | no host before ':'",
        "::1:9000            | an IPv6 address goes in brackets: write [ADDRESS]:PORT",
        "[::1]9000           | expected ':PORT' after ']'",
        "[::1:9000           | no ']' closes the IPv6 address: write [ADDRESS]:PORT",
        "[]:9000             | '' in brackets is not an IPv6 address",
        "[sink]:9000         | 'sink' in brackets is not an IPv6 address",
        "[1:2:3:4:5:6:7:8:9]:9000 | '1:2:3:4:5:6:7:8:9' in brackets is not an IPv6 address",
        "300.1.1.1:9000      | '300.1.1.1' is not an IPv4 address (four numbers in [0, 255])",
        "10.1:9000           | '10.1' is not an IPv4 address (four numbers in [0, 255])",
        "bad host:9000       | 'bad host' is not a host name or address",
        "-sink:9000          | '-sink' is not a host name or address",
        "nowhere.invalid:9000 | cannot resolve host 'nowhere.invalid'",
    })
    void badDestinationsAreRefusedBeforeTheRouterIsAsked(String to, String why) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
            () -> Console.run(command("video", "echo", to)));
        assertEquals("--to '" + to + "': " + why, e.getMessage());
        assertNull(router.lastRequest);
    }

    @Test
    void flowsReachTheRouterSortedWithTheDefaultFlowAndJsonListsThem() throws Exception {
        SessionCreateCommand c = command("call", "echo", "10.0.0.9:9000");
        c.flows = List.of("2:audio=sink.example:9002", "1:video=127.0.0.1:9001", "4294967295:max=[::1]:9003");
        c.json = true;

        Map<String, Object> s = object(Console.json(c));

        List<Flow> flows = router.lastRequest.flows();
        assertEquals(List.of(0L, 1L, 2L, 4294967295L), flows.stream().map(f -> f.id().value()).toList());
        assertEquals(List.of("default", "video", "audio", "max"), flows.stream().map(Flow::name).toList());
        assertEquals(router.lastRequest.destination(), flows.get(0).destination());
        assertEquals(new InetSocketAddress("127.0.0.1", 9001), flows.get(1).destination());
        assertEquals("10.0.0.9", flows.get(2).destination().getAddress().getHostAddress());
        assertEquals(List.of(
            Map.of("id", 0L, "name", "default", "destination", "10.0.0.9:9000"),
            Map.of("id", 1L, "name", "video", "destination", "127.0.0.1:9001"),
            Map.of("id", 2L, "name", "audio", "destination", "10.0.0.9:9002"),
            Map.of("id", 4294967295L, "name", "max", "destination", "[::1]:9003")), s.get("flows"));
        assertEquals("10.0.0.9:9000", s.get("destination"));
    }

    @Test
    void flowZeroMayBeNamedAndGoesToTheSessionsDestination() throws Exception {
        SessionCreateCommand c = command("call", "echo", "sink.example:9000");
        c.flows = List.of("0:main=10.0.0.9:9000", "7:side=10.0.0.9:9007");
        c.json = true;
        List<Object> flows = array(object(Console.json(c)).get("flows"));
        assertEquals(Map.of("id", 0L, "name", "main", "destination", "10.0.0.9:9000"), flows.get(0));
        assertEquals(2, flows.size());
    }

    @Test
    void withoutFlowTheJsonHasTheDefaultFlowAndTheTextNoFlowTable() throws Exception {
        SessionCreateCommand c = command("video", "echo", "10.0.0.9:9000");
        c.json = true;
        assertEquals(List.of(Map.of("id", 0L, "name", "default", "destination", "10.0.0.9:9000")),
            object(Console.json(c)).get("flows"));

        String out = Console.run(command("video", "echo", "10.0.0.9:9000"));
        assertFalse(out.contains("Flow"), out);
    }

    @Test
    void theTextListsTheFlows() throws Exception {
        SessionCreateCommand c = command("call", "echo", "10.0.0.9:9000");
        c.flows = List.of("1:video=127.0.0.1:9001", "12:audio=[2001:db8::9]:9012");
        String out = Console.run(c);
        assertTrue(out.startsWith("created session 1 (call): senders connect to 127.0.0.1:7000 with session id 1"),
            out);
        List<String> lines = out.lines().map(String::strip).toList();
        int header = lines.indexOf("Flow | Name    | Destination");
        assertTrue(header > 0, out);
        assertEquals(List.of("0 | default | 10.0.0.9:9000", "1 | video   | 127.0.0.1:9001",
            "12 | audio   | [2001:db8::9]:9012"), lines.subList(header + 2, header + 5), out);
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', quoteCharacter = '"', value = {
        "video                    | --flow takes ID:NAME=HOST:PORT, got 'video' (no ':' after the ID)",
        "1:video                  | --flow takes ID:NAME=HOST:PORT, got '1:video' (no '=' after the NAME)",
        "1:video:127.0.0.1:9001   | --flow takes ID:NAME=HOST:PORT, got '1:video:127.0.0.1:9001' (no '=' after the NAME)",
        ":video=127.0.0.1:9001    | --flow ':video=127.0.0.1:9001': the ID is a whole number in [0, 4294967295], got ''",
        "x:video=127.0.0.1:9001   | --flow 'x:video=127.0.0.1:9001': the ID is a whole number in [0, 4294967295], got 'x'",
        "-1:video=127.0.0.1:9001  | --flow '-1:video=127.0.0.1:9001': the ID is a whole number in [0, 4294967295], got '-1'",
        "+1:video=127.0.0.1:9001  | --flow '+1:video=127.0.0.1:9001': the ID is a whole number in [0, 4294967295], got '+1'",
        "4294967296:v=127.0.0.1:9001 | --flow '4294967296:v=127.0.0.1:9001': the ID is a whole number in [0, 4294967295], got '4294967296'",
        "99999999999:v=127.0.0.1:9001 | --flow '99999999999:v=127.0.0.1:9001': the ID is a whole number in [0, 4294967295], got '99999999999'",
        "1:=127.0.0.1:9001        | --flow takes ID:NAME=HOST:PORT, got '1:=127.0.0.1:9001' (no NAME)",
        "1:video=                 | --flow takes ID:NAME=HOST:PORT, got '1:video=' (no HOST:PORT after '=')",
        "1:vid eo=127.0.0.1:9001  | --flow '1:vid eo=127.0.0.1:9001': a flow name is printable ASCII without spaces, got 'vid eo'",
        "1:vidéo=127.0.0.1:9001   | --flow '1:vidéo=127.0.0.1:9001': a flow name is printable ASCII without spaces, got 'vidéo'",
        "1:video=127.0.0.1:0      | --flow '1:video=127.0.0.1:0': the port is a number in [1, 65535], got '0'",
        "1:video=127.0.0.1        | --flow '1:video=127.0.0.1': no port: write HOST:PORT",
        "1:video=::1:9001         | --flow '1:video=::1:9001': an IPv6 address goes in brackets: write [ADDRESS]:PORT",
        "1:video=300.0.0.1:9001   | --flow '1:video=300.0.0.1:9001': '300.0.0.1' is not an IPv4 address (four numbers in [0, 255])",
        "1:video=nowhere.invalid:9001 | --flow '1:video=nowhere.invalid:9001': cannot resolve host 'nowhere.invalid'",
    })
    void badFlowsAreRefusedBeforeTheRouterIsAsked(String flow, String why) {
        SessionCreateCommand c = command("call", "echo", "10.0.0.9:9000");
        c.flows = List.of(flow);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Console.run(c));
        assertEquals(why, e.getMessage());
        assertNull(router.lastRequest);
    }

    @Test
    void aLongFlowNameIsRefusedWithTheApiMessage() {
        SessionCreateCommand c = command("call", "echo", "10.0.0.9:9000");
        String name = "n".repeat(65);
        c.flows = List.of("1:" + name + "=127.0.0.1:9001");
        assertEquals("--flow '1:" + name + "=127.0.0.1:9001': a flow name has 1 to 64 characters, got 65",
            assertThrows(IllegalArgumentException.class, () -> Console.run(c)).getMessage());
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', quoteCharacter = '"', value = {
        "1:video=127.0.0.1:9001, 1:audio=127.0.0.1:9002 | flow 1 is given twice",
        "1:video=127.0.0.1:9001, 2:video=127.0.0.1:9002 | flow name 'video' is given twice",
        "1:default=127.0.0.1:9001                      | the name 'default' is taken by flow 0 (the session's default flow)",
        "0:main=127.0.0.1:9000                         | flow 0 is the session's default flow: its destination must be the session's destination /10.0.0.9:9000, got /127.0.0.1:9000",
    })
    void whatTheRequestChecksAcrossFlowsPassesThrough(String flows, String why) {
        SessionCreateCommand c = command("call", "echo", "10.0.0.9:9000");
        c.flows = List.of(flows.split(",\\s*"));
        assertEquals(why, assertThrows(IllegalArgumentException.class, () -> Console.run(c)).getMessage());
        assertNull(router.lastRequest);
    }

    @Test
    void atMost64Flows() throws Exception {
        SessionCreateCommand c = command("call", "echo", "10.0.0.9:9000");
        List<String> flows = new java.util.ArrayList<>();
        for (int i = 1; i <= 63; i++) {
            flows.add(i + ":f" + i + "=127.0.0.1:" + (9000 + i));
        }
        c.flows = flows;
        c.json = true;
        assertEquals(64, array(object(Console.json(c)).get("flows")).size());

        flows.add("64:f64=127.0.0.1:9064");
        SessionCreateCommand d = command("call", "echo", "10.0.0.9:9000");
        d.flows = flows;
        assertEquals("at most 64 flows in a session, got 65",
            assertThrows(IllegalArgumentException.class, () -> Console.run(d)).getMessage());
    }

    @ParameterizedTest
    @ValueSource(strings = {"0", "-1", "two", "", "1.5", "99999999999"})
    void unitsMustBeAtLeastOne(String units) {
        SessionCreateCommand c = command("video", "echo", "10.0.0.9:9000");
        c.units = units;
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Console.run(c));
        assertEquals("--units takes a whole number >= 1, got '" + units + "'", e.getMessage());
        assertNull(router.lastRequest);
    }

    @ParameterizedTest
    @ValueSource(strings = {"-1", "10001", "soon"})
    void reorderWindowIsMillisecondsUpToTenSeconds(String ms) {
        SessionCreateCommand c = command("video", "echo", "10.0.0.9:9000");
        c.reorderWindow = ms;
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Console.run(c));
        assertEquals("--reorder-window takes milliseconds, a whole number in [0, 10000], got '" + ms + "'",
            e.getMessage());
    }

    @Test
    void paramsAreKeyEqualsValue() {
        SessionCreateCommand c = command("video", "echo", "10.0.0.9:9000");
        c.params = List.of("mode=fast", "keyonly");
        assertEquals("--param takes KEY=VALUE, got 'keyonly' (no '=')",
            assertThrows(IllegalArgumentException.class, () -> Console.run(c)).getMessage());

        c.params = List.of("=value");
        assertEquals("--param takes KEY=VALUE, got '=value' (no KEY)",
            assertThrows(IllegalArgumentException.class, () -> Console.run(c)).getMessage());

        c.params = List.of("mode=fast", "mode=slow");
        assertEquals("--param mode is given twice",
            assertThrows(IllegalArgumentException.class, () -> Console.run(c)).getMessage());

        c.params = List.of("bad key=1");
        assertEquals("a parameter name has 1 to 64 characters [A-Za-z0-9._-], got 'bad key'",
            assertThrows(IllegalArgumentException.class, () -> Console.run(c)).getMessage());
        assertNull(router.lastRequest);
    }

    @Test
    void badNamesAreRefusedWithTheApiMessage() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
            () -> Console.run(command("my video", "echo", "10.0.0.9:9000")));
        assertEquals("a session name has 1 to 64 characters [A-Za-z0-9._-], got 'my video'", e.getMessage());
    }

    @Test
    void missingRequiredOptionsAreNamed() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
            () -> Console.run(command("video", "echo", null)));
        assertEquals("--to is required", e.getMessage());
    }

    @Test
    void theRoutersRefusalsPassThrough() {
        IllegalArgumentException bad = assertThrows(IllegalArgumentException.class,
            () -> Console.run(command("video", "nonesuch", "10.0.0.9:9000")));
        assertEquals("unknown program 'nonesuch'", bad.getMessage());

        router.refusal = new RouterException("no unit is running");
        RouterException e = assertThrows(RouterException.class,
            () -> Console.run(command("video", "echo", "10.0.0.9:9000")));
        assertEquals("no unit is running", e.getMessage());
        assertTrue(router.sessions.isEmpty());
    }

    // ---- keyed sessions

    @TempDir
    Path dir;

    private static byte[] key() {
        byte[] k = new byte[32];
        for (int i = 0; i < k.length; i++) {
            k[i] = (byte) (200 + i);
        }
        return k;
    }

    @Test
    void aKeyFileMakesAKeyedSessionAndTheReportSaysSoWithoutTheKey() throws Exception {
        Path raw = Files.write(dir.resolve("raw.key"), key());
        SessionCreateCommand c = command("video", "echo", "10.0.0.9:9000");
        c.keyFile = raw.toString();
        c.json = true;
        String json = Console.run(c);
        assertEquals(SessionKey.of(key()), router.lastRequest.key().orElseThrow());
        assertEquals(true, object(Console.parse(json)).get("keyed"));
        assertFalse(json.contains(SessionKey.of(key()).toHex()), json);

        Path hex = Files.writeString(dir.resolve("hex.key"), HexFormat.of().withUpperCase().formatHex(key()) + "\n");
        SessionCreateCommand t = command("audio", "echo", "10.0.0.9:9000");
        t.keyFile = hex.toString();
        String out = Console.run(t);
        assertEquals(SessionKey.of(key()), router.lastRequest.key().orElseThrow());
        assertTrue(out.startsWith("created session 2 (audio): senders connect to 127.0.0.1:7000 with session id 2 and "
            + "the session's key (--key-file " + hex + ")"), out);
        assertTrue(out.contains("Keyed") && out.contains("yes (senders need the session's key)"), out);
        assertFalse(out.contains(SessionKey.of(key()).toHex()), out);
    }

    @Test
    void aHexKeyWorksTooAndNoKeyMeansUnkeyed() throws Exception {
        SessionCreateCommand c = command("video", "echo", "10.0.0.9:9000");
        c.keyHex = HexFormat.of().formatHex(key());
        Console.run(c);
        assertEquals(SessionKey.of(key()), router.lastRequest.key().orElseThrow());

        SessionCreateCommand plain = command("audio", "echo", "10.0.0.9:9000");
        String out = Console.run(plain);
        assertFalse(router.lastRequest.keyed());
        assertTrue(out.contains("(unkeyed: anyone who knows the id may send)"), out);
        plain = command("text", "echo", "10.0.0.9:9000");
        plain.json = true;
        assertEquals(false, object(Console.json(plain)).get("keyed"));
    }

    @Test
    void badKeysAreRefusedByOptionAndNothingIsCreated() throws Exception {
        SessionCreateCommand shortHex = command("video", "echo", "10.0.0.9:9000");
        shortHex.keyHex = "abcd";
        assertEquals("--key: a session key is 64 hexadecimal digits (32 bytes), got 4 characters",
            assertThrows(IllegalArgumentException.class, () -> Console.run(shortHex)).getMessage());
        SessionCreateCommand notHex = command("video", "echo", "10.0.0.9:9000");
        notHex.keyHex = "g".repeat(64);
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Console.run(notHex)).getMessage()
            .startsWith("--key: a session key is 64 hexadecimal digits [0-9a-fA-F]"));
        SessionCreateCommand missing = command("video", "echo", "10.0.0.9:9000");
        missing.keyFile = dir.resolve("missing.key").toString();
        assertEquals("--key-file " + missing.keyFile + ": no such file on this node",
            assertThrows(IllegalArgumentException.class, () -> Console.run(missing)).getMessage());
        SessionCreateCommand odd = command("video", "echo", "10.0.0.9:9000");
        odd.keyFile = Files.write(dir.resolve("odd.key"), new byte[33]).toString();
        assertEquals("--key-file " + odd.keyFile + ": a key file holds the 32 raw bytes or 64 hexadecimal digits, "
            + "this one holds 33 bytes", assertThrows(IllegalArgumentException.class, () -> Console.run(odd))
            .getMessage());
        SessionCreateCommand both = command("video", "echo", "10.0.0.9:9000");
        both.keyFile = odd.keyFile;
        both.keyHex = HexFormat.of().formatHex(key());
        assertEquals("give --key-file or --key, not both",
            assertThrows(IllegalArgumentException.class, () -> Console.run(both)).getMessage());
        assertTrue(router.sessions.isEmpty());
    }

    @Test
    void withoutARouterTheCommandSaysSo() {
        SessionCreateCommand c = command("video", "echo", "10.0.0.9:9000");
        c.router = null;
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> Console.run(c));
        assertEquals("the Pando router is not running on this node (feature pando-distribution)", e.getMessage());
    }

    private SessionCreateCommand command(String name, String program, String to) {
        SessionCreateCommand c = new SessionCreateCommand();
        c.router = router;
        c.name = name;
        c.program = program;
        c.to = to;
        c.resolver = host -> switch (host) {
            case "sink.example" -> InetAddress.getByAddress(host, new byte[] {10, 0, 0, 9});
            default -> throw new UnknownHostException(host);
        };
        return c;
    }
}
