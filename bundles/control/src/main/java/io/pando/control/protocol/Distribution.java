package io.pando.control.protocol;

import org.osgi.annotation.versioning.ProviderType;

/**
 * How a session is spread over units: {@link Mode#ONE} unit, or {@link Mode#SPREAD} over k units.
 *
 * @param mode the mode
 * @param units k: 1 for ONE, 2 to {@value #MAX_UNITS} for SPREAD
 */
@ProviderType
public record Distribution(Mode mode, int units) {

    /** Most units a session may be spread over. */
    public static final int MAX_UNITS = 64;

    /** One unit. */
    public static final Distribution ONE = new Distribution(Mode.ONE, 1);

    /** The distribution modes, with their wire values. */
    public enum Mode {
        /** Every datagram of the session goes to one unit. */
        ONE,
        /** The datagrams are spread over k units. */
        SPREAD
    }

    /** @throws IllegalArgumentException if k does not fit the mode */
    public Distribution {
        if (mode == null) {
            throw new IllegalArgumentException("distribution mode missing");
        }
        if (mode == Mode.ONE && units != 1) {
            throw new IllegalArgumentException("distribution ONE has k = 1, got " + units);
        }
        if (mode == Mode.SPREAD && (units < 2 || units > MAX_UNITS)) {
            throw new IllegalArgumentException("distribution SPREAD has k in [2, " + MAX_UNITS + "], got " + units);
        }
    }

    /**
     * @param k units, 1 to {@value #MAX_UNITS}
     * @return ONE for 1, SPREAD over k otherwise
     */
    public static Distribution over(int k) {
        return k == 1 ? ONE : new Distribution(Mode.SPREAD, k);
    }
}
