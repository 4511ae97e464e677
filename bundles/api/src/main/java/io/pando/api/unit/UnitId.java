package io.pando.api.unit;

import java.util.regex.Pattern;
import org.osgi.annotation.versioning.ProviderType;

/**
 * Names a parallel active-router unit cluster-wide, e.g. {@code "node-a.unit-1"}. A node may host several
 * units, so the name usually combines the node and the unit.
 *
 * @param value 1 to 64 characters: ASCII letters, digits, {@code . _ : -}, starting with a letter or digit
 */
@ProviderType
public record UnitId(String value) {

    private static final Pattern SYNTAX = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._:-]{0,63}");

    /**
     * @throws NullPointerException if {@code value} is null
     * @throws IllegalArgumentException if {@code value} does not follow the syntax
     */
    public UnitId {
        if (value == null) {
            throw new NullPointerException("value");
        }
        if (!SYNTAX.matcher(value).matches()) {
            throw new IllegalArgumentException("a unit id has 1 to 64 characters [A-Za-z0-9._:-] and starts with "
                + "a letter or digit, got '" + value + "'");
        }
    }

    /**
     * @param value the unit name
     * @return the unit id
     */
    public static UnitId of(String value) {
        return new UnitId(value);
    }

    @Override
    public String toString() {
        return value;
    }
}
