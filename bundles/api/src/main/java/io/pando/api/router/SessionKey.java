package io.pando.api.router;

import java.security.MessageDigest;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Objects;
import org.osgi.annotation.versioning.ProviderType;

/**
 * A session's 32-byte key K (docs/artp.md, 16.2): a sender must know it to connect to a keyed session, and every
 * ARTP packet of its connection is authenticated under keys derived from it. Immutable: the bytes are copied in
 * and out. Its {@link #toString()} never shows the key.
 *
 * @since 1.3
 */
@ProviderType
public final class SessionKey {

    /** The length of a key in bytes. */
    public static final int LENGTH = 32;

    private final byte[] bytes;

    private SessionKey(byte[] bytes) {
        this.bytes = bytes;
    }

    /**
     * @param key exactly {@link #LENGTH} bytes (copied)
     * @return the key
     * @throws IllegalArgumentException when {@code key} is null or not 32 bytes long
     */
    public static SessionKey of(byte[] key) {
        if (key == null || key.length != LENGTH) {
            throw new IllegalArgumentException("a session key has exactly " + LENGTH + " bytes, got "
                + (key == null ? "none" : key.length));
        }
        return new SessionKey(key.clone());
    }

    /**
     * @param hex 64 hexadecimal digits (either case; surrounding white space is ignored)
     * @return the key
     * @throws IllegalArgumentException when {@code hex} is not 64 hexadecimal digits
     */
    public static SessionKey fromHex(String hex) {
        Objects.requireNonNull(hex, "hex");
        String h = hex.strip();
        if (h.length() != 2 * LENGTH) {
            throw new IllegalArgumentException("a session key is " + 2 * LENGTH + " hexadecimal digits (" + LENGTH
                + " bytes), got " + h.length() + " characters");
        }
        try {
            return new SessionKey(HexFormat.of().parseHex(h));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("a session key is " + 2 * LENGTH
                + " hexadecimal digits [0-9a-fA-F]: " + e.getMessage(), e);
        }
    }

    /** @return a copy of the 32 bytes */
    public byte[] bytes() {
        return bytes.clone();
    }

    /** @return the key as 64 lower-case hexadecimal digits (for its owner only: never log or list it) */
    public String toHex() {
        return HexFormat.of().formatHex(bytes);
    }

    /** Compares in time independent of where the keys differ. */
    @Override
    public boolean equals(Object o) {
        return o instanceof SessionKey k && MessageDigest.isEqual(bytes, k.bytes);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(bytes);
    }

    /** @return {@code SessionKey[32 bytes]}: never the key */
    @Override
    public String toString() {
        return "SessionKey[" + LENGTH + " bytes]";
    }
}
