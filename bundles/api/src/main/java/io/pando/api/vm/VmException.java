package io.pando.api.vm;

import org.osgi.annotation.versioning.ProviderType;

/** A {@link VmDriver} operation failed; the message says why in terms an administrator can act on. */
@ProviderType
public class VmException extends Exception {

    private static final long serialVersionUID = 1L;

    /** @param message what failed and why */
    public VmException(String message) {
        super(message);
    }

    /**
     * @param message what failed and why
     * @param cause the underlying failure
     */
    public VmException(String message, Throwable cause) {
        super(message, cause);
    }
}
