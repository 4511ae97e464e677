package io.pando.policies.impl;

import io.pando.api.policy.AggregationStrategy;
import io.pando.api.program.Datagram;
import io.pando.api.session.SessionId;
import io.pando.policies.api.ReorderStats;
import io.pando.policies.api.ReorderWindowControl;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.ServiceScope;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/**
 * A per-session reorder window: a datagram is held until every predecessor (lower ingress sequence number)
 * was sent, or until it waited {@code max hold} (the deadline), so the receiver sees the session's datagrams
 * in ingress order unless a unit is later than the deadline.
 *
 * <p>Rules, per session ({@code next} is the lowest sequence number not yet given up on; it starts at the
 * session's first arriving datagram):
 * <ul>
 * <li>a datagram with sequence {@code <= next} is sent at once (at {@code next}, {@code next} moves on and
 * held successors that are now in order follow; below {@code next} it is late and counted out of order if a
 * higher one was already sent); several datagrams with the same sequence (one input, several outputs) are
 * sent in arrival order;</li>
 * <li>a datagram with a higher sequence is held, at most {@code depth} per session; when the window is full
 * the datagram with the lowest sequence is released and the gap before it given up on (counted as an
 * overflow release);</li>
 * <li>when a held datagram has waited {@code max hold}, the gap before it is given up on and it is released,
 * with every held datagram of lower sequence first (counted as a deadline release);</li>
 * <li>when the session closes, everything still held is sent, in sequence order.</li>
 * </ul>
 * No datagram is dropped or sent twice. Depth and hold time default to the configuration and are set per
 * session through {@link ReorderWindowControl#configure}.
 *
 * <p><b>Threading:</b> one instance per aggregation unit (prototype scope), driven by that unit's thread:
 * {@link #arrived}, {@link #advance}, {@link #closed} and {@link #configure} run there, without locking and
 * without allocation per datagram in steady state (each session's slot arrays, heap and arrival ring grow by
 * doubling up to the depth and are then reused). {@link #stats} and {@link #totals} may be called from any
 * thread: the counters are written with opaque stores and read with opaque loads.
 */
@Component(name = "io.pando.policies.reorder-window", service = AggregationStrategy.class,
    scope = ServiceScope.PROTOTYPE, configurationPolicy = ConfigurationPolicy.OPTIONAL,
    property = "name=" + ReorderWindowStrategy.NAME)
@Designate(ocd = ReorderWindowStrategy.Config.class)
public class ReorderWindowStrategy implements AggregationStrategy, ReorderWindowControl {

    /** The strategy's name. */
    public static final String NAME = "reorder-window";

    /** Longest hold time accepted. */
    static final long MAX_HOLD_NANOS = TimeUnit.SECONDS.toNanos(10);

    /** Largest depth accepted. */
    static final int MAX_DEPTH = 65536;

    /** Configuration of the reorder window: the defaults for sessions that set nothing. */
    @ObjectClassDefinition(name = "Pando aggregation: reorder window",
        description = "Holds a session's processed datagrams until their predecessors are sent or a deadline "
            + "passes, so the receiver sees them in order.")
    public @interface Config {

        /** @return the default hold time */
        @AttributeDefinition(name = "Max hold (ms)",
            description = "Longest time a datagram waits for its predecessors, in [0, 10000]; 0 sends at once. "
                + "A session may set its own.")
        long max_hold_ms() default 10;

        /** @return the default depth */
        @AttributeDefinition(name = "Depth",
            description = "Most datagrams held per session, in [1, 65536]. A session may set its own.")
        int depth() default 1024;
    }

    private final long defaultHoldNanos;
    private final int defaultDepth;
    private final LongSupplier nanoClock;
    private final ConcurrentHashMap<SessionId, Window> windows = new ConcurrentHashMap<>();
    private volatile ReorderStats closedTotals = ReorderStats.EMPTY;

    /**
     * @param config the configuration
     * @throws IllegalArgumentException if a value breaks its rule
     */
    @Activate
    public ReorderWindowStrategy(Config config) {
        this(checkHoldMillis(config.max_hold_ms()), config.depth(), System::nanoTime);
    }

    ReorderWindowStrategy(long defaultHoldNanos, int defaultDepth, LongSupplier nanoClock) {
        PolicySettings.checkRange(NAME, "max.hold (ns)", defaultHoldNanos, 0, MAX_HOLD_NANOS);
        PolicySettings.checkRange(NAME, "depth", defaultDepth, 1, MAX_DEPTH);
        this.defaultHoldNanos = defaultHoldNanos;
        this.defaultDepth = defaultDepth;
        this.nanoClock = nanoClock;
    }

