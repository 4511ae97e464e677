package io.pando.ep.aesgcm.codec;

import java.security.GeneralSecurityException;
import java.util.Arrays;
import java.util.Objects;
import javax.crypto.AEADBadTagException;
import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * Encrypts and decrypts single datagrams in the format of the {@code aes-gcm-encrypt} and
 * {@code aes-gcm-decrypt} active programs:
 *
 * <pre>
 *  off          size  field
 *  0            4     salt: random, fixed per encrypting program instance
 *  4            8     counter: big-endian, 0, 1, 2, ... per instance, never reused
 *  12           n     ciphertext (as long as the plaintext)
 *  12 + n       16    GCM tag
 * </pre>
 *
 * The cipher is {@code AES/GCM/NoPadding} with a 128-bit tag and the 8-byte big-endian session id as additional
 * authenticated data (AAD). Bytes [0, 12) are the GCM nonce.
 *
 * <p>Stateless and thread safe: every call creates its own {@link Cipher}. Code on a hot path keeps a
 * {@code Cipher} per thread instead, as the programs do.
 */
public final class AesGcmCodec {

    /** The JCA transformation. */
    public static final String TRANSFORMATION = "AES/GCM/NoPadding";
    /** Bytes of the GCM nonce at the start of each datagram: salt and counter. */
    public static final int NONCE_LENGTH = 12;
    /** Bytes of the salt, the first part of the nonce. */
    public static final int SALT_LENGTH = 4;
    /** Bytes of the GCM tag at the end of each datagram. */
    public static final int TAG_LENGTH = 16;
    /** Bytes an encrypted datagram has more than its plaintext: nonce and tag. */
    public static final int OVERHEAD = NONCE_LENGTH + TAG_LENGTH;
    /** Bytes of the additional authenticated data: the session id. */
    public static final int AAD_LENGTH = 8;

    private AesGcmCodec() {
    }

    /**
     * Parses a key given as hex digits (either case, no separators).
     *
     * @param hex 32, 48 or 64 hex digits: a 128-, 192- or 256-bit AES key
     * @return the key bytes, owned by the caller
     * @throws IllegalArgumentException if {@code hex} is null, has another length or a non-hex character; the
     *         message names the rule but never repeats the key
     */
    public static byte[] parseKey(String hex) {
        if (hex == null || hex.isEmpty()) {
            throw new IllegalArgumentException("no AES-GCM key: give 32, 48 or 64 hex digits "
                + "(a 128-, 192- or 256-bit AES key)");
        }
        int n = hex.length();
        if (n != 32 && n != 48 && n != 64) {
            throw new IllegalArgumentException("an AES-GCM key is 32, 48 or 64 hex digits "
                + "(a 128-, 192- or 256-bit AES key), got " + n + " characters");
        }
        byte[] key = new byte[n / 2];
        for (int i = 0; i < n; i += 2) {
            key[i / 2] = (byte) (digit(hex, i) << 4 | digit(hex, i + 1));
        }
        return key;
    }

    private static int digit(String hex, int index) {
        char c = hex.charAt(index);
        if (c >= '0' && c <= '9') {
            return c - '0';
        }
        if (c >= 'a' && c <= 'f') {
            return c - 'a' + 10;
        }
        if (c >= 'A' && c <= 'F') {
            return c - 'A' + 10;
        }
        throw new IllegalArgumentException("an AES-GCM key is hex digits [0-9a-fA-F] only, found another character "
            + "at position " + (index + 1) + " of " + hex.length());
    }

    /**
     * @param salt the salt (first 4 bytes, big-endian)
     * @param counter the counter (last 8 bytes, big-endian, unsigned)
     * @return a fresh 12-byte nonce
     */
    public static byte[] nonce(int salt, long counter) {
        byte[] nonce = new byte[NONCE_LENGTH];
        putInt(nonce, 0, salt);
        putLong(nonce, SALT_LENGTH, counter);
        return nonce;
    }

    /**
     * Writes the additional authenticated data of a session: its id, 8 bytes big-endian.
     *
     * @param sessionId the session id (unsigned)
     * @param into an array of at least {@link #AAD_LENGTH} bytes; bytes [0, 8) are overwritten
     */
    public static void aad(long sessionId, byte[] into) {
        putLong(into, 0, sessionId);
    }

