package io.pando.client.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pando.control.impl.ControlFixture;
import io.pando.control.impl.NoQuorumControl;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code pando session open|list|close} against a real control unit (its ARTP endpoint on loopback, ports 18150-18199,
 * JAAS login from a properties file) in front of a fake router with units u1, u2 and program passthrough.
 */
class SessionCommandTest {

    @TempDir
    Path dir;

    private ControlFixture control;
    private String at;
    private Path alice;
    private Path bob;

    @BeforeEach
    void start() throws Exception {
        control = new ControlFixture(Map.of("alice", "wonder", "bob", "builder"), dir,
            Map.of("quota_sessions", 2), 18150, 18199);
        at = "127.0.0.1:" + control.address().getPort();
        alice = Files.writeString(dir.resolve("alice.pw"), "wonder\n");
        bob = Files.writeString(dir.resolve("bob.pw"), "builder\n");
    }

    @AfterEach
    void stop() {
        control.close();
    }

    private Cli as(String user, Path password, String... args) {
        List<String> all = new java.util.ArrayList<>(List.of(args[0], args[1], "--control", at, "--user", user,
            "--password-file", password.toString()));
        all.addAll(List.of(args).subList(2, args.length));
        return Cli.run(all.toArray(new String[0]));
    }

    @Test
    void openListClose() {
        Cli open = as("alice", alice, "session", "open", "--program", "passthrough", "--to", "127.0.0.1:9000",
            "--flow", "1:audio:127.0.0.1:9001", "--param", "key=00ff", "--units", "2", "--cpus", "0.25", "--json");
        assertEquals(0, open.exitCode(30), open.err.toString());
        Map<String, Object> opened = open.json();
        String id = (String) opened.get("session");
        assertEquals(List.of(id), control.sessions());
        assertEquals("127.0.0.1:7400", opened.get("ingress"));
        assertEquals(true, opened.get("keyed"));
        assertEquals(control.keys().get(id), opened.get("key"), "the key the router was given, to its owner");
        assertEquals(64, ((String) opened.get("key")).length());
        assertEquals(0.25, control.cpus().get(id));
        assertEquals(Map.of("key", "00ff"), control.parameters().get(id));

        Cli text = as("alice", alice, "session", "open", "--program", "passthrough", "--to", "127.0.0.1:9000");
        assertEquals(0, text.exitCode(30), text.err.toString());
        assertTrue(text.out.toString().contains("open: send to 127.0.0.1:7400 with session"), text.out.toString());
        String textId = text.out.toString().split(" ")[1];
        assertTrue(text.out.toString().strip().endsWith("; key " + control.keys().get(textId)), text.out.toString());

        Cli list = as("alice", alice, "session", "list", "--json");
        assertEquals(0, list.exitCode(30), list.err.toString());
        assertEquals(2L, list.json().get("count"));
        assertTrue(list.out.toString().contains("\"session\":\"" + id + "\""), list.out.toString());
        assertTrue(list.out.toString().contains("\"units\":[\"u1\",\"u2\"]"), list.out.toString());
        assertTrue(!list.out.toString().contains(control.keys().get(id)), "a list never shows keys");

        // bob sees none of it and cannot close it
        Cli bobList = as("bob", bob, "session", "list", "--json");
        assertEquals(0, bobList.exitCode(30));
        assertEquals(0L, bobList.json().get("count"));
        Cli bobClose = as("bob", bob, "session", "close", "--session", id);
        assertEquals(1, bobClose.exitCode(30));
        assertTrue(bobClose.err.toString().contains("refused (NOT_YOURS): not your session"), bobClose.err.toString());
        assertEquals(2, control.sessions().size());

        // over alice's quota of 2 sessions
        Cli third = as("alice", alice, "session", "open", "--program", "passthrough", "--to", "127.0.0.1:9000");
        assertEquals(1, third.exitCode(30));
        assertTrue(third.err.toString().contains("refused (QUOTA): quota: alice has 2 open session(s)"),
            third.err.toString());

        Cli close = as("alice", alice, "session", "close", "--session", id, "--json");
        assertEquals(0, close.exitCode(30), close.err.toString());
        assertEquals(id, close.json().get("session"));
        assertEquals(5L, ((Map<?, ?>) close.json().get("counters")).get("datagrams_in"));
        assertEquals(1, control.sessions().size());
    }

