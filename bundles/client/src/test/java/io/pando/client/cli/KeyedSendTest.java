package io.pando.client.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.pando.artp.ArtpConnection;
import io.pando.artp.ArtpCounter;
import io.pando.artp.ArtpEndpoint;
import io.pando.artp.ArtpHandler;
import io.pando.artp.SessionGrant;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code pando artp send --key/--key-file} through the real CLI entry point to a real ARTP endpoint that, like the
 * distribution unit's ingress, grants session 42 only keyed: the right key delivers, no key and a wrong key are
 * refused by ARTP (counted as auth_failed) and deliver nothing; bad key options are usage errors.
 */
@Timeout(120)
class KeyedSendTest {

    private static final long SESSION = 42;

    @TempDir
    Path dir;

    private final byte[] key = new byte[32];
    private final AtomicLong delivered = new AtomicLong();
    private ArtpEndpoint ingress;
    private String to;

    @BeforeEach
    void start() {
        for (int i = 0; i < key.length; i++) {
            key[i] = (byte) (0xA0 + i);
        }
        SessionGrant grant = SessionGrant.keyed(key);
        ingress = ArtpEndpoint.builder()
            .handler(new ArtpHandler() {
                @Override
                public void datagram(ArtpConnection connection, ByteBuf datagram, boolean control) {
                    delivered.incrementAndGet();
                    datagram.release();
                }
            })
            .acceptor((session, peer) -> session == SESSION ? grant : null)
            .start();
        to = "127.0.0.1:" + ingress.localAddress().getPort();
    }

    @AfterEach
    void stop() {
        ingress.close();
    }

    private long authFailed() {
        return ingress.stats().get(ArtpCounter.AUTH_FAILED);
    }

    private Cli send(String... keyOptions) {
        String[] base = {"artp", "send", "--to", to, "--session", Long.toString(SESSION), "--count", "200", "--size",
            "100", "--json"};
        String[] all = java.util.Arrays.copyOf(base, base.length + keyOptions.length);
        System.arraycopy(keyOptions, 0, all, base.length, keyOptions.length);
        return Cli.run(all);
    }

    @Test
    void theRightKeyDeliversFromTheCommandLineAndFromFiles() throws Exception {
        Cli hex = send("--key", HexFormat.of().formatHex(key));
        assertEquals(0, hex.exitCode(60), hex.err::toString);
        Map<String, Object> json = hex.json();
        assertEquals(Boolean.TRUE, json.get("keyed"));
        assertEquals(200L, ((Number) json.get("sent")).longValue());
        assertEquals(200, delivered.get());

        Path raw = Files.write(dir.resolve("raw.key"), key);
        Cli fromRaw = send("--key-file", raw.toString());
        assertEquals(0, fromRaw.exitCode(60), fromRaw.err::toString);
        Path text = Files.writeString(dir.resolve("hex.key"), HexFormat.of().withUpperCase().formatHex(key) + "\n");
        Cli fromHex = send("--key-file", text.toString());
        assertEquals(0, fromHex.exitCode(60), fromHex.err::toString);
        assertEquals(600, delivered.get());
        assertEquals(0, authFailed());
    }

    @Test
    void noKeyAndAWrongKeyAreRefusedAndCounted() {
        Cli none = send("--timeout", "2");
        assertEquals(1, none.exitCode(60));
        assertTrue(none.err.toString().contains("if session 42 is keyed, give its key with --key or --key-file"),
            none.err::toString);
        long afterNone = authFailed();
        assertTrue(afterNone >= 1, "the unkeyed INITs were dropped and counted: " + afterNone);

        byte[] other = key.clone();
        other[0] ^= 0x55;
        Cli wrong = send("--key", HexFormat.of().formatHex(other), "--timeout", "2");
        assertEquals(1, wrong.exitCode(60));
        assertTrue(wrong.err.toString().contains("a keyed session answers only senders with its key"),
            wrong.err::toString);
        assertTrue(authFailed() > afterNone, "the INITs under the wrong key were dropped and counted");
        assertEquals(0, delivered.get(), "nothing of theirs was delivered");
        assertEquals(0, ingress.stats().get(ArtpCounter.CONNECTIONS_OPENED));
        System.out.println("refused senders: " + authFailed() + " INITs counted as auth_failed (unkeyed " + afterNone
            + ", wrong key " + (authFailed() - afterNone) + ")");
    }

    @Test
    void badKeyOptionsAreUsageErrors() throws Exception {
        String good = HexFormat.of().formatHex(key);
        Cli shortKey = send("--key", "abcd");
        assertEquals(2, shortKey.exitCode(30));
        assertTrue(shortKey.err.toString().contains("--key: a session key is 64 hexadecimal digits (32 bytes), got 4 "
            + "characters"), shortKey.err::toString);
        Cli notHex = send("--key", "x" + good.substring(1));
        assertEquals(2, notHex.exitCode(30));
        assertTrue(notHex.err.toString().contains("--key: a session key is 64 hexadecimal digits [0-9a-fA-F]; "
            + "character 1 is not one"), notHex.err::toString);
        Path missing = dir.resolve("missing.key");
        Cli noFile = send("--key-file", missing.toString());
        assertEquals(2, noFile.exitCode(30));
        assertTrue(noFile.err.toString().contains("--key-file " + missing + ": no such file"), noFile.err::toString);
        Path odd = Files.write(dir.resolve("odd.key"), new byte[31]);
        Cli oddFile = send("--key-file", odd.toString());
        assertEquals(2, oddFile.exitCode(30));
        assertTrue(oddFile.err.toString().contains("a key file holds the 32 raw bytes or 64 hexadecimal digits, this "
            + "one holds 31 bytes"), oddFile.err::toString);
        Path badHex = Files.writeString(dir.resolve("bad.key"), "g".repeat(64) + "\n");
        Cli badHexFile = send("--key-file", badHex.toString());
        assertEquals(2, badHexFile.exitCode(30));
        assertTrue(badHexFile.err.toString().contains("character 1 is not one"), badHexFile.err::toString);
        Cli both = send("--key", good, "--key-file", odd.toString());
        assertEquals(2, both.exitCode(30));
        assertTrue(both.err.toString().contains("give --key or --key-file, not both"), both.err::toString);
        assertEquals(0, delivered.get());
        assertEquals(0, authFailed(), "usage errors never reach the network");
    }
}