    /**
     * Encrypts one datagram.
     *
     * @param key a 16-, 24- or 32-byte AES key
     * @param sessionId the session id, authenticated but not sent
     * @param nonce 12 bytes that never occur twice with this key
     * @param plaintext the datagram's bytes
     * @return {@code nonce || ciphertext || tag}, {@link #OVERHEAD} bytes longer than {@code plaintext}
     * @throws IllegalArgumentException if the key or nonce has the wrong length
     */
    public static byte[] encrypt(byte[] key, long sessionId, byte[] nonce, byte[] plaintext) {
        Objects.requireNonNull(plaintext, "plaintext");
        if (nonce == null || nonce.length != NONCE_LENGTH) {
            throw new IllegalArgumentException("an AES-GCM nonce is " + NONCE_LENGTH + " bytes, got "
                + (nonce == null ? "none" : nonce.length + " bytes"));
        }
        byte[] out = new byte[OVERHEAD + plaintext.length];
        System.arraycopy(nonce, 0, out, 0, NONCE_LENGTH);
        try {
            Cipher cipher = cipher(Cipher.ENCRYPT_MODE, key, sessionId, nonce);
            int written = cipher.doFinal(plaintext, 0, plaintext.length, out, NONCE_LENGTH);
            assert written == plaintext.length + TAG_LENGTH;
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("AES-GCM encryption failed unexpectedly: " + e, e);
        }
        return out;
    }

    /**
     * Decrypts and authenticates one datagram.
     *
     * @param key a 16-, 24- or 32-byte AES key
     * @param sessionId the session id it was encrypted for
     * @param datagram {@code nonce || ciphertext || tag}
     * @return the plaintext, {@link #OVERHEAD} bytes shorter than {@code datagram}
     * @throws AEADBadTagException if the datagram does not authenticate (altered, truncated, another key or
     *         another session) or is shorter than {@link #OVERHEAD}
     * @throws IllegalArgumentException if the key has the wrong length
     */
    public static byte[] decrypt(byte[] key, long sessionId, byte[] datagram) throws AEADBadTagException {
        return decrypt(key, sessionId, datagram, 0, datagram.length);
    }

    /**
     * Like {@link #decrypt(byte[], long, byte[])} for {@code length} bytes of {@code datagram} from
     * {@code offset}.
     */
    public static byte[] decrypt(byte[] key, long sessionId, byte[] datagram, int offset, int length)
        throws AEADBadTagException {
        Objects.checkFromIndexSize(offset, length, datagram.length);
        if (length < OVERHEAD) {
            throw new AEADBadTagException("an AES-GCM datagram has at least " + OVERHEAD
                + " bytes (nonce and tag), got " + length);
        }
        byte[] nonce = Arrays.copyOfRange(datagram, offset, offset + NONCE_LENGTH);
        try {
            Cipher cipher = cipher(Cipher.DECRYPT_MODE, key, sessionId, nonce);
            return cipher.doFinal(datagram, offset + NONCE_LENGTH, length - NONCE_LENGTH);
        } catch (AEADBadTagException e) {
            throw e;
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("AES-GCM decryption failed unexpectedly: " + e, e);
        }
    }

    private static Cipher cipher(int mode, byte[] key, long sessionId, byte[] nonce) throws GeneralSecurityException {
        if (key == null || (key.length != 16 && key.length != 24 && key.length != 32)) {
            throw new IllegalArgumentException("an AES-GCM key is 16, 24 or 32 bytes, got "
                + (key == null ? "none" : key.length + " bytes"));
        }
        Cipher cipher = Cipher.getInstance(TRANSFORMATION);
        cipher.init(mode, new SecretKeySpec(key, "AES"), new GCMParameterSpec(TAG_LENGTH * 8, nonce));
        byte[] aad = new byte[AAD_LENGTH];
        aad(sessionId, aad);
        cipher.updateAAD(aad);
        return cipher;
    }

    private static void putInt(byte[] b, int at, int v) {
        for (int i = 0; i < 4; i++) {
            b[at + i] = (byte) (v >>> (24 - 8 * i));
        }
    }

    private static void putLong(byte[] b, int at, long v) {
        for (int i = 0; i < 8; i++) {
            b[at + i] = (byte) (v >>> (56 - 8 * i));
        }
    }
}
