package io.pando.cluster;

import java.time.Instant;
import java.util.Objects;
import java.util.Set;

/**
 * A member of the cluster.
 *
 * @param id the member's unique id, new each time a node starts (a UUID)
 * @param name the node's configured name, unique in the cluster
 * @param address the address other members reach it at, {@code host:port}
 * @param role {@link MemberRole#LEADER} for the oldest member, {@link MemberRole#MEMBER} for the others
 * @param nodeRoles the router roles the node was configured with (e.g. {@code distribution}, {@code unit}); may be
 *     empty
 * @param joinedAt when the member started and joined the cluster, by its own clock
 * @param local whether it is this node
 */
public record ClusterMember(String id, String name, String address, MemberRole role, Set<String> nodeRoles,
    Instant joinedAt, boolean local) {

    /** @throws NullPointerException if a value is missing */
    public ClusterMember {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(address, "address");
        Objects.requireNonNull(role, "role");
        nodeRoles = Set.copyOf(nodeRoles);
        Objects.requireNonNull(joinedAt, "joinedAt");
    }

    /** The role of a member in the cluster. */
    public enum MemberRole {
        /** the oldest member: acts as the control unit's leader while its partition has quorum */
        LEADER,
        /** any other member */
        MEMBER
    }
}
