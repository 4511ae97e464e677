package io.pando.ee.sandbox;

import java.io.IOException;

/** A frame from the unit that breaks the protocol: the sandbox says why on stderr and exits. */
final class ProtocolException extends IOException {

    private static final long serialVersionUID = 1L;

    ProtocolException(String message) {
        super(message);
    }
}
