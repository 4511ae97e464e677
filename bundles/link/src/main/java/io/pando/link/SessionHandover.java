package io.pando.link;

import java.util.Map;
import java.util.Objects;
import org.osgi.annotation.versioning.ProviderType;

/**
 * What a session's program kept on the unit it leaves, handed to the unit that takes the session over (a
 * migration, see {@link UnitChannel#handOver()}).
 *
 * @param state the program's session state ({@code ProgramContext.state/putState}); the arrays are handed over,
 *     not copied: nobody writes them after the hand-over
 * @param timerDelaysMicros each timer the program had set, by id, with the time it had left (0 for one that
 *     expired and had not fired yet)
 * @param lastSequence the ingress sequence of the last datagram the program processed (what a timer's results
 *     carry), or {@link UnitChannel#NO_SEQUENCE} if it processed none
 * @since 1.3
 */
@ProviderType
public record SessionHandover(Map<String, byte[]> state, Map<Long, Long> timerDelaysMicros, long lastSequence) {

    /** A hand-over of a program that kept nothing. */
    public static final SessionHandover EMPTY = new SessionHandover(Map.of(), Map.of(), UnitChannel.NO_SEQUENCE);

    /** Copies the maps (not the arrays). */
    public SessionHandover {
        state = Map.copyOf(Objects.requireNonNull(state, "state"));
        timerDelaysMicros = Map.copyOf(Objects.requireNonNull(timerDelaysMicros, "timerDelaysMicros"));
        for (Long d : timerDelaysMicros.values()) {
            if (d < 0) {
                throw new IllegalArgumentException("a timer's delay is >= 0, got " + d);
            }
        }
    }

    /** @return the bytes of the state (keys and values), as the unit's state quota counts them */
    public long stateBytes() {
        long n = 0;
        for (Map.Entry<String, byte[]> e : state.entrySet()) {
            n += e.getKey().length() + e.getValue().length;
        }
        return n;
    }
}
