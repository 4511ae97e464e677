package io.pando.artp.impl;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/** The ARTP/1 key schedule: HKDF-SHA256 (RFC 5869) from the 32-byte session key. */
final class Keys {

    private static final byte[] NO_SALT = new byte[32];

    private Keys() {
    }

    /** @return the key that tags handshake packets of a keyed session */
    static byte[] handshake(byte[] sessionKey) {
        return expand(extract(NO_SALT, sessionKey), "artp1 handshake");
    }

    /**
     * @return {client-to-server key, server-to-client key} for an established connection
     */
    static byte[][] traffic(byte[] sessionKey, byte[] clientNonce, byte[] serverNonce) {
        byte[] salt = new byte[clientNonce.length + serverNonce.length];
        System.arraycopy(clientNonce, 0, salt, 0, clientNonce.length);
        System.arraycopy(serverNonce, 0, salt, clientNonce.length, serverNonce.length);
        byte[] prk = extract(salt, sessionKey);
        return new byte[][] {expand(prk, "artp1 c2s"), expand(prk, "artp1 s2c")};
    }

    static byte[] extract(byte[] salt, byte[] ikm) {
        return hmac(salt, ikm);
    }

    /** HKDF-Expand for L = 32 (one block: T(1) = HMAC(PRK, info || 0x01)). */
    static byte[] expand(byte[] prk, String info) {
        byte[] in = info.getBytes(StandardCharsets.US_ASCII);
        byte[] msg = new byte[in.length + 1];
        System.arraycopy(in, 0, msg, 0, in.length);
        msg[in.length] = 1;
        return hmac(prk, msg);
    }

    static byte[] hmac(byte[] key, byte[] msg) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(key.length == 0 ? NO_SALT : key, "HmacSHA256"));
            return mac.doFinal(msg);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 unavailable", e);
        }
    }
}