    private static long checkHoldMillis(long millis) {
        PolicySettings.checkRange(NAME, "max.hold.ms", millis, 0, TimeUnit.NANOSECONDS.toMillis(MAX_HOLD_NANOS));
        return TimeUnit.MILLISECONDS.toNanos(millis);
    }

    @Override
    public void configure(SessionId session, long maxHoldNanos, int depth) {
        PolicySettings.checkRange(NAME, "max hold (ns) of session " + session, maxHoldNanos, 0, MAX_HOLD_NANOS);
        PolicySettings.checkRange(NAME, "depth of session " + session, depth, 1, MAX_DEPTH);
        Window window = window(session);
        window.maxHoldNanos = maxHoldNanos;
        window.depth = depth;
    }

    @Override
    public void arrived(SessionId session, long sequence, Datagram datagram, Sink sink) {
        window(session).arrived(sequence, datagram, sink);
    }

    @Override
    public void advance(long nowNanos, Sink sink) {
        for (Window window : windows.values()) {
            if (window.heapSize > 0) {
                window.advance(nowNanos, sink);
            }
        }
    }

    @Override
    public void closed(SessionId session, Sink sink) {
        Window window = windows.remove(session);
        if (window == null) {
            return;
        }
        window.releaseAll(sink);
        closedTotals = closedTotals.plus(window.snapshot());
    }

    @Override
    public Optional<ReorderStats> stats(SessionId session) {
        Window window = windows.get(session);
        return window == null ? Optional.empty() : Optional.of(window.snapshot());
    }

    @Override
    public ReorderStats totals() {
        ReorderStats sum = closedTotals;
        for (Window window : windows.values()) {
            sum = sum.plus(window.snapshot());
        }
        return sum;
    }

    private Window window(SessionId session) {
        Window window = windows.get(session);
        if (window == null) {
            window = new Window(session, defaultHoldNanos, defaultDepth);
            windows.put(session, window);
        }
        return window;
    }

    /** The reorder window of one session; used by the driving thread only, except for its counters. */
    private final class Window {
        private static final int ARRIVED = 0;
        private static final int RELEASED = 1;
        private static final int IN_ORDER = 2;
        private static final int OUT_OF_ORDER = 3;
        private static final int HELD_TOTAL = 4;
        private static final int DEADLINE = 5;
        private static final int OVERFLOW = 6;
        private static final int MAX_HOLD = 7;

        final SessionId id;
        long maxHoldNanos;
        int depth;
        final OpaqueCounters counters = new OpaqueCounters(8);

        boolean started;
        long next;
        long highestReleased = Long.MIN_VALUE;
        long nextSerial;

        // held datagrams, in slots
        long[] slotSeq = new long[0];
        long[] slotArrived = new long[0];
        long[] slotSerial = new long[0];
        Datagram[] slotDatagram = new Datagram[0];
        int[] freeSlots = new int[0];
        int freeCount;

        // min-heap of slots by (sequence, serial)
        int[] heap = new int[0];
        int heapSize;

        // held slots in arrival order (serial, slot); entries of released slots are skipped
        long[] ringSerial = new long[16];
        int[] ringSlot = new int[16];
        int ringHead;
        int ringSize;

        Window(SessionId id, long maxHoldNanos, int depth) {
            this.id = id;
            this.maxHoldNanos = maxHoldNanos;
            this.depth = depth;
        }

        void arrived(long seq, Datagram datagram, Sink sink) {
            counters.increment(ARRIVED);
            if (!started) {
                started = true;
                next = seq;
            }
            if (seq > next && maxHoldNanos > 0) {
                long now = nanoClock.getAsLong();
                while (heapSize >= depth) {
                    overflow(now, sink);
                }
                if (seq > next) {
                    hold(seq, datagram, now);
                    return;
                }
            }
            release(seq, datagram, 0, sink);
            if (seq >= next) {
                next = seq + 1;
                if (heapSize > 0) {
                    drain(nanoClock.getAsLong(), sink);
                }
            }
        }

        void advance(long now, Sink sink) {
            while (heapSize > depth) {
                overflow(now, sink);
            }
            while (ringSize > 0) {
                int slot = ringSlot[ringHead];
                if (slotDatagram[slot] == null || slotSerial[slot] != ringSerial[ringHead]) {
                    popRing();
                    continue;
                }
                if (now - slotArrived[slot] < maxHoldNanos) {
                    break;
                }
                counters.increment(DEADLINE);
                next = Math.max(next, slotSeq[slot] + 1);
                drain(now, sink);
            }
        }

        void releaseAll(Sink sink) {
            long now = nanoClock.getAsLong();
            while (heapSize > 0) {
                int slot = popHeap();
                releaseSlot(slot, now, sink);
            }
            ringSize = 0;
        }

