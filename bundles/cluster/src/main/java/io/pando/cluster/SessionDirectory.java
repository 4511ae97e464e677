package io.pando.cluster;

import java.util.List;
import java.util.Optional;
import org.osgi.annotation.versioning.ProviderType;

/**
 * The replicated session directory: every session of the router, by id, visible from every node. Records are kept
 * in more than one member (the number of backups is configured), so a directory survives the loss of a member.
 *
 * <p>Writes need quorum and fail with {@link NoQuorumException} in a minority partition, so two partitions can
 * never place the same session. Reads are answered from what this node can reach, also without quorum (forwarding
 * goes on in a minority partition).
 *
 * <p>Implemented by Pando; thread-safe.
 */
@ProviderType
public interface SessionDirectory {

    /**
     * @param sessionId the session
     * @return its record, or empty if no session has that id
     */
    Optional<SessionRecord> get(String sessionId);

    /**
     * Places a session unless one with its id is already placed: atomic across the cluster, so of any number of
     * concurrent calls with the same id on any members, exactly one succeeds.
     *
     * @param record the new session
     * @return empty if the record was stored; else the record already stored under its id, unchanged
     * @throws NoQuorumException if this node's partition has no quorum
     */
    Optional<SessionRecord> putIfAbsent(SessionRecord record);

    /**
     * Changes a session only if it is still as the caller last read it (compare and set).
     *
     * @param expected the record as last read
     * @param updated the new record, with the same session id
     * @return true if it was replaced; false if the stored record differs from {@code expected} or is gone
     * @throws IllegalArgumentException if the session ids differ
     * @throws NoQuorumException if this node's partition has no quorum
     */
    boolean replace(SessionRecord expected, SessionRecord updated);

    /**
     * @param sessionId the session to forget
     * @return the record that was removed, or empty if there was none
     * @throws NoQuorumException if this node's partition has no quorum
     */
    Optional<SessionRecord> remove(String sessionId);

    /** @return every session, sorted by id; meant for consoles and tests, not for large directories on a hot path */
    List<SessionRecord> list();

    /** @return the number of sessions in the directory */
    int size();
}
