package io.pando.policies.impl;

import io.pando.api.policy.LoadBalancingPolicy;
import io.pando.api.program.Datagram;
import io.pando.api.session.ActiveSession;
import io.pando.api.session.SessionState;
import io.pando.api.unit.UnitId;
import io.pando.api.unit.UnitLoad;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/**
 * Static weights per unit, smooth weighted round robin: over every {@code sum(weights)} datagrams of a
 * session, unit {@code u} gets exactly {@code weight(u)} of them, interleaved as evenly as possible (the
 * "smooth" order: each step adds every unit's weight to its credit, picks the unit with the highest credit
 * and takes the total off it, so weights 5:1:1 give a a b a c a a, not a a a a a b c).
 *
 * <p>The order depends only on the candidate list and the weights, so it is computed once per candidate
 * list into a {@link Schedule} and each session walks it with an atomic counter.
 *
 * <p>A unit with weight 0 gets no datagram while a unit with a positive weight is a candidate; if all
 * candidates weigh 0 they share equally.
 *
 * <p><b>Threading:</b> {@link #choose} runs concurrently on the distribution unit's I/O threads. Lock free:
 * one map lookup, a comparison of the candidate list with the cached one and one atomic increment per
 * datagram; allocation only on a session's first datagram or when its candidate list changes.
 */
@Component(name = "io.pando.policies.weighted", service = LoadBalancingPolicy.class,
    configurationPolicy = ConfigurationPolicy.OPTIONAL, property = "name=" + WeightedPolicy.NAME)
@Designate(ocd = WeightedPolicy.Config.class)
public class WeightedPolicy implements LoadBalancingPolicy {

    /** The policy's name. */
    public static final String NAME = "weighted";

    /** Largest weight of a unit. */
    static final int MAX_WEIGHT = 1000;

    /** Configuration of the weighted policy. */
    @ObjectClassDefinition(name = "Pando load balancing: weighted",
        description = "The datagrams of a session are spread over its units in proportion to static weights.")
    public @interface Config {

        /** @return the weights */
        @AttributeDefinition(name = "Weights",
            description = "UNIT=WEIGHT entries, e.g. node-a.unit-1=3; WEIGHT is an integer in [0, 1000]. "
                + "0 keeps a unit out while another can serve.")
        String[] weights() default {};

        /** @return the weight of a unit not listed */
        @AttributeDefinition(name = "Default weight",
            description = "Weight of a unit not listed in Weights, in [0, 1000].")
        int default_weight() default 1;

        /** @return the bound of the position table */
        @AttributeDefinition(name = "Tracked sessions",
            description = "Most sessions with a position in the schedule, in [16, 16777216].")
        int max_sessions() default 65536;
    }

    private final Map<UnitId, Integer> weights;
    private final int defaultWeight;
    private final SessionTable<Position> positions;

    /**
     * @param config the configuration
     * @throws IllegalArgumentException if a value breaks its rule
     */
    @Activate
    public WeightedPolicy(Config config) {
        this(PolicySettings.parseWeights(NAME, "weights", config.weights(), UnitId::of, 0, MAX_WEIGHT),
            config.default_weight(), config.max_sessions());
    }

    WeightedPolicy(Map<UnitId, Integer> weights, int defaultWeight, int maxSessions) {
        PolicySettings.checkRange(NAME, "default.weight", defaultWeight, 0, MAX_WEIGHT);
        PolicySettings.checkRange(NAME, "max.sessions", maxSessions, 16, 1 << 24);
        for (Map.Entry<UnitId, Integer> e : weights.entrySet()) {
            PolicySettings.checkRange(NAME, "weights[" + e.getKey() + "]", e.getValue(), 0, MAX_WEIGHT);
        }
        this.weights = Map.copyOf(weights);
        this.defaultWeight = defaultWeight;
        this.positions = new SessionTable<>(maxSessions, s -> new Position(PolicySettings.mix(s.value())));
    }

    @Override
    public UnitId choose(Datagram datagram, ActiveSession session, List<UnitId> candidates,
        Map<UnitId, UnitLoad> loads) {
        if (session.state() == SessionState.CLOSED) {
            positions.remove(session.id());
            return candidates.get(0);
        }
        Position position = positions.get(session.id());
        Schedule schedule = position.schedule;
        if (schedule == null || !schedule.matches(candidates)) {
            schedule = new Schedule(candidates, this::weightOf);
            position.schedule = schedule;
        }
        long k = position.next.getAndIncrement();
        return candidates.get(schedule.order[(int) Long.remainderUnsigned(k, schedule.order.length)]);
    }

    int weightOf(UnitId unit) {
        Integer w = weights.get(unit);
        return w == null ? defaultWeight : w;
    }

    /** Where a session is in its schedule. */
    private static final class Position {
        final AtomicLong next;
        volatile Schedule schedule;

        Position(long start) {
            this.next = new AtomicLong(start & Long.MAX_VALUE);
        }
    }

    /** The smooth weighted round-robin order for one candidate list: indices into that list. */
    static final class Schedule {
        final List<UnitId> candidates;
        final int[] order;

        Schedule(List<UnitId> candidates, java.util.function.ToIntFunction<UnitId> weightOf) {
            this.candidates = List.copyOf(candidates);
            int n = candidates.size();
            int[] w = new int[n];
            boolean anyPositive = false;
            for (int i = 0; i < n; i++) {
                w[i] = weightOf.applyAsInt(candidates.get(i));
                anyPositive |= w[i] > 0;
            }
            if (!anyPositive) {
                java.util.Arrays.fill(w, 1);
            }
            int g = 0;
            for (int x : w) {
                g = gcd(g, x);
            }
            long total = 0;
            for (int i = 0; i < n; i++) {
                w[i] /= g;
                total += w[i];
            }
            order = new int[(int) total];
            long[] credit = new long[n];
            for (int step = 0; step < total; step++) {
                int best = -1;
                for (int i = 0; i < n; i++) {
                    credit[i] += w[i];
                    if (w[i] > 0 && (best < 0 || credit[i] > credit[best])) {
                        best = i;
                    }
                }
                credit[best] -= total;
                order[step] = best;
            }
        }

        boolean matches(List<UnitId> other) {
            if (other == candidates) {
                return true;
            }
            int n = candidates.size();
            if (other.size() != n) {
                return false;
            }
            for (int i = 0; i < n; i++) {
                if (!candidates.get(i).equals(other.get(i))) {
                    return false;
                }
            }
            return true;
        }

        private static int gcd(int a, int b) {
            while (b != 0) {
                int t = a % b;
                a = b;
                b = t;
            }
            return a;
        }
    }
}