        private void overflow(long now, Sink sink) {
            int slot = popHeap();
            counters.increment(OVERFLOW);
            next = Math.max(next, slotSeq[slot] + 1);
            releaseSlot(slot, now, sink);
            drain(now, sink);
        }

        /** Releases held datagrams that are now in order. */
        private void drain(long now, Sink sink) {
            while (heapSize > 0 && slotSeq[heap[0]] <= next) {
                int slot = popHeap();
                next = Math.max(next, slotSeq[slot] + 1);
                releaseSlot(slot, now, sink);
            }
        }

        private void releaseSlot(int slot, long now, Sink sink) {
            Datagram datagram = slotDatagram[slot];
            slotDatagram[slot] = null;
            freeSlots[freeCount++] = slot;
            release(slotSeq[slot], datagram, now - slotArrived[slot], sink);
        }

        private void release(long seq, Datagram datagram, long waitedNanos, Sink sink) {
            counters.increment(seq < highestReleased ? OUT_OF_ORDER : IN_ORDER);
            counters.increment(RELEASED);
            if (waitedNanos > counters.get(MAX_HOLD)) {
                counters.set(MAX_HOLD, waitedNanos);
            }
            if (seq > highestReleased) {
                highestReleased = seq;
            }
            sink.send(id, datagram);
        }

        private void hold(long seq, Datagram datagram, long now) {
            counters.increment(HELD_TOTAL);
            if (freeCount == 0) {
                growSlots();
            }
            int slot = freeSlots[--freeCount];
            long serial = nextSerial++;
            slotSeq[slot] = seq;
            slotArrived[slot] = now;
            slotSerial[slot] = serial;
            slotDatagram[slot] = datagram;
            pushHeap(slot);
            if (ringSize == ringSerial.length) {
                growRing();
            }
            int tail = (ringHead + ringSize) & (ringSerial.length - 1);
            ringSerial[tail] = serial;
            ringSlot[tail] = slot;
            ringSize++;
        }

        private void growSlots() {
            int old = slotSeq.length;
            int capacity = Math.max(16, old * 2);
            slotSeq = java.util.Arrays.copyOf(slotSeq, capacity);
            slotArrived = java.util.Arrays.copyOf(slotArrived, capacity);
            slotSerial = java.util.Arrays.copyOf(slotSerial, capacity);
            slotDatagram = java.util.Arrays.copyOf(slotDatagram, capacity);
            heap = java.util.Arrays.copyOf(heap, capacity);
            freeSlots = java.util.Arrays.copyOf(freeSlots, capacity);
            for (int slot = capacity - 1; slot >= old; slot--) {
                freeSlots[freeCount++] = slot;
            }
        }

        private void growRing() {
            int n = ringSerial.length;
            long[] serials = new long[n * 2];
            int[] slots = new int[n * 2];
            for (int i = 0; i < ringSize; i++) {
                serials[i] = ringSerial[(ringHead + i) & (n - 1)];
                slots[i] = ringSlot[(ringHead + i) & (n - 1)];
            }
            ringSerial = serials;
            ringSlot = slots;
            ringHead = 0;
        }

        private void popRing() {
            ringHead = (ringHead + 1) & (ringSerial.length - 1);
            ringSize--;
        }

        private boolean less(int a, int b) {
            return slotSeq[a] < slotSeq[b] || (slotSeq[a] == slotSeq[b] && slotSerial[a] < slotSerial[b]);
        }

        private void pushHeap(int slot) {
            int i = heapSize++;
            while (i > 0) {
                int parent = (i - 1) >>> 1;
                if (!less(slot, heap[parent])) {
                    break;
                }
                heap[i] = heap[parent];
                i = parent;
            }
            heap[i] = slot;
        }

        private int popHeap() {
            int top = heap[0];
            int last = heap[--heapSize];
            int i = 0;
            while (true) {
                int child = 2 * i + 1;
                if (child >= heapSize) {
                    break;
                }
                if (child + 1 < heapSize && less(heap[child + 1], heap[child])) {
                    child++;
                }
                if (!less(heap[child], last)) {
                    break;
                }
                heap[i] = heap[child];
                i = child;
            }
            if (heapSize > 0) {
                heap[i] = last;
            }
            return top;
        }

        ReorderStats snapshot() {
            long arrived = counters.get(ARRIVED);
            long released = counters.get(RELEASED);
            return new ReorderStats(arrived, released, counters.get(IN_ORDER), counters.get(OUT_OF_ORDER),
                arrived - released, counters.get(HELD_TOTAL), counters.get(DEADLINE), counters.get(OVERFLOW),
                counters.get(MAX_HOLD));
        }
    }
}
