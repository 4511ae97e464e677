package io.pando.ee.sandbox;

/** The sandbox could not start its program; the message is the FAILED frame's reason. */
final class StartupException extends Exception {

    private static final long serialVersionUID = 1L;

    StartupException(String reason) {
        super(reason);
    }

    StartupException(String reason, Throwable cause) {
        super(reason, cause);
    }
}
