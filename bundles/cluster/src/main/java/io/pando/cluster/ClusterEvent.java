package io.pando.cluster;

import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * A change of the cluster, as seen by this node.
 *
 * @param type what changed
 * @param member the member that joined or left; for a leadership change the new leader; for a quorum change this
 *     node
 * @param members the members right after the change, oldest first
 * @param leader the leader right after the change (the oldest member)
 * @param quorum whether this node's partition had quorum right after the change
 */
public record ClusterEvent(Type type, ClusterMember member, List<ClusterMember> members,
    Optional<ClusterMember> leader, boolean quorum) {

    /** @throws NullPointerException if a value is missing */
    public ClusterEvent {
        Objects.requireNonNull(type, "type");
        Objects.requireNonNull(member, "member");
        members = List.copyOf(members);
        Objects.requireNonNull(leader, "leader");
    }

    /** What changed. */
    public enum Type {
        /** a member joined */
        MEMBER_JOINED,
        /** a member left or was found dead */
        MEMBER_LEFT,
        /** the oldest member is now another one */
        LEADER_CHANGED,
        /** this node's partition now has quorum */
        QUORUM_GAINED,
        /** this node's partition lost quorum: leader-only actions refuse until it is back */
        QUORUM_LOST
    }
}
