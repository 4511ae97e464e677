package io.pando.ee.api;

/**
 * A {@link ProgramStore} operation that could not be done; nothing was changed. The message is a sentence for
 * the administrator: it names the program, the bundle or the conflict (for example
 * {@code program name 'echo' is already provided by stored program 'other' (bundle 42)}).
 */
public class ProgramStoreException extends Exception {

    private static final long serialVersionUID = 1L;

    /** @param message what went wrong */
    public ProgramStoreException(String message) {
        super(message);
    }

    /**
     * @param message what went wrong
     * @param cause the underlying failure
     */
    public ProgramStoreException(String message, Throwable cause) {
        super(message, cause);
    }
}
