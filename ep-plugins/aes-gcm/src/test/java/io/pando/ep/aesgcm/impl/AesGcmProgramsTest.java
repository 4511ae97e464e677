package io.pando.ep.aesgcm.impl;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pando.api.program.Datagram;
import io.pando.api.session.FlowId;
import io.pando.ep.aesgcm.codec.AesGcmCodec;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import javax.crypto.AEADBadTagException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The two programs driven directly with a test context, as the router would: one datagram at a time. */
class AesGcmProgramsTest {

    private static final String KEY_128 = "000102030405060708090a0b0c0d0e0f";
    private static final String KEY_256 = "603DEB1015CA71BE2B73AEF0857D77811F352C073B6108D72D9810A30914DFF4";
    private static final FlowId FLOW = FlowId.of(7);
    private static final long SESSION = 0x0123_4567_89AB_CDEFL;

    private static byte[] bytes(int length, long seed) {
        byte[] b = new byte[length];
        new Random(seed).nextBytes(b);
        return b;
    }

    private static byte[] encrypt(AesGcmEncryptProgram program, TestContext ctx, byte[] plaintext) throws Exception {
        program.process(Datagram.of(FLOW, plaintext), ctx);
        return ctx.take();
    }

    @ParameterizedTest(name = "key of {0} hex digits")
    @ValueSource(strings = {KEY_128, "000102030405060708090a0b0c0d0e0f1011121314151617", KEY_256})
    void roundTripsThroughBothPrograms(String key) throws Exception {
        AesGcmEncryptProgram enc = new AesGcmEncryptProgram();
        AesGcmDecryptProgram dec = new AesGcmDecryptProgram();
        TestContext encCtx = TestContext.keyed(SESSION, key);
        TestContext decCtx = TestContext.keyed(SESSION, key);
        for (int length : new int[] {0, 1, 15, 16, 17, 1400, 5000, 70_000, 1 << 20}) {
            byte[] plain = bytes(length, length);
            enc.process(Datagram.of(FLOW, plain), encCtx);
            Datagram sealed = encCtx.emitted.remove(0);
            assertEquals(FLOW, sealed.flow());
            assertEquals(length + AesGcmCodec.OVERHEAD, sealed.length());
            if (length >= 16) {
                assertTrue(indexOf(sealed.copyData(), Arrays.copyOf(plain, 16)) < 0, "plaintext visible");
            }
            dec.process(sealed, decCtx);
            Datagram opened = decCtx.emitted.remove(0);
            assertEquals(FLOW, opened.flow());
            assertArrayEquals(plain, opened.copyData(), "length " + length);
        }
    }

    @Test
    void agreesWithTheCodecBothWays() throws Exception {
        byte[] key = AesGcmCodec.parseKey(KEY_256);
        TestContext ctx = TestContext.keyed(SESSION, KEY_256);
        byte[] plain = bytes(333, 1);

        byte[] sealed = encrypt(new AesGcmEncryptProgram(0xCAFEBABE, 41), ctx, plain);
        assertArrayEquals(AesGcmCodec.nonce(0xCAFEBABE, 41), Arrays.copyOf(sealed, 12));
        assertArrayEquals(AesGcmCodec.encrypt(key, SESSION, AesGcmCodec.nonce(0xCAFEBABE, 41), plain), sealed);
        assertArrayEquals(plain, AesGcmCodec.decrypt(key, SESSION, sealed));

        byte[] fromCodec = AesGcmCodec.encrypt(key, SESSION, AesGcmCodec.nonce(5, 6), plain);
        new AesGcmDecryptProgram().process(Datagram.of(FLOW, fromCodec), ctx);
        assertArrayEquals(plain, ctx.take());
    }

    @Test
    void readsTheInputFromItsPositionWithoutCopyingIt() throws Exception {
        TestContext ctx = TestContext.keyed(SESSION, KEY_128);
        ByteBuffer backing = ByteBuffer.allocateDirect(100);
        backing.put(bytes(100, 3)).position(10).limit(90);
        Datagram view = Datagram.wrap(FLOW, false, backing);
        byte[] sealed = encrypt(new AesGcmEncryptProgram(), ctx, view.copyData());
        new AesGcmEncryptProgram().process(view, ctx);
        byte[] sealedFromView = ctx.take();
        AesGcmDecryptProgram dec = new AesGcmDecryptProgram();
        dec.process(Datagram.of(FLOW, sealed), ctx);
        dec.process(Datagram.of(FLOW, sealedFromView), ctx);
        assertArrayEquals(ctx.emitted.get(0).copyData(), ctx.emitted.get(1).copyData());
        assertEquals(80, ctx.emitted.get(0).length());
    }

