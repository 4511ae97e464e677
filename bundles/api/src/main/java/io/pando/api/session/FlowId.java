package io.pando.api.session;

import org.osgi.annotation.versioning.ProviderType;

/**
 * Identifies a flow within its session: an unsigned 32-bit number, the value ARTP carries in the FLOW control
 * field. Flow ids are only unique within one session.
 *
 * @param value the flow number, in {@code [0, 4294967295]}
 */
@ProviderType
public record FlowId(long value) {

    /** Largest flow number: 2<sup>32</sup> - 1. */
    public static final long MAX_VALUE = 0xFFFF_FFFFL;

    /**
     * @throws IllegalArgumentException if {@code value} is outside {@code [0, MAX_VALUE]}
     */
    public FlowId {
        if (value < 0 || value > MAX_VALUE) {
            throw new IllegalArgumentException("a flow id is in [0, " + MAX_VALUE + "], got " + value);
        }
    }

    /**
     * @param value the flow number, in {@code [0, MAX_VALUE]}
     * @return the flow id
     */
    public static FlowId of(long value) {
        return new FlowId(value);
    }

    @Override
    public String toString() {
        return Long.toString(value);
    }
}
