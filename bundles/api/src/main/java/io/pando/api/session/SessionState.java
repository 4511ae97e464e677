package io.pando.api.session;

import org.osgi.annotation.versioning.ProviderType;

/** The life cycle of an active session, as the control unit sees it. */
@ProviderType
public enum SessionState {
    /** Admitted and being placed: programs are loading, flows are not forwarded yet. */
    ESTABLISHING,
    /** Forwarding: datagrams of its flows are processed. */
    ACTIVE,
    /** Moving to other units; datagrams are still processed, none is lost. */
    MIGRATING,
    /** Closed: no datagram of the session is accepted any more. */
    CLOSED
}
