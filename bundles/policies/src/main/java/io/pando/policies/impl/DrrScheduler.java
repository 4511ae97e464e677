package io.pando.policies.impl;

import io.pando.api.policy.PacketScheduler;
import io.pando.api.session.SessionId;
import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;
import java.util.Optional;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.ServiceScope;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/**
 * Deficit round robin, after M. Shreedhar and G. Varghese, "Efficient Fair Queuing using Deficit Round
 * Robin", ACM SIGCOMM 1995 / IEEE/ACM Transactions on Networking 4(3), 1996. Backlogged sessions take turns
 * in an active list; at the start of its turn a session's deficit grows by its quantum
 * ({@code quantum * weight} bytes), and it sends head-of-line datagrams while the next one fits in its
 * deficit. A session whose queue empties leaves the list and loses its deficit. Over time each backlogged
 * session gets a byte share proportional to its weight, whatever its datagram sizes, at O(1) work per
 * datagram when the quantum is at least the largest datagram.
 *
 * <p>When the quantum is smaller than a head datagram, rounds in which nobody could send are skipped in one
 * step (every deficit grows by the rounds needed by the session closest to sending), so {@link #next} never
 * loops more than twice around the active list.
 *
 * <p>The scheduler mirrors the lengths of each session's queued datagrams in a reused ring, because DRR needs
 * the head-of-line length.
 *
 * <p><b>Threading:</b> one instance per unit (prototype scope), driven by the unit's sending thread only; no
 * locking. Per datagram: one {@code HashMap} lookup, no allocation in steady state (rings double when they
 * must and are then reused, each session's {@code Optional} is made once). Configuration changes take
 * effect through a new instance: the unit swaps schedulers and replays its queues into the new one.
 */
@Component(name = "io.pando.policies.drr", service = PacketScheduler.class, scope = ServiceScope.PROTOTYPE,
    configurationPolicy = ConfigurationPolicy.OPTIONAL, property = "name=" + DrrScheduler.NAME)
@Designate(ocd = DrrScheduler.Config.class)
public class DrrScheduler implements PacketScheduler {

    /** The scheduler's name. */
    public static final String NAME = "drr";

    /** Largest weight of a session. */
    static final int MAX_WEIGHT = 1000;

    /** Idle session entries kept for reuse before they are swept out. */
    static final int IDLE_LIMIT = 1024;

    /** Configuration of deficit round robin. */
    @ObjectClassDefinition(name = "Pando packet scheduler: deficit round robin",
        description = "Backlogged sessions share a unit's sending in proportion to their weights, in bytes.")
    public @interface Config {

        /** @return the quantum */
        @AttributeDefinition(name = "Quantum (bytes)",
            description = "Bytes a weight-1 session may send per round, in [64, 1048576]. At least the largest "
                + "datagram keeps the work per datagram constant.")
        int quantum() default 1500;

        /** @return the weights */
        @AttributeDefinition(name = "Session weights",
            description = "SESSION=WEIGHT entries, e.g. 42=4; SESSION is a session id, WEIGHT an integer in "
                + "[1, 1000].")
        String[] weights() default {};

        /** @return the weight of a session not listed */
        @AttributeDefinition(name = "Default weight",
            description = "Weight of a session not listed in Session weights, in [1, 1000].")
        int default_weight() default 1;
    }

    private final int quantum;
    private final int defaultWeight;
    private final Map<SessionId, Integer> weights;
    private final HashMap<SessionId, Entry> entries = new HashMap<>();
    /** The active list: backlogged sessions, the one whose turn it is first. */
    private Entry first;
    private Entry last;
    private int active;
    private int idle;

    /**
     * @param config the configuration
     * @throws IllegalArgumentException if a value breaks its rule
     */
    @Activate
    public DrrScheduler(Config config) {
        this(config.quantum(), config.default_weight(),
            PolicySettings.parseWeights(NAME, "weights", config.weights(), SessionId::parse, 1, MAX_WEIGHT));
    }