    @Test
    void detectsEveryTampering() throws Exception {
        TestContext ctx = TestContext.keyed(SESSION, KEY_256);
        byte[] sealed = encrypt(new AesGcmEncryptProgram(), ctx, bytes(200, 2));
        AesGcmDecryptProgram dec = new AesGcmDecryptProgram();
        dec.process(Datagram.of(FLOW, sealed), ctx);
        ctx.take();

        int[] positions = {0, 3, 4, 11, 12, 100, 211, sealed.length - 16, sealed.length - 1};
        for (int at : positions) {
            for (int bit = 0; bit < 8; bit += 7) {
                byte[] bad = sealed.clone();
                bad[at] ^= (byte) (1 << bit);
                assertThrows(AEADBadTagException.class, () -> dec.process(Datagram.of(FLOW, bad), ctx),
                    "flip of bit " + bit + " at " + at);
            }
        }
        // truncated, extended, too short for nonce and tag
        assertThrows(AEADBadTagException.class,
            () -> dec.process(Datagram.of(FLOW, Arrays.copyOf(sealed, sealed.length - 1)), ctx));
        assertThrows(AEADBadTagException.class,
            () -> dec.process(Datagram.of(FLOW, Arrays.copyOf(sealed, sealed.length + 1)), ctx));
        AEADBadTagException shortOne = assertThrows(AEADBadTagException.class,
            () -> dec.process(Datagram.of(FLOW, new byte[27]), ctx));
        assertTrue(shortOne.getMessage().contains("at least 28 bytes"), shortOne.getMessage());
        // another session (associated data) or another key
        assertThrows(AEADBadTagException.class,
            () -> new AesGcmDecryptProgram().process(Datagram.of(FLOW, sealed), TestContext.keyed(SESSION + 1, KEY_256)));
        String otherKey = "f" + KEY_256.substring(1);
        assertThrows(AEADBadTagException.class,
            () -> new AesGcmDecryptProgram().process(Datagram.of(FLOW, sealed), TestContext.keyed(SESSION, otherKey)));
        assertTrue(ctx.emitted.isEmpty(), "nothing of a bad datagram is emitted");

        // the instance keeps working after failures
        dec.process(Datagram.of(FLOW, sealed), ctx);
        assertArrayEquals(bytes(200, 2), ctx.take());
    }

    @Test
    void neverRepeatsANonceOver100000Datagrams() throws Exception {
        AesGcmEncryptProgram enc = new AesGcmEncryptProgram();
        TestContext ctx = TestContext.keyed(SESSION, KEY_128);
        Set<ByteBuffer> nonces = new HashSet<>();
        byte[] plain = new byte[8];
        byte[] salt = null;
        for (int i = 0; i < 100_000; i++) {
            enc.process(Datagram.of(FLOW, plain), ctx);
            byte[] sealed = ctx.take();
            byte[] nonce = Arrays.copyOf(sealed, 12);
            assertTrue(nonces.add(ByteBuffer.wrap(nonce)), "nonce repeated at datagram " + i);
            if (salt == null) {
                salt = Arrays.copyOf(nonce, 4);
            }
            assertArrayEquals(salt, Arrays.copyOf(nonce, 4), "the salt is fixed per instance");
            assertEquals(i, ByteBuffer.wrap(nonce, 4, 8).getLong(), "the counter counts datagrams");
        }
        assertEquals(100_000, nonces.size());

        // another instance draws another salt (fails with probability 2^-32)
        enc = new AesGcmEncryptProgram();
        enc.process(Datagram.of(FLOW, plain), ctx);
        assertNotEquals(ByteBuffer.wrap(salt), ByteBuffer.wrap(ctx.take(), 0, 4));
    }

    @Test
    void refusesToWrapTheCounter() throws Exception {
        AesGcmEncryptProgram enc = new AesGcmEncryptProgram(1, -2L);
        TestContext ctx = TestContext.keyed(SESSION, KEY_128);
        assertEquals(-2L, ByteBuffer.wrap(encrypt(enc, ctx, new byte[3]), 4, 8).getLong());
        assertEquals(-1L, ByteBuffer.wrap(encrypt(enc, ctx, new byte[3]), 4, 8).getLong());
        IllegalStateException e = assertThrows(IllegalStateException.class,
            () -> enc.process(Datagram.of(FLOW, new byte[3]), ctx));
        assertTrue(e.getMessage().contains("nonce counter of this instance is used up"), e.getMessage());
        assertThrows(IllegalStateException.class, () -> enc.process(Datagram.of(FLOW, new byte[3]), ctx));
        assertTrue(ctx.emitted.isEmpty());
    }

