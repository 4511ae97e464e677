package io.pando.policies.impl;

import io.pando.api.policy.LoadBalancingPolicy;
import io.pando.api.program.Datagram;
import io.pando.api.session.ActiveSession;
import io.pando.api.unit.UnitId;
import io.pando.api.unit.UnitLoad;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/**
 * Dynamic load balancing from live {@link UnitLoad} reports: each datagram goes to the candidate with the
 * lowest load.
 *
 * <p>The load of a unit is its latest report read through the configured {@link Metric}. A missing report,
 * or one older than {@code stale.after.ms}, counts as unknown: higher than any known load. Because reports
 * arrive only periodically, the policy also counts the datagrams it sent to each unit since that unit's
 * latest report ("assigned"); with {@link Metric#QUEUE} they are added to the reported queue, with the other
 * metrics they break near-ties. The choice is, in this order:
 * <ol>
 * <li>the candidates whose load is within {@code tie.tolerance} of the lowest load;</li>
 * <li>among them, those with the fewest datagrams assigned since their latest report;</li>
 * <li>among them, the first in candidate order (the distribution unit's stable order).</li>
 * </ol>
 * So the choice is deterministic for a given sequence of calls, and units that look equally loaded (for
 * example before any report came in) take turns instead of one of them taking everything.
 *
 * <p><b>Threading:</b> {@link #choose} runs concurrently on the distribution unit's I/O threads. Lock free:
 * two scans of the candidates with one map lookup each, and one atomic increment per datagram; allocation
 * only when a unit is first seen. The per-unit counts are shared by all sessions (load is per unit).
 */
@Component(name = "io.pando.policies.least-loaded", service = LoadBalancingPolicy.class,
    configurationPolicy = ConfigurationPolicy.OPTIONAL, property = "name=" + LeastLoadedPolicy.NAME)
@Designate(ocd = LeastLoadedPolicy.Config.class)
public class LeastLoadedPolicy implements LoadBalancingPolicy {

    /** The policy's name. */
    public static final String NAME = "least-loaded";

    /** How a load report is turned into one number. */
    public enum Metric {
        /** The unit's CPU fraction. */
        CPU,
        /** The fill of the unit's shared buffer pool. */
        BUFFER,
        /** The larger of CPU fraction and buffer fill: the unit's tightest resource. */
        COMBINED,
        /** Datagrams queued at the unit, plus those sent to it since its report. */
        QUEUE
    }

    /** Configuration of the least-loaded policy. */
    @ObjectClassDefinition(name = "Pando load balancing: least loaded",
        description = "Each datagram goes to the unit that reports the lowest load.")
    public @interface Config {

        /** @return the metric */
        @AttributeDefinition(name = "Metric",
            description = "What 'load' means: CPU, BUFFER (buffer pool fill), COMBINED (the larger of the two) "
                + "or QUEUE (queued datagrams).")
        Metric metric() default Metric.COMBINED;

        /** @return when a report is stale */
        @AttributeDefinition(name = "Stale after (ms)",
            description = "A report older than this counts as no report, in [1, 3600000].")
        long stale_after_ms() default 1000;

        /** @return the tolerance */
        @AttributeDefinition(name = "Tie tolerance",
            description = "Loads that differ by at most this much count as equal, in [0, 1000000] (a fraction "
                + "for CPU, BUFFER and COMBINED, datagrams for QUEUE).")
        double tie_tolerance() default 0.02;
    }

    private final Metric metric;
    private final long staleAfterMillis;
    private final double tolerance;
    private final LongSupplier clockMillis;
    private final ConcurrentHashMap<UnitId, Tally> tallies = new ConcurrentHashMap<>();

    /**
     * @param config the configuration
     * @throws IllegalArgumentException if a value breaks its rule
     */
    @Activate
    public LeastLoadedPolicy(Config config) {
        this(config.metric(), config.stale_after_ms(), config.tie_tolerance(), System::currentTimeMillis);
    }

    LeastLoadedPolicy(Metric metric, long staleAfterMillis, double tolerance, LongSupplier clockMillis) {
        if (metric == null) {
            throw new IllegalArgumentException(NAME + ": 'metric' must be one of CPU, BUFFER, COMBINED, QUEUE");
        }
        PolicySettings.checkRange(NAME, "stale.after.ms", staleAfterMillis, 1, 3_600_000);
        if (!(tolerance >= 0 && tolerance <= 1_000_000)) {
            throw new IllegalArgumentException(NAME + ": 'tie.tolerance' must be in [0, 1000000], got " + tolerance);
        }
        this.metric = metric;
        this.staleAfterMillis = staleAfterMillis;
        this.tolerance = tolerance;
        this.clockMillis = clockMillis;
    }

    @Override
    public UnitId choose(Datagram datagram, ActiveSession session, List<UnitId> candidates,
        Map<UnitId, UnitLoad> loads) {
        int n = candidates.size();
        long now = clockMillis.getAsLong();
        if (tallies.size() > 4 * n + 1024) {
            tallies.keySet().retainAll(candidates);
        }
        double lowest = Double.POSITIVE_INFINITY;
        for (int i = 0; i < n; i++) {
            lowest = Math.min(lowest, load(candidates.get(i), loads, now));
        }
        int best = -1;
        long bestAssigned = Long.MAX_VALUE;
        Tally bestTally = null;
        for (int i = 0; i < n; i++) {
            UnitId unit = candidates.get(i);
            double load = load(unit, loads, now);
            boolean near = lowest == Double.POSITIVE_INFINITY ? load == lowest : load <= lowest + tolerance;
            if (!near) {
                continue;
            }
            Tally tally = tally(unit);
            long assigned = tally.assigned.get();
            if (assigned < bestAssigned) {
                best = i;
                bestAssigned = assigned;
                bestTally = tally;
            }
        }
        if (best < 0) {
            // Only reachable if loads changed between the two scans; any candidate is correct.
            best = 0;
            bestTally = tally(candidates.get(0));
        }
        bestTally.assigned.incrementAndGet();
        return candidates.get(best);
    }

    /** @return the load of a unit by the configured metric, +infinity if unknown; resets its tally on a new report */
    private double load(UnitId unit, Map<UnitId, UnitLoad> loads, long now) {
        UnitLoad report = loads.get(unit);
        if (report == null) {
            return Double.POSITIVE_INFINITY;
        }
        long at = report.at().toEpochMilli();
        if (now - at > staleAfterMillis) {
            return Double.POSITIVE_INFINITY;
        }
        Tally tally = tally(unit);
        long seen = tally.reportAt;
        if (seen != at && (seen == Long.MIN_VALUE || at > seen)) {
            tally.reportAt = at;
            tally.assigned.set(0);
        }
        return switch (metric) {
            case CPU -> report.cpu();
            case BUFFER -> report.bufferFill();
            case COMBINED -> Math.max(report.cpu(), report.bufferFill());
            case QUEUE -> report.queuedDatagrams() + tally.assigned.get();
        };
    }

    private Tally tally(UnitId unit) {
        Tally tally = tallies.get(unit);
        return tally != null ? tally : tallies.computeIfAbsent(unit, u -> new Tally());
    }

    /** @return datagrams sent to a unit since its latest report; for diagnostics and tests */
    long assignedSinceReport(UnitId unit) {
        Tally tally = tallies.get(unit);
        return tally == null ? 0 : tally.assigned.get();
    }

    /** What the policy sent to one unit since that unit's latest report. */
    private static final class Tally {
        volatile long reportAt = Long.MIN_VALUE;
        final AtomicLong assigned = new AtomicLong();
    }
}