    @Test
    void aNodeThatDoesNotLeadIsSkippedForTheNextEndpoint() throws Exception {
        try (ControlFixture follower = NoQuorumControl.start(Map.of("alice", "wonder"), dir, 18150, 18199)) {
            String other = "127.0.0.1:" + follower.address().getPort();
            // alone, the node that does not lead refuses with the reason
            Cli alone = Cli.run("session", "list", "--control", other, "--user", "alice", "--password-file",
                alice.toString());
            assertEquals(1, alone.exitCode(60), alone.err.toString());
            assertTrue(alone.err.toString().contains("refused (NOT_LEADER): refused to authenticate alice: no quorum"),
                alone.err.toString());
            // first in a list, it is skipped and the next endpoint (the leader) serves the request
            Cli open = Cli.run("session", "open", "--control", other + "," + at, "--user", "alice",
                "--password-file", alice.toString(), "--program", "passthrough", "--to", "127.0.0.1:9000", "--json");
            assertEquals(0, open.exitCode(60), open.err.toString());
            assertTrue(open.err.toString().contains(other + " does not lead (refused to authenticate alice: no quorum"),
                open.err.toString());
            assertEquals(List.of((String) open.json().get("session")), control.sessions());
        }
    }

    @Test
    void aSilentEndpointCostsAShortHandshakeNotTheWholeTimeout() throws Exception {
        // a node that is gone or frozen: its port takes datagrams and never answers
        try (java.net.DatagramSocket frozen = new java.net.DatagramSocket(0,
                java.net.InetAddress.getLoopbackAddress());
             java.net.DatagramSocket frozenToo = new java.net.DatagramSocket(0,
                java.net.InetAddress.getLoopbackAddress())) {
            String silent = "127.0.0.1:" + frozen.getLocalPort();
            long t0 = System.nanoTime();
            Cli open = Cli.run("session", "open", "--control", silent + "," + at, "--user", "alice",
                "--password-file", alice.toString(), "--program", "passthrough", "--to", "127.0.0.1:9000",
                "--timeout", "60", "--json");
            assertEquals(0, open.exitCode(90), open.err.toString());
            long seconds = java.util.concurrent.TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - t0);
            assertTrue(seconds < 40, "served by the next endpoint after " + seconds + " s, not the 60 s timeout");
            assertTrue(open.err.toString().contains(silent + ": ") && open.err.toString().contains("trying the next"),
                open.err.toString());
            assertEquals(List.of((String) open.json().get("session")), control.sessions());

            // none answers: each is tried again with the whole timeout, then the command says so (exit 3)
            String silentToo = "127.0.0.1:" + frozenToo.getLocalPort();
            Cli none = Cli.run("session", "list", "--control", silent + "," + silentToo, "--user", "alice",
                "--password-file", alice.toString(), "--timeout", "3");
            assertEquals(3, none.exitCode(60), none.err.toString());
            assertTrue(none.err.toString().contains(silentToo + ": ") && none.err.toString().contains(silent + ": "),
                none.err.toString());
        }
    }

    @Test
    void theKeyGoesToAnOwnerOnlyFile() throws Exception {
        Path hexFile = dir.resolve("s1.key");
        Files.writeString(hexFile, "an older key\n"); // replaced
        Cli open = as("alice", alice, "session", "open", "--program", "passthrough", "--to", "127.0.0.1:9000",
            "--key-out", hexFile.toString(), "--json");
        assertEquals(0, open.exitCode(30), open.err.toString());
        String id = (String) open.json().get("session");
        assertEquals(control.keys().get(id) + "\n", Files.readString(hexFile));
        assertEquals("rw-------", java.nio.file.attribute.PosixFilePermissions.toString(
            Files.getPosixFilePermissions(hexFile)));
        assertTrue(SessionKeys.read("--key-file", hexFile).length == 32);

        Path rawFile = dir.resolve("s2.key");
        Cli raw = as("alice", alice, "session", "open", "--program", "passthrough", "--to", "127.0.0.1:9000",
            "--key-out", rawFile.toString(), "--key-format", "raw");
        assertEquals(0, raw.exitCode(30), raw.err.toString());
        String rawId = raw.out.toString().split(" ")[1];
        assertEquals(control.keys().get(rawId), java.util.HexFormat.of().formatHex(Files.readAllBytes(rawFile)));
        assertEquals("rw-------", java.nio.file.attribute.PosixFilePermissions.toString(
            Files.getPosixFilePermissions(rawFile)));
        try (var left = Files.list(dir)) {
            assertTrue(left.noneMatch(p -> p.getFileName().toString().startsWith(".pando-key-")), "no temporary file");
        }

        // bad --key-out / --key-format: refused before anything is opened
        int before = control.sessions().size();
        Cli noDir = as("alice", alice, "session", "open", "--program", "passthrough", "--to", "127.0.0.1:9000",
            "--key-out", dir.resolve("nope/s.key").toString());
        assertEquals(2, noDir.exitCode(30));
        assertTrue(noDir.err.toString().contains("does not exist"), noDir.err.toString());
        Cli isDir = as("alice", alice, "session", "open", "--program", "passthrough", "--to", "127.0.0.1:9000",
            "--key-out", dir.toString());
        assertEquals(2, isDir.exitCode(30));
        assertTrue(isDir.err.toString().contains("is a directory"), isDir.err.toString());
        Cli format = as("alice", alice, "session", "open", "--program", "passthrough", "--to", "127.0.0.1:9000",
            "--key-format", "base64");
        assertEquals(2, format.exitCode(30));
        assertTrue(format.err.toString().contains("--key-format is hex or raw, got 'base64'"), format.err.toString());
        assertEquals(before, control.sessions().size());
    }

    @Test
    void refusalsAndUsageErrors() throws Exception {
        Cli wrong = as("alice", bob, "session", "list");
        assertEquals(4, wrong.exitCode(30));
        assertTrue(wrong.err.toString().contains("refused (AUTH_FAILED): wrong user or password"), wrong.err.toString());

        Cli unknown = as("alice", alice, "session", "open", "--program", "nope", "--to", "127.0.0.1:9000");
        assertEquals(1, unknown.exitCode(30));
        assertTrue(unknown.err.toString().contains("refused (INVALID): no active program 'nope'"),
            unknown.err.toString());

        Cli capacity = as("alice", alice, "session", "open", "--program", "passthrough", "--to", "127.0.0.1:9000",
            "--cpus", "1", "--units", "5");
        assertEquals(1, capacity.exitCode(30));
        assertTrue(capacity.err.toString().contains("refused (CAPACITY): capacity: CPU share 1.000 per unit"),
            capacity.err.toString());
        Cli oneThread = as("alice", alice, "session", "open", "--program", "passthrough", "--to", "127.0.0.1:9000",
            "--cpus", "2");
        assertEquals(1, oneThread.exitCode(30));
        assertTrue(oneThread.err.toString().contains("refused (INVALID): CPU share 2.000 per unit cannot be "
            + "guaranteed"), oneThread.err.toString());

        Cli badCpus = as("alice", alice, "session", "open", "--program", "passthrough", "--to", "127.0.0.1:9000",
            "--cpus", "100");
        assertEquals(2, badCpus.exitCode(30));
        assertTrue(badCpus.err.toString().contains("--cpus is in [0.01, 64]"), badCpus.err.toString());
        Cli badUnits = as("alice", alice, "session", "open", "--program", "passthrough", "--to", "127.0.0.1:9000",
            "--units", "0");
        assertEquals(2, badUnits.exitCode(30));
        Cli badFlow = as("alice", alice, "session", "open", "--program", "passthrough", "--to", "127.0.0.1:9000",
            "--flow", "0:x:127.0.0.1:9");
        assertEquals(2, badFlow.exitCode(30));
        assertTrue(badFlow.err.toString().contains("FLOW id is in [1"), badFlow.err.toString());
        Cli badSession = as("alice", alice, "session", "close", "--session", "abc");
        assertEquals(2, badSession.exitCode(30));
        Cli noFile = as("alice", dir.resolve("missing.pw"), "session", "list");
        assertEquals(2, noFile.exitCode(30));
        assertTrue(noFile.err.toString().contains("cannot read"), noFile.err.toString());

        Cli silent = Cli.run("session", "list", "--control", "127.0.0.1:18149", "--user", "alice", "--password-file",
            alice.toString(), "--timeout", "1");
        assertEquals(3, silent.exitCode(30));
        assertTrue(control.sessions().isEmpty());
    }
}
