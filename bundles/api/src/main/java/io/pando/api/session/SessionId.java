package io.pando.api.session;

import org.osgi.annotation.versioning.ProviderType;

/**
 * Identifies an active session router-wide. The value is an unsigned 64-bit number, the same number ARTP
 * carries when it binds a connection to a session; 0 is reserved for "no session" and is rejected.
 *
 * @param value the session number, never 0 (compared as unsigned)
 */
@ProviderType
public record SessionId(long value) {

    /**
     * @throws IllegalArgumentException if {@code value} is 0
     */
    public SessionId {
        if (value == 0) {
            throw new IllegalArgumentException("session id 0 is reserved for 'no session'");
        }
    }

    /**
     * Parses the form produced by {@link #toString()}: an unsigned decimal number.
     *
     * @param text the text, e.g. {@code "42"}
     * @return the session id
     * @throws IllegalArgumentException if the text is not an unsigned 64-bit decimal number or is 0
     */
    public static SessionId parse(String text) {
        if (text == null || text.isEmpty()) {
            throw new IllegalArgumentException("a session id is an unsigned decimal number, got none");
        }
        try {
            return new SessionId(Long.parseUnsignedLong(text));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("a session id is an unsigned decimal number, got '" + text + "'", e);
        }
    }

    /** @return the unsigned decimal form, e.g. {@code "42"} */
    @Override
    public String toString() {
        return Long.toUnsignedString(value);
    }
}
