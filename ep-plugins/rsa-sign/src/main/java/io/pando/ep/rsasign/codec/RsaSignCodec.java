package io.pando.ep.rsasign.codec;

import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.Signature;
import java.security.SignatureException;
import java.security.interfaces.RSAKey;
import java.security.interfaces.RSAPrivateCrtKey;
import java.security.interfaces.RSAPublicKey;
import java.security.spec.PKCS8EncodedKeySpec;
import java.security.spec.X509EncodedKeySpec;
import java.util.Base64;
import java.util.Objects;

/**
 * Signs and verifies single datagrams in the format of the {@code rsa-sign} active program:
 *
 * <pre>
 *  off   size  field
 *  0     n     the payload, unchanged
 *  n     m     the signature: SHA256withRSA (RSASSA-PKCS1-v1_5) over session id (8 bytes, big-endian) || payload;
 *              m is the key's modulus in bytes (256 for a 2048-bit key)
 * </pre>
 *
 * The session id is signed but not sent, so a datagram of one session does not verify in another. Keys travel as
 * base64 (standard alphabet, padding optional) of their DER encoding: the private key as PKCS#8, the public key as
 * X.509 SubjectPublicKeyInfo ({@code openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -outform DER},
 * {@code openssl pkey -pubout -outform DER}). RSA moduli of {@value #MIN_BITS} to {@value #MAX_BITS} bits.
 *
 * <p>Stateless and thread safe: every call creates its own {@link Signature}. Code on a hot path keeps one per
 * thread instead, as the program does.
 */
public final class RsaSignCodec {

    /** The JCA signature algorithm. */
    public static final String ALGORITHM = "SHA256withRSA";
    /** Bytes of the signed prefix that is not sent: the session id. */
    public static final int SESSION_LENGTH = 8;
    /** Smallest RSA modulus accepted, in bits. */
    public static final int MIN_BITS = 2048;
    /** Largest RSA modulus accepted, in bits. */
    public static final int MAX_BITS = 4096;
    /** Longest base64 key text accepted (a 4096-bit PKCS#8 key with every optional field is under 3,300). */
    public static final int MAX_KEY_TEXT = 4096;

    private RsaSignCodec() {
    }

    /**
     * Parses a private key.
     *
     * @param base64 the PKCS#8 DER encoding of an RSA private key with its CRT values, in base64
     * @return the key
     * @throws IllegalArgumentException if the text is missing, too long, not base64, not an RSA PKCS#8 key, or
     *         the modulus is outside [{@value #MIN_BITS}, {@value #MAX_BITS}] bits; the message never repeats the
     *         key
     */
    public static RSAPrivateCrtKey parsePrivateKey(String base64) {
        byte[] der = decode(base64, "private key", "PKCS#8");
        try {
            PrivateKey k = KeyFactory.getInstance("RSA").generatePrivate(new PKCS8EncodedKeySpec(der));
            if (!(k instanceof RSAPrivateCrtKey crt)) {
                throw new IllegalArgumentException("an RSA private key must carry its CRT values (PKCS#8 as "
                    + "openssl genpkey writes it)");
            }
            checkSize(crt);
            return crt;
        } catch (GeneralSecurityException e) {
            throw new IllegalArgumentException("not an RSA private key in PKCS#8 DER (" + e.getClass().getSimpleName()
                + ")");
        } finally {
            java.util.Arrays.fill(der, (byte) 0);
        }
    }

    /**
     * Parses a public key.
     *
     * @param base64 the X.509 SubjectPublicKeyInfo DER encoding of an RSA public key, in base64
     * @return the key
     * @throws IllegalArgumentException if the text is missing, too long, not base64, not an RSA public key, or
     *         the modulus is outside [{@value #MIN_BITS}, {@value #MAX_BITS}] bits
     */
    public static RSAPublicKey parsePublicKey(String base64) {
        byte[] der = decode(base64, "public key", "X.509 SubjectPublicKeyInfo");
        try {
            PublicKey k = KeyFactory.getInstance("RSA").generatePublic(new X509EncodedKeySpec(der));
            RSAPublicKey rsa = (RSAPublicKey) k;
            checkSize(rsa);
            return rsa;
        } catch (GeneralSecurityException | ClassCastException e) {
            throw new IllegalArgumentException("not an RSA public key in X.509 DER (" + e.getClass().getSimpleName()
                + ")");
        }
    }

