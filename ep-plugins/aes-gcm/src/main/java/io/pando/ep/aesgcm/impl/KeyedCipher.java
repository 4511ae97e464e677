package io.pando.ep.aesgcm.impl;

import io.pando.api.program.ProgramContext;
import io.pando.api.session.SessionId;
import io.pando.ep.aesgcm.codec.AesGcmCodec;
import java.nio.ByteBuffer;
import java.security.GeneralSecurityException;
import java.util.Arrays;
import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * What both programs keep per instance: one {@link Cipher}, the session's key and associated data (taken from
 * the {@link ProgramContext} on first use and again only if they change) and one output buffer that grows to
 * the largest datagram seen. Not thread safe: owned by one program instance.
 */
final class KeyedCipher {

    /** The program parameter that carries the key. */
    static final String KEY_PARAMETER = "key";

    private static final int INITIAL_CAPACITY = 2048;

    private final String program;
    private final Cipher cipher;
    private final byte[] aad = new byte[AesGcmCodec.AAD_LENGTH];
    private String keyHex;
    private SecretKeySpec key;
    private SessionId session;
    private ByteBuffer out = ByteBuffer.allocate(INITIAL_CAPACITY);

    /**
     * @param program the program's name, for messages
     */
    KeyedCipher(String program) {
        this.program = program;
        try {
            this.cipher = Cipher.getInstance(AesGcmCodec.TRANSFORMATION);
        } catch (GeneralSecurityException e) {
            // AES/GCM/NoPadding is mandatory in every Java SE runtime
            throw new IllegalStateException(program + ": " + AesGcmCodec.TRANSFORMATION + " is not available: " + e, e);
        }
    }

    /**
     * Initializes the cipher for one datagram with the session's key and associated data.
     *
     * @param ctx the program context (key parameter and session)
     * @param mode {@link Cipher#ENCRYPT_MODE} or {@link Cipher#DECRYPT_MODE}
     * @param nonce the 12-byte nonce (copied by the cipher)
     * @return the cipher, ready for {@code doFinal}
     * @throws IllegalArgumentException if the session has no valid key parameter
     */
    Cipher init(ProgramContext ctx, int mode, byte[] nonce) throws GeneralSecurityException {
        SecretKeySpec k = key(ctx);
        SessionId s = ctx.session();
        if (!s.equals(session)) {
            AesGcmCodec.aad(s.value(), aad);
            session = s;
        }
        cipher.init(mode, k, new GCMParameterSpec(AesGcmCodec.TAG_LENGTH * 8, nonce));
        cipher.updateAAD(aad);
        return cipher;
    }

    private SecretKeySpec key(ProgramContext ctx) {
        String hex = ctx.parameters().get(KEY_PARAMETER);
        if (hex == keyHex && key != null) {
            return key;
        }
        if (key == null || hex == null || !hex.equals(keyHex)) {
            byte[] bytes = keyBytes(program, ctx.parameters());
            key = new SecretKeySpec(bytes, "AES");
            Arrays.fill(bytes, (byte) 0);
        }
        keyHex = hex;
        return key;
    }

    /**
     * The key a session's parameters carry.
     *
     * @param program the program's name, for messages
     * @throws IllegalArgumentException if the key parameter is missing or malformed (the message never
     *     contains the key)
     */
    static byte[] keyBytes(String program, java.util.Map<String, String> parameters) {
        String hex = parameters.get(KEY_PARAMETER);
        if (hex == null) {
            throw new IllegalArgumentException(program + ": the session has no parameter '" + KEY_PARAMETER
                + "': create it with --param " + KEY_PARAMETER + "=HEX, 32, 48 or 64 hex digits "
                + "(a 128-, 192- or 256-bit AES key)");
        }
        try {
            return AesGcmCodec.parseKey(hex);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(program + ": session parameter '" + KEY_PARAMETER + "': "
                + e.getMessage(), e);
        }
    }

    /**
     * @param capacity bytes needed
     * @return the output buffer, cleared, with at least {@code capacity} bytes; the same buffer until a larger
     *         one is needed
     */
    ByteBuffer output(int capacity) {
        ByteBuffer b = out;
        if (b.capacity() < capacity) {
            b = ByteBuffer.allocate(Math.max(capacity, (int) Math.min(Integer.MAX_VALUE - 8, 2L * b.capacity())));
            out = b;
        }
        b.clear();
        return b;
    }

    /** @return the output buffer's capacity; for tests */
    int outputCapacity() {
        return out.capacity();
    }
}
