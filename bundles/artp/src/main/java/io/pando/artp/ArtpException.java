package io.pando.artp;

/** An ARTP operation failed; {@link #code()} says why in protocol terms. */
public class ArtpException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final ErrorCode code;

    public ArtpException(ErrorCode code, String message) {
        super(message);
        this.code = code;
    }

    public ArtpException(ErrorCode code, String message, Throwable cause) {
        super(message, cause);
        this.code = code;
    }

    public ErrorCode code() {
        return code;
    }
}
