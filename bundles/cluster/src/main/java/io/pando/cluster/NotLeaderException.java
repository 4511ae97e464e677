package io.pando.cluster;

/** Thrown when a leader-only action is attempted on a member that is not the leader; the message names the leader. */
public class NotLeaderException extends IllegalStateException {

    private static final long serialVersionUID = 1L;

    /** @param message what was refused and who leads */
    public NotLeaderException(String message) {
        super(message);
    }
}