    /** @return the key as base64 of its standard DER encoding (PKCS#8 or X.509), as the parse methods read it */
    public static String encode(java.security.Key key) {
        return Base64.getEncoder().encodeToString(key.getEncoded());
    }

    /** @return bytes of a signature made with {@code key}: its modulus length */
    public static int signatureLength(RSAKey key) {
        return (key.getModulus().bitLength() + 7) / 8;
    }

    /**
     * Writes the signed prefix of a session: its id, 8 bytes big-endian.
     *
     * @param sessionId the session id (unsigned)
     * @param into an array of at least {@link #SESSION_LENGTH} bytes; bytes [0, 8) are overwritten
     */
    public static void sessionPrefix(long sessionId, byte[] into) {
        for (int i = 0; i < SESSION_LENGTH; i++) {
            into[i] = (byte) (sessionId >>> (56 - 8 * i));
        }
    }

    /**
     * Signs one datagram.
     *
     * @return {@code payload || signature}
     */
    public static byte[] sign(RSAPrivateCrtKey key, long sessionId, byte[] payload) {
        Objects.requireNonNull(payload, "payload");
        int m = signatureLength(key);
        byte[] out = java.util.Arrays.copyOf(payload, payload.length + m);
        try {
            Signature s = Signature.getInstance(ALGORITHM);
            s.initSign(key);
            byte[] prefix = new byte[SESSION_LENGTH];
            sessionPrefix(sessionId, prefix);
            s.update(prefix);
            s.update(payload);
            int n = s.sign(out, payload.length, m);
            assert n == m;
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("RSA signing failed unexpectedly: " + e, e);
        }
        return out;
    }

    /**
     * Verifies one datagram.
     *
     * @param key the public key of the signing session's private key
     * @param sessionId the session it was signed for
     * @param datagram {@code payload || signature}
     * @param offset where the datagram starts in {@code datagram}
     * @param length the datagram's length
     * @return the payload's length (it starts at {@code offset}); -1 if the datagram is shorter than a signature or
     *         does not verify (altered, truncated, another key or another session)
     */
    public static int verify(RSAPublicKey key, long sessionId, byte[] datagram, int offset, int length) {
        Objects.checkFromIndexSize(offset, length, datagram.length);
        try {
            Signature s = Signature.getInstance(ALGORITHM);
            s.initVerify(key);
            return verify(s, signatureLength(key), sessionId, new byte[SESSION_LENGTH], datagram, offset, length);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("RSA verification failed unexpectedly: " + e, e);
        }
    }

    /**
     * {@link #verify(RSAPublicKey, long, byte[], int, int)} with a {@link Signature} initialized for verifying
     * and a scratch array of {@link #SESSION_LENGTH} bytes, both reused by the caller.
     */
    public static int verify(Signature verifier, int signatureLength, long sessionId, byte[] scratch,
        byte[] datagram, int offset, int length) {
        int n = length - signatureLength;
        if (n < 0) {
            return -1;
        }
        try {
            sessionPrefix(sessionId, scratch);
            verifier.update(scratch, 0, SESSION_LENGTH);
            verifier.update(datagram, offset, n);
            return verifier.verify(datagram, offset + n, signatureLength) ? n : -1;
        } catch (SignatureException e) {
            return -1;
        }
    }

    private static byte[] decode(String base64, String what, String format) {
        if (base64 == null || base64.isBlank()) {
            throw new IllegalArgumentException("no RSA " + what + ": give the base64 of its " + format + " DER "
                + "encoding");
        }
        if (base64.length() > MAX_KEY_TEXT) {
            throw new IllegalArgumentException("an RSA " + what + " is at most " + MAX_KEY_TEXT + " base64 "
                + "characters, got " + base64.length());
        }
        try {
            return Base64.getDecoder().decode(base64.strip());
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("an RSA " + what + " is base64 of its " + format + " DER encoding; "
                + "the text is not base64");
        }
    }

    private static void checkSize(RSAKey key) {
        int bits = key.getModulus().bitLength();
        if (bits < MIN_BITS || bits > MAX_BITS) {
            throw new IllegalArgumentException("an RSA key has " + MIN_BITS + " to " + MAX_BITS + " bits, got "
                + bits);
        }
    }
}
