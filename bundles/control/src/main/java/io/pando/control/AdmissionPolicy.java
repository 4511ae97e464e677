package io.pando.control;

import org.osgi.annotation.versioning.ConsumerType;

/**
 * Decides whether a session may be admitted. Implemented by vendors and registered as a service (property
 * {@code name}); the control unit uses the best-ranked one, or its default (quotas and CPU capacity, docs/control.md
 * section 6). Called with the control unit's reservations locked: must be quick and must not block.
 */
@ConsumerType
public interface AdmissionPolicy {

    /**
     * @param demand what the session asks for
     * @param view the units, reservations, the user's usage and quota
     * @return admission, or a refusal with the reason
     */
    AdmissionDecision admit(SessionDemand demand, ResourceView view);
}
