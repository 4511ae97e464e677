package io.pando.control.protocol;

import java.net.InetSocketAddress;
import java.util.Objects;
import org.osgi.annotation.versioning.ProviderType;

/**
 * A flow of the session other than flow 0 (whose destination is the session's DESTINATION).
 *
 * @param id the flow id, 1 to 2^32 - 1
 * @param name 1 to 64 printable ASCII characters without space
 * @param destination where the processed datagrams of the flow go
 */
@ProviderType
public record FlowSpec(long id, String name, InetSocketAddress destination) {

    /** @throws IllegalArgumentException naming the rule broken */
    public FlowSpec {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(destination, "destination");
        if (id < 1 || id > 0xFFFF_FFFFL) {
            throw new IllegalArgumentException("a FLOW id is in [1, 4294967295] (flow 0 is the DESTINATION), got " + id);
        }
        if (name.isEmpty() || name.length() > 64 || !name.chars().allMatch(c -> c >= 0x21 && c <= 0x7E)) {
            throw new IllegalArgumentException("a flow name has 1 to 64 printable ASCII characters without space, got '"
                + name + "'");
        }
    }
}
