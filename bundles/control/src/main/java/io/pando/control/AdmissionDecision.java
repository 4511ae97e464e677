package io.pando.control;

import java.util.Objects;
import org.osgi.annotation.versioning.ProviderType;

/**
 * The answer of an {@link AdmissionPolicy}.
 *
 * @param admitted whether the session may be created
 * @param refusal why not (null when admitted)
 * @param reason for a person: what would be exceeded, with the numbers (empty when admitted)
 */
@ProviderType
public record AdmissionDecision(boolean admitted, Refusal refusal, String reason) {

    /** The admission refusals. */
    public enum Refusal {
        /** A per-user quota would be exceeded. */
        QUOTA,
        /** The router's units cannot take it. */
        CAPACITY
    }

    private static final AdmissionDecision ADMIT = new AdmissionDecision(true, null, "");

    /** Checks consistency. */
    public AdmissionDecision {
        Objects.requireNonNull(reason, "reason");
        if (admitted != (refusal == null)) {
            throw new IllegalArgumentException("a refusal has a reason code, an admission none");
        }
    }

    /** @return an admission */
    public static AdmissionDecision admit() {
        return ADMIT;
    }

    /**
     * @param refusal why, as a code
     * @param reason why, for a person
     * @return a refusal
     */
    public static AdmissionDecision refuse(Refusal refusal, String reason) {
        return new AdmissionDecision(false, Objects.requireNonNull(refusal, "refusal"), reason);
    }
}
