package io.pando.artp;

import java.util.Arrays;
import org.osgi.annotation.versioning.ProviderType;

/**
 * The answer of a {@link SessionAcceptor}: the session is accepted, with or without an authentication key.
 * With a key, every packet of the connection is authenticated with HMAC-SHA-256-128 under keys derived from it.
 */
@ProviderType
public final class SessionGrant {

    /** Accepted, packets protected by CRC32C only. */
    public static final SessionGrant UNKEYED = new SessionGrant(null);

    private final byte[] key;

    private SessionGrant(byte[] key) {
        this.key = key;
    }

    /**
     * @param key the session key, exactly 32 bytes (copied)
     * @return a grant whose packets are authenticated
     */
    public static SessionGrant keyed(byte[] key) {
        if (key == null || key.length != 32) {
            throw new IllegalArgumentException("an ARTP session key has 32 bytes, got "
                + (key == null ? "none" : key.length));
        }
        return new SessionGrant(key.clone());
    }

    /** @return a copy of the key, or {@code null} when unkeyed */
    public byte[] key() {
        return key == null ? null : key.clone();
    }

    public boolean isKeyed() {
        return key != null;
    }

    @Override
    public String toString() {
        return key == null ? "unkeyed" : "keyed(" + Arrays.hashCode(key) + ")";
    }
}
