package io.pando.api.policy;

import io.pando.api.session.SessionId;
import java.util.Optional;
import org.osgi.annotation.versioning.ConsumerType;

/**
 * Decides which session a unit serves next when several have datagrams queued for sending (FIFO, deficit
 * round robin, priorities...). The unit keeps the datagrams, one FIFO queue per session; the scheduler only
 * keeps the accounting it needs, learnt from {@link #enqueued} and {@link #dequeued}.
 *
 * <p>A unit drives one scheduler instance from one thread, so implementations need no locking; a service
 * that schedules several units hands out one instance per unit through a prototype-scope service. When a
 * scheduler is swapped in while datagrams are queued, the unit first calls {@link #enqueued} for each of them
 * in queue order.
 */
@ConsumerType
public interface PacketScheduler {

    /**
     * A datagram joined the tail of its session's queue.
     *
     * @param session the session
     * @param length the datagram's length in bytes
     */
    void enqueued(SessionId session, int length);

    /**
     * @return the session whose head-of-line datagram is sent next, or empty to send nothing now (for example
     *         when every backlogged session is over its rate); must be a session with queued datagrams
     */
    Optional<SessionId> next();

    /**
     * The head-of-line datagram of a session left its queue, sent or dropped.
     *
     * @param session the session
     * @param length the datagram's length in bytes, as given to {@link #enqueued}
     */
    void dequeued(SessionId session, int length);
}
