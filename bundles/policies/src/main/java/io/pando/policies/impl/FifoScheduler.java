package io.pando.policies.impl;

import io.pando.api.policy.PacketScheduler;
import io.pando.api.session.SessionId;
import java.util.HashMap;
import java.util.Iterator;
import java.util.Optional;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ServiceScope;

/**
 * First in, first out across sessions: the datagram that was queued first is sent first, whatever its
 * session. The scheduler mirrors the unit's queues as one ring of session entries in arrival order.
 *
 * <p><b>Threading:</b> one instance per unit (prototype scope), driven by the unit's sending thread only; no
 * locking. Per datagram: one {@code HashMap} lookup, no allocation in steady state (the ring doubles when it
 * must and is then reused, each session's {@code Optional} is made once). A {@link #dequeued} that is not the
 * oldest datagram (the unit dropped a datagram of another session) costs a scan of the ring.
 */
@Component(name = "io.pando.policies.fifo", service = PacketScheduler.class, scope = ServiceScope.PROTOTYPE,
    property = "name=" + FifoScheduler.NAME)
public class FifoScheduler implements PacketScheduler {

    /** The scheduler's name. */
    public static final String NAME = "fifo";

    /** Idle session entries kept for reuse before they are swept out. */
    static final int IDLE_LIMIT = 1024;

    private final HashMap<SessionId, Entry> entries = new HashMap<>();
    private Entry[] ring = new Entry[64];
    private int head;
    private int size;
    private int idle;

    @Override
    public void enqueued(SessionId session, int length) {
        Entry entry = entries.get(session);
        if (entry == null) {
            entry = new Entry(session);
            entries.put(session, entry);
        } else if (entry.queued == 0) {
            idle--;
        }
        entry.queued++;
        if (size == ring.length) {
            grow();
        }
        ring[(head + size) & (ring.length - 1)] = entry;
        size++;
    }

    @Override
    public Optional<SessionId> next() {
        skipTombstones();
        return size == 0 ? Optional.empty() : ring[head].self;
    }

    @Override
    public void dequeued(SessionId session, int length) {
        Entry entry = entries.get(session);
        if (entry == null || entry.queued == 0) {
            return; // nothing queued for it: a unit bug, ignored rather than corrupting the order
        }
        skipTombstones();
        if (ring[head] == entry) {
            ring[head] = null;
            head = (head + 1) & (ring.length - 1);
            size--;
        } else {
            for (int i = 1; i < size; i++) {
                int slot = (head + i) & (ring.length - 1);
                if (ring[slot] == entry) {
                    ring[slot] = null; // tombstone, skipped when it reaches the head
                    break;
                }
            }
        }
        if (--entry.queued == 0 && ++idle > IDLE_LIMIT) {
            sweepIdle();
        }
    }

    /** @return datagrams queued, as the scheduler knows them */
    int queued() {
        int total = 0;
        for (Entry e : entries.values()) {
            total += e.queued;
        }
        return total;
    }

    private void skipTombstones() {
        while (size > 0 && ring[head] == null) {
            head = (head + 1) & (ring.length - 1);
            size--;
        }
    }

    private void grow() {
        Entry[] bigger = new Entry[ring.length << 1];
        for (int i = 0; i < size; i++) {
            bigger[i] = ring[(head + i) & (ring.length - 1)];
        }
        ring = bigger;
        head = 0;
    }

    private void sweepIdle() {
        for (Iterator<Entry> it = entries.values().iterator(); it.hasNext();) {
            if (it.next().queued == 0) {
                it.remove();
            }
        }
        idle = 0;
    }

    /** One session as the scheduler sees it. */
    private static final class Entry {
        final Optional<SessionId> self;
        int queued;

        Entry(SessionId id) {
            this.self = Optional.of(id);
        }
    }
}
