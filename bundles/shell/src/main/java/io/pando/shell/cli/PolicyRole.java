package io.pando.shell.cli;

import io.pando.api.policy.AggregationStrategy;
import io.pando.api.policy.LoadBalancingPolicy;
import io.pando.api.policy.PacketScheduler;
import java.util.Arrays;
import java.util.stream.Collectors;

/**
 * The switchable policy roles, by the name the console uses and the service interface a policy registers. The
 * router's own {@link io.pando.api.router.PolicyRole} has the same labels; {@link #router()} maps to it.
 */
enum PolicyRole {
    LOAD_BALANCING("load-balancing", LoadBalancingPolicy.class.getName()),
    SCHEDULER("scheduler", PacketScheduler.class.getName()),
    AGGREGATION("aggregation", AggregationStrategy.class.getName());

    /** The role names a user may type, comma separated, for help and error messages. */
    static final String NAMES = Arrays.stream(values()).map(r -> r.label).collect(Collectors.joining(", "));

    final String label;
    final String objectClass;

    PolicyRole(String label, String objectClass) {
        this.label = label;
        this.objectClass = objectClass;
    }

    /**
     * @return the role named {@code label}
     * @throws IllegalArgumentException if no role has that name; the message lists the names there are
     */
    static PolicyRole of(String label) {
        for (PolicyRole r : values()) {
            if (r.label.equals(label)) {
                return r;
            }
        }
        throw new IllegalArgumentException("unknown policy role '" + label + "': use one of " + NAMES);
    }

    /** @return the router's name for this role */
    io.pando.api.router.PolicyRole router() {
        return io.pando.api.router.PolicyRole.parse(label);
    }
}
