package io.pando.api.router;

import java.util.Arrays;
import java.util.stream.Collectors;
import org.osgi.annotation.versioning.ProviderType;

/** The three places where the router applies a pluggable policy, each switchable while traffic flows. */
@ProviderType
public enum PolicyRole {
    /** The distribution unit's choice of unit for each datagram ({@code LoadBalancingPolicy}). */
    LOAD_BALANCING("load-balancing"),
    /** The order in which a unit sends its sessions' results ({@code PacketScheduler}). */
    SCHEDULER("scheduler"),
    /** How the aggregation unit releases processed datagrams ({@code AggregationStrategy}). */
    AGGREGATION("aggregation");

    private final String label;

    PolicyRole(String label) {
        this.label = label;
    }

    /** @return the name used on the console and in JSON, e.g. {@code load-balancing} */
    public String label() {
        return label;
    }

    /**
     * @param text a role label
     * @return the role
     * @throws IllegalArgumentException naming the allowed labels if {@code text} is none of them
     */
    public static PolicyRole parse(String text) {
        for (PolicyRole role : values()) {
            if (role.label.equals(text)) {
                return role;
            }
        }
        throw new IllegalArgumentException("unknown policy role '" + text + "'; allowed: "
            + Arrays.stream(values()).map(PolicyRole::label).collect(Collectors.joining(", ")));
    }

    @Override
    public String toString() {
        return label;
    }
}
