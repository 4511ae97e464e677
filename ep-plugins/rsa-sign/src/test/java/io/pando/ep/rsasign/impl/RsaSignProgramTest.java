package io.pando.ep.rsasign.impl;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pando.api.program.Datagram;
import io.pando.api.program.ProgramContext;
import io.pando.api.session.FlowId;
import io.pando.api.session.SessionId;
import io.pando.ep.rsasign.codec.RsaSignCodec;
import java.nio.ByteBuffer;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.interfaces.RSAPrivateCrtKey;
import java.security.interfaces.RSAPublicKey;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The program driven directly, as the router would (one datagram at a time), and checked with the codec. */
class RsaSignProgramTest {

    private static final FlowId FLOW = FlowId.of(3);
    private static final long SESSION = 0x0123_4567_89AB_CDEFL;
    private static KeyPair pair2048;
    private static KeyPair pair3072;

    @BeforeAll
    static void keys() throws Exception {
        pair2048 = pair(2048);
        pair3072 = pair(3072);
    }

    private static KeyPair pair(int bits) throws Exception {
        KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
        g.initialize(bits);
        return g.generateKeyPair();
    }

    private static Ctx ctx(long session, KeyPair pair) {
        return new Ctx(session, Map.of(RsaSignProgram.KEY_PARAMETER, RsaSignCodec.encode(pair.getPrivate())));
    }

    private static byte[] bytes(int length, long seed) {
        byte[] b = new byte[length];
        new Random(seed).nextBytes(b);
        return b;
    }

    private static int verify(KeyPair pair, long session, byte[] signed) {
        return RsaSignCodec.verify((RSAPublicKey) pair.getPublic(), session, signed, 0, signed.length);
    }

    @Test
    void signsWhatTheCodecVerifiesAndTheCodecSignsWhatVerifies() throws Exception {
        for (KeyPair pair : List.of(pair2048, pair3072)) {
            RsaSignProgram program = new RsaSignProgram();
            Ctx ctx = ctx(SESSION, pair);
            int m = RsaSignCodec.signatureLength((RSAPublicKey) pair.getPublic());
            for (int length : new int[] {0, 1, 1000, 5000, 70_000}) {
                byte[] payload = bytes(length, length);
                program.process(Datagram.of(FLOW, payload), ctx);
                Datagram signed = ctx.emitted.remove(0);
                assertEquals(FLOW, signed.flow());
                assertEquals(length + m, signed.length());
                byte[] b = signed.copyData();
                assertArrayEquals(payload, Arrays.copyOf(b, length), "the payload is unchanged");
                assertEquals(length, verify(pair, SESSION, b));
            }
            byte[] byCodec = RsaSignCodec.sign((RSAPrivateCrtKey) pair.getPrivate(), SESSION, bytes(100, 1));
            assertEquals(100, verify(pair, SESSION, byCodec));
        }
    }

    @Test
    void readsTheInputFromItsPositionOnly() throws Exception {
        RsaSignProgram program = new RsaSignProgram();
        Ctx ctx = ctx(SESSION, pair2048);
        ByteBuffer backing = ByteBuffer.allocateDirect(100);
        backing.put(bytes(100, 9)).position(10).limit(60);
        program.process(Datagram.wrap(FLOW, false, backing), ctx);
        byte[] signed = ctx.emitted.remove(0).copyData();
        assertEquals(50, verify(pair2048, SESSION, signed));
        assertArrayEquals(Arrays.copyOfRange(bytes(100, 9), 10, 60), Arrays.copyOf(signed, 50));
        assertEquals(10, backing.position(), "the input is not consumed");
    }

    @Test
    void everyAlterationFailsToVerify() throws Exception {
        RsaSignProgram program = new RsaSignProgram();
        Ctx ctx = ctx(SESSION, pair2048);
        program.process(Datagram.of(FLOW, bytes(300, 4)), ctx);
        byte[] signed = ctx.emitted.remove(0).copyData();
        assertEquals(300, verify(pair2048, SESSION, signed));
        for (int at : new int[] {0, 150, 299, 300, 400, signed.length - 1}) {
            byte[] altered = signed.clone();
            altered[at] ^= 0x10;
            assertEquals(-1, verify(pair2048, SESSION, altered), "bit flipped at " + at);
        }
        assertEquals(-1, verify(pair2048, SESSION + 1, signed), "another session");
        assertEquals(-1, verify(pair3072, SESSION, signed), "another key");
        assertEquals(-1, verify(pair2048, SESSION, Arrays.copyOf(signed, signed.length - 1)), "truncated");
        assertEquals(-1, verify(pair2048, SESSION, Arrays.copyOf(signed, 100)), "shorter than a signature");
    }

    @Test
    void eachDatagramIsSignedOnItsOwn() throws Exception {
        // the Signature is reused: a datagram's signature must not depend on the ones before it
        RsaSignProgram program = new RsaSignProgram();
        Ctx ctx = ctx(SESSION, pair2048);
        byte[] payload = bytes(64, 5);
        program.process(Datagram.of(FLOW, payload), ctx);
        program.process(Datagram.of(FLOW, bytes(500, 6)), ctx);
        program.process(Datagram.of(FLOW, payload), ctx);
        byte[] first = ctx.emitted.get(0).copyData();
        byte[] third = ctx.emitted.get(2).copyData();
        assertArrayEquals(first, third, "PKCS#1 v1.5 signatures are deterministic");
        assertEquals(500, verify(pair2048, SESSION, ctx.emitted.get(1).copyData()));
    }

