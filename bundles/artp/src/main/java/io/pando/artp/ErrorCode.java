package io.pando.artp;

/** ARTP/1 error codes carried by CLOSE and RESET packets and reported to {@link ArtpHandler#closed}. */
public enum ErrorCode {
    NO_ERROR(0),
    PROTOCOL_VIOLATION(1),
    UNKNOWN_SESSION(2),
    AUTH_FAILED(3),
    IDLE_TIMEOUT(4),
    FLOW_CONTROL(5),
    APPLICATION_ABORT(6),
    UNKNOWN_CONNECTION(7),
    SERVER_BUSY(8),
    INTERNAL_ERROR(9);

    private static final ErrorCode[] BY_CODE = values();

    private final int code;

    ErrorCode(int code) {
        this.code = code;
    }

    /** @return the wire value */
    public int code() {
        return code;
    }

    /** @return the code for a wire value; unknown values map to {@link #PROTOCOL_VIOLATION} */
    public static ErrorCode of(int code) {
        return code >= 0 && code < BY_CODE.length ? BY_CODE[code] : PROTOCOL_VIOLATION;
    }
}
