package io.pando.link;

import io.netty.buffer.ByteBuf;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.osgi.annotation.versioning.ProviderType;

/** One session on one unit: the distribution unit's handle. */
@ProviderType
public interface UnitChannel {

    /** The sequence of control information that did not enter through the ingress. */
    long NO_SEQUENCE = -1;

    /**
     * Hands a datagram to the unit. Never refuses and never blocks: a datagram over the session's quota is
     * accepted, counted ({@code quota_overflows}) and the session reported congested. The datagram belongs to
     * flow 0.
     *
     * @param sequence the ingress sequence, or {@link #NO_SEQUENCE}
     * @param data the datagram; ownership passes to the unit
     * @param control whether it is control information
     */
    default void deliver(long sequence, ByteBuf data, boolean control) {
        deliver(sequence, 0, data, control);
    }

    /**
     * Hands a datagram of one flow of the session to the unit; otherwise as {@link #deliver(long, ByteBuf, boolean)}.
     *
     * @param sequence the ingress sequence, or {@link #NO_SEQUENCE}
     * @param flow the flow the datagram came in on (or, for control information, the flow it is about): a flow
     *     of the session's plan
     * @param data the datagram; ownership passes to the unit
     * @param control whether it is control information
     * @since 1.2
     */
    void deliver(long sequence, long flow, ByteBuf data, boolean control);

    /**
     * Closes the session on this unit once every datagram delivered before has been processed and its
     * results handed to the aggregation unit.
     *
     * @return completes when the session is drained and closed on the unit
     */
    CompletionStage<Void> close();

    /**
     * Migration, on the unit the session leaves: the distribution unit no longer delivers anything to this channel
     * (it sends the session's new datagrams to the unit taking over, which holds them). Once every datagram delivered
     * before has been processed (and, for a program in a sandbox, answered), the program's session state and timers
     * are taken out, the program is stopped, and the stage completes with them; the results already computed still
     * go to the aggregation unit, then the session closes on this unit as {@link #close()} does. A datagram delivered
     * after this call is released and counted ({@code late_after_handover}).
     *
     * @return completes with what the program kept, exceptionally if this unit cannot hand sessions over
     * @since 1.3
     */
    default CompletionStage<SessionHandover> handOver() {
        return CompletableFuture.failedFuture(new UnsupportedOperationException("this unit cannot hand a session over"));
    }

    /**
     * Migration, on the unit taking the session over (a channel from {@link UnitPort#openForHandover}): installs
     * what the program kept on the unit it left and starts the program, which then processes the datagrams held
     * since the channel opened, in the order they were delivered, before any later one. Call it once.
     *
     * @param handover the state, timers and last sequence from {@link #handOver()} of the unit the session left
     * @throws IllegalStateException if the channel is not waiting for a hand-over
     * @since 1.3
     */
    default void takeOver(SessionHandover handover) {
        throw new UnsupportedOperationException("this unit cannot take a session over");
    }

    /** @return the session's resource accounting on this unit, snake_case keys */
    Map<String, Long> counters();
}
