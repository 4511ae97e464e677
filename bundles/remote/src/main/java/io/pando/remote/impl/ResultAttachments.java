package io.pando.remote.impl;

import io.pando.api.session.SessionId;
import io.pando.api.unit.UnitId;
import io.pando.link.AggregationChannel;
import io.pando.link.AggregationPort;
import io.pando.link.Credit;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.osgi.service.component.annotations.Component;

/**
 * Where the results of a unit on another node enter the aggregation unit, when the distribution unit and the
 * aggregation server share this node: the distribution unit's own {@link AggregationPort} (the one it gives every
 * unit it opens a session on), so that a remote unit's results and acknowledgements pass the distribution unit's
 * failure recovery exactly as a local unit's do (io.pando.link, "Failure").
 *
 * <p>{@code RemoteUnitPort.open} attaches the unit through that port at once — before the unit node has even
 * connected, so that every datagram it is given is retained — and leaves the channel here; the
 * {@code AggregationServer} takes it when the unit's result connection names the (session, unit) in its HELLO, and
 * from then on is the channel's {@link Credit}. Without an entry (no aggregation server on this node, or the unit
 * was opened by a distribution unit elsewhere) the aggregation server attaches to the local aggregation unit
 * directly, and the distribution unit retains nothing for the unit.
 *
 * <p>Used only inside this bundle; a DS component so that both roles share one instance without static state.
 */
@Component(service = ResultAttachments.class)
public class ResultAttachments {

    private final Map<Key, Attachment> waiting = new ConcurrentHashMap<>();
    private volatile boolean served;

    /** (session, unit). */
    record Key(SessionId session, UnitId unit) {
    }

    /** The channel a remote unit's results go into, and the credit its result connection gets back. */
    static final class Attachment implements Credit {

        final Key key;
        AggregationChannel channel;
        private volatile Credit credit;
        /**
         * The last acknowledgement the unit's result connection applied ({@code -1}: none yet) and how many were
         * applied; written by the aggregation server's loop, read by the stall check (README, "Failure").
         */
        private volatile long acked = -1;
        private volatile long acks;

        Attachment(Key key) {
            this.key = key;
        }

        /** The aggregation server's connection from now on gets the credit. */
        void creditTo(Credit c) {
            credit = c;
        }

        /** Aggregation server's loop (one writer): the unit acknowledged {@code sequence}. */
        void acked(long sequence) {
            acked = sequence;
            acks++;
        }

        /** @return the last acknowledged sequence, -1 if none */
        long acked() {
            return acked;
        }

        /** @return how many acknowledgements were applied */
        long acks() {
            return acks;
        }

        @Override
        public void release(int bytes) {
            Credit c = credit;
            if (c != null) {
                c.release(bytes);
            }
        }
    }

    /** The aggregation server on this node starts (true) or stops (false) taking attachments. */
    void served(boolean on) {
        served = on;
        if (!on) {
            waiting.clear();
        }
    }

    /** @return whether an aggregation server on this node takes attachments */
    boolean served() {
        return served;
    }

    /**
     * Distribution node: attaches a remote unit to the session through the distribution unit's port and keeps the
     * channel for the unit's result connection.
     *
     * @return the attachment, or null if no aggregation server runs here
     * @throws RuntimeException what the port throws
     */
    Attachment attach(AggregationPort port, SessionId session, UnitId unit) {
        if (!served) {
            return null;
        }
        Key key = new Key(session, unit);
        Attachment a = new Attachment(key);
        a.channel = port.attach(session, unit, a);
        waiting.put(key, a);
        return a;
    }

    /** Aggregation server: @return the channel left for the (session, unit), taken out; null if none */
    Attachment take(SessionId session, UnitId unit) {
        return waiting.remove(new Key(session, unit));
    }

    /** The session ended on the unit (or never opened): forgets an attachment nobody took. */
    void forget(Attachment a) {
        if (a != null) {
            waiting.remove(a.key, a);
        }
    }

    int waiting() {
        return waiting.size();
    }
}
