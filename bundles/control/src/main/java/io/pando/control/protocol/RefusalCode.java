package io.pando.control.protocol;

import org.osgi.annotation.versioning.ProviderType;

/** Why the control unit refused a request (docs/control.md, section 5). */
@ProviderType
public enum RefusalCode {
    /** The request breaks a rule of the protocol; the reason names the field. */
    MALFORMED(1),
    /** MESSAGE names no request type. */
    UNKNOWN_MESSAGE(2),
    /** Wrong user or password. */
    AUTH_FAILED(3),
    /** Unknown or expired token. */
    TOKEN_INVALID(4),
    /** A per-user quota would be exceeded. */
    QUOTA(5),
    /** The units cannot take the request. */
    CAPACITY(6),
    /** The session is not the caller's (or does not exist). */
    NOT_YOURS(7),
    /** Well formed but impossible (unknown program, duplicate name, ...). */
    INVALID(8),
    /** The router cannot serve now. */
    UNAVAILABLE(9),
    /** Too many requests in progress. */
    BUSY(10),
    /** An unexpected error in the control unit. */
    INTERNAL(11),
    /**
     * In a cluster: this node does not lead the control unit, or its partition has no quorum; the reason names the
     * leader (or says "no quorum"). Ask another node (since 1.1).
     */
    NOT_LEADER(12);

    private final int code;

    RefusalCode(int code) {
        this.code = code;
    }

    /** @return the code on the wire */
    public int code() {
        return code;
    }

    /**
     * @param code a wire code
     * @return the refusal code, or {@code null} if unassigned
     */
    public static RefusalCode of(int code) {
        for (RefusalCode c : values()) {
            if (c.code == code) {
                return c;
            }
        }
        return null;
    }
}
