package io.pando.client.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.pando.artp.ArtpConnection;
import io.pando.artp.ArtpEndpoint;
import io.pando.artp.ArtpHandler;
import io.pando.ep.aesgcm.codec.AesGcmCodec;
import io.pando.ep.rsasign.codec.RsaSignCodec;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.interfaces.RSAPrivateCrtKey;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * {@code pando artp recv --aes-gcm-key} and {@code --rsa-public-key}: traffic as the aes-gcm-encrypt and rsa-sign
 * programs emit it, sent by a plain ARTP endpoint in this JVM, received through the real CLI entry point.
 */
@Timeout(120)
class AesGcmRecvTest {

    private static final String KEY_HEX = "603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4";
    private static final byte[] KEY = AesGcmCodec.parseKey(KEY_HEX);
    private static final Pattern LISTENING = Pattern.compile("listening on (\\S+)");

    private static String listenAddress(Cli recv) throws InterruptedException {
        recv.awaitOutput("listening on", 20);
        Matcher m = LISTENING.matcher(recv.out.toString());
        assertTrue(m.find());
        return m.group(1);
    }

    private static long num(Map<String, Object> json, String field) {
        Object v = json.get(field);
        assertTrue(v instanceof Number, () -> field + " missing in " + json);
        return ((Number) v).longValue();
    }

    /** A test payload of {@code size} bytes, plaintext. */
    private static byte[] payload(long seq, int size) {
        ByteBuf buf = Unpooled.buffer(size);
        try {
            Payload.encode(buf, seq, System.nanoTime(), size);
            return ByteBufUtil.getBytes(buf);
        } finally {
            buf.release();
        }
    }

    private static byte[] seal(long session, long counter, byte[] plaintext) {
        return AesGcmCodec.encrypt(KEY, session, AesGcmCodec.nonce(0x5EED, counter), plaintext);
    }

    /** Connects with session {@code session}, sends the datagrams, closes in order (everything acknowledged). */
    private static void send(String to, long session, List<byte[]> datagrams) throws Exception {
        try (ArtpEndpoint endpoint = ArtpEndpoint.builder().handler(new ArtpHandler() {
            @Override
            public void datagram(ArtpConnection connection, ByteBuf datagram, boolean control) {
                datagram.release();
            }
        }).start()) {
            ArtpConnection conn = endpoint.connect(HostPort.parse(to), session, null).toCompletableFuture()
                .get(20, TimeUnit.SECONDS);
            for (byte[] d : datagrams) {
                conn.send(Unpooled.wrappedBuffer(d));
            }
            conn.close().toCompletableFuture().get(60, TimeUnit.SECONDS);
        }
    }

    @Test
    void decryptsThenChecksEveryDatagram() throws Exception {
        long session = 77;
        Cli recv = Cli.start("artp", "recv", "--listen", "127.0.0.1:0", "--count", "300", "--timeout", "60",
            "--session", "77", "--aes-gcm-key", KEY_HEX, "--interval-ms", "60000", "--json");
        String to = listenAddress(recv);
        List<byte[]> datagrams = new ArrayList<>();
        for (int i = 0; i < 300; i++) {
            datagrams.add(seal(session, i, payload(i, 500)));
        }
        send(to, session, datagrams);
        assertEquals(0, recv.exitCode(60), () -> "recv: " + recv.out + recv.err);
        Map<String, Object> r = recv.json();
        assertEquals(300, num(r, "received"));
        assertEquals(0, num(r, "corrupt"));
        assertEquals(0, num(r, "decrypt_failures"));
        assertEquals(0, num(r, "duplicates"));
        assertEquals(300L * 500, num(r, "bytes"), "bytes counts the plaintext");
        assertEquals(60000, num(r, "interval_ms"));
        assertTrue(recv.out.toString().contains("\"intervals\":[300]"), () -> "all in the first minute: " + recv.out);
        assertTrue(recv.out.toString().contains("corrupt 0 (0 did not decrypt)"), recv.out::toString);
    }