    DrrScheduler(int quantum, int defaultWeight, Map<SessionId, Integer> weights) {
        PolicySettings.checkRange(NAME, "quantum", quantum, 64, 1 << 20);
        PolicySettings.checkRange(NAME, "default.weight", defaultWeight, 1, MAX_WEIGHT);
        for (Map.Entry<SessionId, Integer> e : weights.entrySet()) {
            PolicySettings.checkRange(NAME, "weights[" + e.getKey() + "]", e.getValue(), 1, MAX_WEIGHT);
        }
        this.quantum = quantum;
        this.defaultWeight = defaultWeight;
        this.weights = Map.copyOf(weights);
    }

    @Override
    public void enqueued(SessionId session, int length) {
        Entry entry = entries.get(session);
        if (entry == null) {
            Integer w = weights.get(session);
            entry = new Entry(session, (long) quantum * (w == null ? defaultWeight : w));
            entries.put(session, entry);
        } else if (entry.lengths.isEmpty()) {
            idle--;
        }
        entry.lengths.add(Math.max(0, length));
        if (!entry.active) {
            append(entry);
        }
    }

    @Override
    public Optional<SessionId> next() {
        if (first == null) {
            return Optional.empty();
        }
        int passed = 0;
        while (true) {
            Entry entry = first;
            if (!entry.turnStarted) {
                entry.deficit += entry.quantum;
                entry.turnStarted = true;
            }
            if (entry.lengths.peek() <= entry.deficit) {
                return entry.self;
            }
            entry.turnStarted = false;
            if (first != last) {
                unlink(entry);
                append(entry);
            }
            if (++passed == active) {
                skipIdleRounds();
                passed = 0;
            }
        }
    }

    @Override
    public void dequeued(SessionId session, int length) {
        Entry entry = entries.get(session);
        if (entry == null || entry.lengths.isEmpty()) {
            return; // nothing queued for it: a unit bug, ignored rather than corrupting the accounting
        }
        int head = entry.lengths.poll();
        entry.deficit = Math.max(0, entry.deficit - head);
        if (entry.lengths.isEmpty()) {
            unlink(entry);
            entry.deficit = 0;
            entry.turnStarted = false;
            if (++idle > IDLE_LIMIT) {
                sweepIdle();
            }
        }
    }

    /** @return the deficit of a session in bytes, 0 if unknown; for diagnostics and tests */
    long deficit(SessionId session) {
        Entry entry = entries.get(session);
        return entry == null ? 0 : entry.deficit;
    }

    /** @return the number of backlogged sessions */
    int backlogged() {
        return active;
    }

    /**
     * A full round passed and nobody could send: add at once the rounds that the session closest to sending
     * still needs, minus one (the loop plays that last round normally). Turns are all closed here.
     */
    private void skipIdleRounds() {
        long rounds = Long.MAX_VALUE;
        for (Entry e = first; e != null; e = e.next) {
            long missing = e.lengths.peek() - e.deficit;
            rounds = Math.min(rounds, (missing + e.quantum - 1) / e.quantum);
        }
        if (rounds > 1) {
            for (Entry e = first; e != null; e = e.next) {
                e.deficit += (rounds - 1) * e.quantum;
            }
        }
    }

    private void append(Entry entry) {
        entry.prev = last;
        entry.next = null;
        if (last == null) {
            first = entry;
        } else {
            last.next = entry;
        }
        last = entry;
        entry.active = true;
        active++;
    }

    private void unlink(Entry entry) {
        if (!entry.active) {
            return;
        }
        if (entry.prev == null) {
            first = entry.next;
        } else {
            entry.prev.next = entry.next;
        }
        if (entry.next == null) {
            last = entry.prev;
        } else {
            entry.next.prev = entry.prev;
        }
        entry.prev = null;
        entry.next = null;
        entry.active = false;
        active--;
    }

    private void sweepIdle() {
        for (Iterator<Entry> it = entries.values().iterator(); it.hasNext();) {
            if (it.next().lengths.isEmpty()) {
                it.remove();
            }
        }
        idle = 0;
    }

    /** One session as DRR sees it. */
    private static final class Entry {
        final Optional<SessionId> self;
        final long quantum;
        final IntRing lengths = new IntRing(16);
        long deficit;
        boolean turnStarted;
        boolean active;
        Entry prev;
        Entry next;

        Entry(SessionId id, long quantum) {
            this.self = Optional.of(id);
            this.quantum = quantum;
        }
    }
}
