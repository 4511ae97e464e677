package io.pando.ee.sandbox.launch;

import java.io.IOException;

/** A ring's counter or record that its writer could not have produced: the other side broke the protocol. */
public final class RingException extends IOException {

    private static final long serialVersionUID = 1L;

    public RingException(String message) {
        super(message);
    }
}