    @Test
    void countsDatagramsThatDoNotDecryptAsCorrupt() throws Exception {
        long session = 78;
        Cli recv = Cli.start("artp", "recv", "--listen", "127.0.0.1:0", "--idle", "1", "--timeout", "60",
            "--aes-gcm-key", KEY_HEX.toUpperCase(), "--json");
        String to = listenAddress(recv);
        List<byte[]> datagrams = new ArrayList<>();
        for (int i = 0; i < 100; i++) {
            datagrams.add(seal(session, i, payload(i, 64)));
        }
        byte[] good = seal(session, 1000, payload(1000, 64));
        for (int at : new int[] {0, 5, 12, 40, good.length - 1}) { // salt, counter, ciphertext, tag
            byte[] bad = good.clone();
            bad[at] ^= 0x01;
            datagrams.add(bad);
        }
        datagrams.add(seal(session + 1, 2000, payload(2000, 64))); // made for another session
        byte[] otherKey = KEY.clone();
        otherKey[0] ^= 1;
        datagrams.add(AesGcmCodec.encrypt(otherKey, session, AesGcmCodec.nonce(1, 1), payload(3000, 64)));
        datagrams.add(new byte[20]); // shorter than nonce and tag
        byte[] garbage = new byte[64];
        new Random(1).nextBytes(garbage);
        datagrams.add(seal(session, 4000, garbage)); // decrypts, but is no test payload
        send(to, session, datagrams);

        assertEquals(1, recv.exitCode(60), () -> "recv: " + recv.out + recv.err);
        Map<String, Object> r = recv.json();
        assertEquals(100, num(r, "received"));
        assertEquals(9, num(r, "corrupt"));
        assertEquals(8, num(r, "decrypt_failures"));
        assertTrue(recv.err.toString().contains("corrupt: 9 datagrams failed the payload check (8 did not decrypt)"),
            recv.err::toString);
    }

    @Test
    void withoutTheKeyCiphertextFailsThePayloadCheck() throws Exception {
        long session = 79;
        Cli recv = Cli.start("artp", "recv", "--listen", "127.0.0.1:0", "--idle", "1", "--timeout", "60", "--json");
        String to = listenAddress(recv);
        List<byte[]> datagrams = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            datagrams.add(seal(session, i, payload(i, 100)));
        }
        send(to, session, datagrams);
        assertEquals(1, recv.exitCode(60), () -> "recv: " + recv.out + recv.err);
        Map<String, Object> r = recv.json();
        assertEquals(0, num(r, "received"));
        assertEquals(10, num(r, "corrupt"));
        assertFalse(r.containsKey("decrypt_failures"), r::toString);
    }

    @Test
    void verifiesAndRemovesRsaSignaturesAndCountsTheOnesThatFail() throws Exception {
        KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
        g.initialize(2048);
        KeyPair pair = g.generateKeyPair();
        RSAPrivateCrtKey key = (RSAPrivateCrtKey) pair.getPrivate();
        long session = 80;
        Cli recv = Cli.start("artp", "recv", "--listen", "127.0.0.1:0", "--idle", "1", "--timeout", "60",
            "--rsa-public-key", RsaSignCodec.encode(pair.getPublic()), "--json");
        String to = listenAddress(recv);
        List<byte[]> datagrams = new ArrayList<>();
        for (int i = 0; i < 50; i++) {
            datagrams.add(RsaSignCodec.sign(key, session, payload(i, 300)));
        }
        byte[] good = RsaSignCodec.sign(key, session, payload(1000, 300));
        for (int at : new int[] {0, 299, 300, good.length - 1}) { // payload, signature
            byte[] bad = good.clone();
            bad[at] ^= 0x01;
            datagrams.add(bad);
        }
        datagrams.add(RsaSignCodec.sign(key, session + 1, payload(2000, 300))); // signed for another session
        datagrams.add(new byte[100]); // shorter than a signature
        byte[] garbage = new byte[64];
        new Random(1).nextBytes(garbage);
        datagrams.add(RsaSignCodec.sign(key, session, garbage)); // verifies, but is no test payload
        send(to, session, datagrams);

        assertEquals(1, recv.exitCode(60), () -> "recv: " + recv.out + recv.err);
        Map<String, Object> r = recv.json();
        assertEquals(50, num(r, "received"));
        assertEquals(50L * 300, num(r, "bytes"), "bytes counts the payload without its signature");
        assertEquals(7, num(r, "corrupt"));
        assertEquals(6, num(r, "signature_failures"));
        assertFalse(r.containsKey("decrypt_failures"), r::toString);
        assertTrue(recv.err.toString().contains("corrupt: 7 datagrams failed the payload check (6 did not verify)"),
            recv.err::toString);
    }
}
