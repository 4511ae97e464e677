package io.pando.api.vm;

import java.util.regex.Pattern;
import org.osgi.annotation.versioning.ProviderType;

/**
 * Names a virtual machine on its host. The VM-host layer chooses it; drivers use it to name their domain,
 * process or sockets, so the syntax is safe in file names and toolstack arguments.
 *
 * @param value 1 to 64 characters: ASCII letters, digits, {@code _ -}, starting with a letter or digit
 */
@ProviderType
public record VmId(String value) {

    private static final Pattern SYNTAX = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_-]{0,63}");

    /**
     * @throws NullPointerException if {@code value} is null
     * @throws IllegalArgumentException if {@code value} does not follow the syntax
     */
    public VmId {
        if (value == null) {
            throw new NullPointerException("value");
        }
        if (!SYNTAX.matcher(value).matches()) {
            throw new IllegalArgumentException("a VM id has 1 to 64 characters [A-Za-z0-9_-] and starts with a "
                + "letter or digit, got '" + value + "'");
        }
    }

    @Override
    public String toString() {
        return value;
    }
}
