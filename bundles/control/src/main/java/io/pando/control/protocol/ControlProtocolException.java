package io.pando.control.protocol;

import org.osgi.annotation.versioning.ProviderType;

/**
 * A control message that breaks a rule of the protocol, or a request the control unit refuses. Carries the request
 * id (0 when it could not be read) and the refusal code to answer with.
 */
@ProviderType
public class ControlProtocolException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    private final long requestId;
    private final transient RefusalCode code;

    /**
     * @param requestId the request id, 0 if unknown
     * @param code the refusal code
     * @param message what is wrong, for a person
     */
    public ControlProtocolException(long requestId, RefusalCode code, String message) {
        super(message);
        this.requestId = requestId;
        this.code = code;
    }

    /** @return the request id, 0 if it could not be read */
    public long requestId() {
        return requestId;
    }

    /** @return the refusal code */
    public RefusalCode code() {
        return code;
    }
}
