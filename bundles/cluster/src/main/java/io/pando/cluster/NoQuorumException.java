package io.pando.cluster;

/**
 * Thrown when an action needs quorum and this node's partition has too few members: the node is cut off with a
 * minority, or too few nodes run. The message says what was refused and how many members are visible and needed.
 */
public class NoQuorumException extends IllegalStateException {

    private static final long serialVersionUID = 1L;

    /** @param message what was refused and why */
    public NoQuorumException(String message) {
        super(message);
    }

    /**
     * @param message what was refused and why
     * @param cause the cluster engine's refusal
     */
    public NoQuorumException(String message, Throwable cause) {
        super(message, cause);
    }
}
