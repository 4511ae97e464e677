package io.pando.cluster;

import java.util.List;
import java.util.Optional;
import org.osgi.annotation.versioning.ProviderType;

/**
 * The cluster as this node sees it: who is a member, who leads, and whether this node's partition may act.
 *
 * <p><b>Leader.</b> The leader is the oldest member of the cluster (the one that joined first and is still
 * there). Every member computes the same leader from the same member list, without an election; when the leader
 * leaves or dies, the next oldest takes over as soon as the failure is detected.
 *
 * <p><b>Quorum.</b> A partition has quorum while it has at least {@link #quorumSize()} members (by default a
 * majority of the configured member list). At most one partition can have quorum, so a node cut off with a
 * minority keeps forwarding but must not admit, place or migrate sessions: the leader of a minority partition
 * is still the {@link #leader() oldest} member it sees, but {@link #isLeader()} is false there and
 * {@link #requireLeader(String)} refuses.
 *
 * <p>Implemented by Pando; thread-safe.
 */
@ProviderType
public interface ClusterService {

    /** @return the name of the cluster this node belongs to */
    String clusterName();

    /** @return this node as a member */
    ClusterMember localMember();

    /** @return the members this node sees, oldest (the leader) first */
    List<ClusterMember> members();

    /** @return the oldest member this node sees, with or without quorum; empty only while the node is not running */
    Optional<ClusterMember> leader();

    /**
     * @return true if this node is the leader <em>and</em> its partition has quorum: the test every leader-only
     *     action makes before it acts
     */
    boolean isLeader();

    /** @return true if this node's partition has at least {@link #quorumSize()} members */
    boolean hasQuorum();

    /** @return the minimum number of members a partition needs to have quorum */
    int quorumSize();

    /**
     * Checks that this node may perform a leader-only action now.
     *
     * @param action what the caller is about to do, for the error message (e.g. {@code "admit session s1"})
     * @throws NoQuorumException if this node's partition has no quorum
     * @throws NotLeaderException if the partition has quorum but another member leads it
     */
    void requireLeader(String action);

    /**
     * Checks that this node's partition has quorum.
     *
     * @param action what the caller is about to do, for the error message
     * @throws NoQuorumException if it has not
     */
    void requireQuorum(String action);

    /**
     * @return whether everything the cluster holds (the session directory, unit reports, desired state) has its
     *     backups on other members: false while data moves between members after a membership change, when a record
     *     written on one member could be lost with it
     * @since 1.2
     */
    default boolean replicated() {
        return true;
    }
}
