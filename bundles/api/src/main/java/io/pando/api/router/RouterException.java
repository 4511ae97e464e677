package io.pando.api.router;

import org.osgi.annotation.versioning.ProviderType;

/** A valid request the router cannot serve now; the message says why. Nothing was changed. */
@ProviderType
public class RouterException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /** @param message why the request was refused */
    public RouterException(String message) {
        super(message);
    }

    /**
     * @param message why the request was refused
     * @param cause the underlying failure
     */
    public RouterException(String message, Throwable cause) {
        super(message, cause);
    }
}