    @Test
    void takesANewKeyWhenTheParametersChange() throws Exception {
        RsaSignProgram program = new RsaSignProgram();
        program.process(Datagram.of(FLOW, bytes(10, 1)), ctx(SESSION, pair2048));
        Ctx other = ctx(SESSION, pair3072);
        program.process(Datagram.of(FLOW, bytes(10, 1)), other);
        assertEquals(10, verify(pair3072, SESSION, other.emitted.get(0).copyData()));
    }

    @Test
    void refusesMissingMalformedAndWeakKeysWithoutShowingThem() throws Exception {
        RsaSignProgram program = new RsaSignProgram();
        IllegalArgumentException missing = assertThrows(IllegalArgumentException.class, () -> program.validate(Map.of()));
        assertTrue(missing.getMessage().contains("no parameter 'private-key'"), missing.getMessage());

        String notBase64 = "this is not base64!";
        IllegalArgumentException bad = assertThrows(IllegalArgumentException.class,
            () -> program.validate(Map.of(RsaSignProgram.KEY_PARAMETER, notBase64)));
        assertTrue(bad.getMessage().contains("not base64"), bad.getMessage());

        String publicInstead = RsaSignCodec.encode(pair2048.getPublic());
        IllegalArgumentException wrong = assertThrows(IllegalArgumentException.class,
            () -> program.validate(Map.of(RsaSignProgram.KEY_PARAMETER, publicInstead)));
        assertTrue(wrong.getMessage().contains("not an RSA private key"), wrong.getMessage());
        assertFalse(wrong.getMessage().contains(publicInstead.substring(40, 80)), "the key text is never repeated");

        String weak = RsaSignCodec.encode(pair(1024).getPrivate());
        IllegalArgumentException small = assertThrows(IllegalArgumentException.class,
            () -> program.validate(Map.of(RsaSignProgram.KEY_PARAMETER, weak)));
        assertTrue(small.getMessage().contains("2048 to 4096 bits, got 1024"), small.getMessage());
        assertFalse(small.getMessage().contains(weak.substring(40, 80)));

        IllegalArgumentException tooLong = assertThrows(IllegalArgumentException.class,
            () -> program.validate(Map.of(RsaSignProgram.KEY_PARAMETER, "A".repeat(5000))));
        assertTrue(tooLong.getMessage().contains("at most 4096"), tooLong.getMessage());

        // a datagram of a session without a usable key throws (the router counts a program error) and emits nothing
        Ctx keyless = new Ctx(SESSION, Map.of());
        assertThrows(IllegalArgumentException.class, () -> program.process(Datagram.of(FLOW, bytes(5, 1)), keyless));
        assertTrue(keyless.emitted.isEmpty());
    }

    @Test
    void passesControlDatagramsThroughWithoutAKey() throws Exception {
        Ctx keyless = new Ctx(SESSION, Map.of());
        byte[] control = bytes(20, 8);
        new RsaSignProgram().process(Datagram.wrap(FLOW, true, ByteBuffer.wrap(control)), keyless);
        assertArrayEquals(control, keyless.emitted.get(0).copyData());
    }

    @Test
    void reusesItsOutputBufferAndGrowsItOnlyWhenNeeded() throws Exception {
        RsaSignProgram program = new RsaSignProgram();
        Ctx ctx = ctx(SESSION, pair2048);
        program.process(Datagram.of(FLOW, bytes(1000, 1)), ctx);
        int capacity = program.outputCapacity();
        for (int i = 0; i < 20; i++) {
            program.process(Datagram.of(FLOW, bytes(1000, i)), ctx);
        }
        assertEquals(capacity, program.outputCapacity());
        program.process(Datagram.of(FLOW, bytes(10_000, 2)), ctx);
        assertTrue(program.outputCapacity() >= 10_000 + 256);
        assertEquals(10_000, verify(pair2048, SESSION, ctx.emitted.get(21).copyData()));
    }

    /** A ProgramContext of one session that keeps copies of what the program emits. */
    private static final class Ctx implements ProgramContext {
        final List<Datagram> emitted = new ArrayList<>();
        private final SessionId session;
        private final Map<String, String> parameters;

        Ctx(long session, Map<String, String> parameters) {
            this.session = new SessionId(session);
            this.parameters = parameters;
        }

        @Override
        public SessionId session() {
            return session;
        }

        @Override
        public void emit(FlowId flow, ByteBuffer data) {
            ByteBuffer copy = ByteBuffer.allocate(data.remaining());
            copy.put(data.duplicate()).flip();
            emitted.add(Datagram.wrap(flow, false, copy));
        }

        @Override
        public Optional<byte[]> state(String key) {
            return Optional.empty();
        }

        @Override
        public void putState(String key, byte[] value) {
            throw new AssertionError("rsa-sign keeps no state");
        }

        @Override
        public void sendControl(FlowId flow, ByteBuffer data) {
            throw new AssertionError("rsa-sign sends no control information");
        }

        @Override
        public Map<String, String> parameters() {
            return parameters;
        }

        @Override
        public List<FlowId> flows() {
            return List.of(FlowId.of(0));
        }

        @Override
        public void setTimer(long timer, long delayMicros) {
            throw new AssertionError("rsa-sign sets no timers");
        }

        @Override
        public void cancelTimer(long timer) {
            throw new AssertionError("rsa-sign sets no timers");
        }
    }
}