    @Test
    void aFailedDatagramNeverHandsItsNonceToAnother() throws Exception {
        AesGcmEncryptProgram enc = new AesGcmEncryptProgram(1, 0);
        assertThrows(IllegalArgumentException.class,
            () -> enc.process(Datagram.of(FLOW, new byte[3]), TestContext.keyed(SESSION, "zz")));
        byte[] sealed = encrypt(enc, TestContext.keyed(SESSION, KEY_128), new byte[3]);
        // the failed call took counter 0 for good; the next datagram uses 1
        assertEquals(1L, ByteBuffer.wrap(sealed, 4, 8).getLong());
    }

    @Test
    void passesControlDatagramsThroughUnchanged() throws Exception {
        for (var program : new io.pando.api.program.ActiveProgram[] {new AesGcmEncryptProgram(), new AesGcmDecryptProgram()}) {
            // a control datagram needs no key: even a session without one passes it on
            TestContext ctx = new TestContext(SESSION, Map.of());
            byte[] info = {1, 2, 3, 4, 5};
            program.process(Datagram.control(FLOW, info), ctx);
            assertEquals(1, ctx.emitted.size());
            assertEquals(FLOW, ctx.emitted.get(0).flow());
            assertArrayEquals(info, ctx.take());
            assertTrue(ctx.controls.isEmpty());
        }
    }

    @Test
    void reusesItsOutputBufferAndGrowsItOnlyWhenNeeded() throws Exception {
        AesGcmEncryptProgram enc = new AesGcmEncryptProgram();
        AesGcmDecryptProgram dec = new AesGcmDecryptProgram();
        TestContext ctx = TestContext.keyed(SESSION, KEY_128);
        int initial = enc.outputCapacity();
        for (int i = 0; i < 1000; i++) {
            enc.process(Datagram.of(FLOW, new byte[1000]), ctx);
            dec.process(ctx.emitted.remove(0), ctx);
            ctx.take();
        }
        assertEquals(initial, enc.outputCapacity());
        assertEquals(initial, dec.outputCapacity());
        enc.process(Datagram.of(FLOW, new byte[10_000]), ctx);
        int grown = enc.outputCapacity();
        assertTrue(grown >= 10_000 + AesGcmCodec.OVERHEAD);
        dec.process(ctx.emitted.remove(0), ctx);
        assertEquals(10_000, ctx.take().length);
        enc.process(Datagram.of(FLOW, new byte[50]), ctx);
        assertEquals(grown, enc.outputCapacity(), "never shrinks back and forth");
    }

    @Test
    void explainsAMissingOrBadKey() {
        for (var program : new io.pando.api.program.ActiveProgram[] {new AesGcmEncryptProgram(), new AesGcmDecryptProgram()}) {
            String name = program instanceof AesGcmEncryptProgram ? "aes-gcm-encrypt" : "aes-gcm-decrypt";
            IllegalArgumentException missing = assertThrows(IllegalArgumentException.class,
                () -> program.process(Datagram.of(FLOW, new byte[40]), new TestContext(SESSION, Map.of("other", "x"))));
            assertEquals(name + ": the session has no parameter 'key': create it with --param key=HEX, 32, 48 or 64 "
                + "hex digits (a 128-, 192- or 256-bit AES key)", missing.getMessage());

            IllegalArgumentException shortKey = assertThrows(IllegalArgumentException.class,
                () -> program.process(Datagram.of(FLOW, new byte[40]), TestContext.keyed(SESSION, "0011223344")));
            assertEquals(name + ": session parameter 'key': an AES-GCM key is 32, 48 or 64 hex digits "
                + "(a 128-, 192- or 256-bit AES key), got 10 characters", shortKey.getMessage());

            String notHex = KEY_128.substring(0, 20) + "xy" + KEY_128.substring(22);
            IllegalArgumentException badChar = assertThrows(IllegalArgumentException.class,
                () -> program.process(Datagram.of(FLOW, new byte[40]), TestContext.keyed(SESSION, notHex)));
            assertEquals(name + ": session parameter 'key': an AES-GCM key is hex digits [0-9a-fA-F] only, found "
                + "another character at position 21 of 32", badChar.getMessage());
            assertTrue(!badChar.getMessage().contains(notHex), "the key never appears in a message");
        }
    }

    private static int indexOf(byte[] haystack, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= haystack.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (haystack[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }
}
