package io.pando.distribution.impl;

import io.pando.api.router.MigrationInfo;
import io.pando.api.router.RouterService;
import io.pando.api.router.SessionInfo;
import io.pando.api.router.UnitInfo;
import io.pando.api.session.SessionId;
import io.pando.api.session.SessionState;
import io.pando.api.unit.UnitId;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The dynamic load balancer: moves a live session off a unit that stays overloaded to a unit with room, by the
 * router's own migration ({@link RouterService#migrateSession}: state, timers and held datagrams go along, nothing
 * is lost).
 *
 * <p>Every round it reads the units' load reports and each session's CPU time per unit. A unit's load is the larger
 * of its measured CPU and its buffer-pool fill; it is <em>overloaded</em> at {@link Settings#overload()} or more,
 * and a unit overloaded for {@link Settings#sustain()} rounds in a row sheds one session. A session's share of a
 * unit is its CPU time there since the last round over the round's length. The session moved is the busiest one of
 * the unit (not moved within {@link Settings#cooldown()}) for which some other unit, itself not overloaded, would
 * lower the larger of the two loads by at least {@link Settings#margin()}: moving a session that is the whole of the
 * overload only moves the overload, and is not done (nor is a unit's lone session ever moved: its share and the
 * unit's load are measured apart, and a lone session takes the unit's whole load along wherever it goes). The least loaded such target is tried first; a target the
 * router refuses (drained, lacking the program, unable to take sessions over) is counted, logged with the reason
 * and not tried again for that session within the cooldown, and the next one is tried.
 * At most one session moves per round, and the source's count starts again.
 *
 * <p>Rounds run on a thread of their own ({@link #start()}); {@link #round(long)} is one round, for tests.
 * The balancer sees what the router's {@link RouterService} shows: the units of this node (local, and remote units
 * it reaches), and, for a session in a sandbox, the program's CPU as its sandbox reports it.
 */
final class SessionBalancer {

    private static final Logger LOG = System.getLogger(SessionBalancer.class.getName());

    /**
     * @param interval time between rounds; zero turns the balancer off
     * @param overload a unit is overloaded at this load or more, in (0, 1]
     * @param sustain rounds in a row a unit must be overloaded before it sheds a session, in [1, 100]
     * @param margin by how much a move must lower the larger of the two units' loads, in [0, 1)
     * @param cooldown how long a moved session stays where it went
     */
    record Settings(Duration interval, double overload, int sustain, double margin, Duration cooldown) {

        static final Settings DEFAULTS = new Settings(Duration.ofSeconds(1), 0.85, 3, 0.1, Duration.ofSeconds(30));

        /** @throws IllegalArgumentException naming the setting and its range */
        Settings {
            if (interval.isNegative() || interval.compareTo(Duration.ofHours(1)) > 0) {
                throw new IllegalArgumentException("balancer.interval.ms must be in [0, 3600000] (0: off), got "
                    + interval.toMillis());
            }
            if (!(overload > 0 && overload <= 1)) {
                throw new IllegalArgumentException("balancer.overload must be in (0, 1], got " + overload);
            }
            if (sustain < 1 || sustain > 100) {
                throw new IllegalArgumentException("balancer.sustain must be in [1, 100], got " + sustain);
            }
            if (!(margin >= 0 && margin < 1)) {
                throw new IllegalArgumentException("balancer.margin must be in [0, 1), got " + margin);
            }
            if (cooldown.isNegative() || cooldown.compareTo(Duration.ofDays(1)) > 0) {
                throw new IllegalArgumentException("balancer.cooldown.s must be in [0, 86400], got "
                    + cooldown.toSeconds());
            }
        }

        boolean enabled() {
            return !interval.isZero();
        }
    }

    private record Placement(SessionId session, UnitId unit) {
    }

    private record Move(SessionInfo session, double share) {
    }

    private final RouterService router;
    private final Settings settings;
    // the state of the rounds: used by one thread at a time (the balancer's, or a test's)
    private final Map<UnitId, Integer> streaks = new HashMap<>();
    private Map<Placement, Long> lastCpu = new HashMap<>();
    private final Map<SessionId, Long> movedAt = new HashMap<>();
    /** Moves the router refused, not tried again within the cooldown (a refusal says why, once). */
    private final Map<Placement, Long> refusedAt = new HashMap<>();
    private long lastRound;
    private boolean hadRound;
    private ScheduledExecutorService timer;

    private final AtomicLong rounds = new AtomicLong();
    private final AtomicLong moves = new AtomicLong();
    private final AtomicLong refusals = new AtomicLong();
    private final AtomicLong stuck = new AtomicLong();
    private final AtomicLong errors = new AtomicLong();

    SessionBalancer(RouterService router, Settings settings) {
        this.router = router;
        this.settings = settings;
    }

    /** Starts the rounds on a thread of their own, if the balancer is on. */
    synchronized void start() {
        if (!settings.enabled() || timer != null) {
            return;
        }
        timer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "pando-balancer");
            t.setDaemon(true);
            return t;
        });
        long ms = settings.interval().toMillis();
        timer.scheduleWithFixedDelay(this::scheduledRound, ms, ms, TimeUnit.MILLISECONDS);
        LOG.log(Level.INFO, "session balancer on: every {0} ms, a unit at load {1} or more for {2} rounds sheds a "
            + "session (margin {3}, cooldown {4} s)", ms, settings.overload(), settings.sustain(), settings.margin(),
            settings.cooldown().toSeconds());
    }

    /** Stops the rounds; a migration under way completes first. */
    synchronized void stop() {
        if (timer != null) {
            timer.shutdown();
            try {
                timer.awaitTermination(30, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            timer = null;
        }
    }

    private void scheduledRound() {
        try {
            round(System.nanoTime());
        } catch (RuntimeException e) { // the next round tries again
            errors.incrementAndGet();
            LOG.log(Level.WARNING, "session balancer: round failed: " + e, e);
        }
    }

    /** @return the balancer's counters, snake_case keys prefixed {@code balancer_} */
    Map<String, Long> counters() {
        Map<String, Long> m = new LinkedHashMap<>();
        m.put("balancer_rounds", rounds.get());
        m.put("balancer_moves", moves.get());
        m.put("balancer_refusals", refusals.get());
        m.put("balancer_overloaded_unmoved", stuck.get());
        m.put("balancer_errors", errors.get());
        return m;
    }

    /**
     * One round.
     *
     * @param now {@link System#nanoTime()} or a test's clock
     * @return the migration it did, if any
     */
    Optional<MigrationInfo> round(long now) {
        rounds.incrementAndGet();
        List<UnitInfo> units = router.units();
        List<SessionInfo> sessions = router.sessions();
        long elapsed = hadRound ? now - lastRound : 0;
        hadRound = true;
        lastRound = now;

        Map<UnitId, Double> load = new HashMap<>();
        for (UnitInfo u : units) {
            load.put(u.id(), Math.max(u.load().cpu(), u.load().bufferFill()));
        }
        streaks.keySet().retainAll(load.keySet());
        List<UnitId> sources = new ArrayList<>();
        for (Map.Entry<UnitId, Double> e : load.entrySet()) {
            if (e.getValue() >= settings.overload()) {
                int n = streaks.merge(e.getKey(), 1, Integer::sum);
                if (n >= settings.sustain()) {
                    sources.add(e.getKey());
                }
            } else {
                streaks.remove(e.getKey());
            }
        }
        Map<Placement, Double> shares = shares(sessions, elapsed);
        movedAt.values().removeIf(t -> now - t >= settings.cooldown().toNanos());
        refusedAt.values().removeIf(t -> now - t >= settings.cooldown().toNanos());
        movedAt.keySet().retainAll(sessions.stream().map(SessionInfo::id).toList());
        if (elapsed <= 0) {
            return Optional.empty(); // no shares yet
        }
        sources.sort(Comparator.comparingDouble((UnitId u) -> -load.get(u)).thenComparing(UnitId::value));
        for (UnitId source : sources) {
            Optional<MigrationInfo> m = shed(source, sessions, load, shares, now);
            if (m.isPresent()) {
                return m;
            }
            stuck.incrementAndGet();
            LOG.log(Level.DEBUG, "session balancer: unit {0} is overloaded ({1}) for {2} rounds, and no session of it "
                + "can go anywhere that helps", source, load.get(source), streaks.get(source));
        }
        return Optional.empty();
    }

    /** @return each session's CPU share of each unit serving it since the last round (remembering the times) */
    private Map<Placement, Double> shares(List<SessionInfo> sessions, long elapsed) {
        Map<Placement, Long> cpu = new HashMap<>();
        Map<Placement, Double> shares = new HashMap<>();
        for (SessionInfo s : sessions) {
            for (Map.Entry<UnitId, Map<String, Long>> e : s.unitCounters().entrySet()) {
                Long ns = e.getValue().get("cpu_ns");
                if (ns == null) {
                    continue;
                }
                Placement p = new Placement(s.id(), e.getKey());
                cpu.put(p, ns);
                Long before = lastCpu.get(p);
                if (elapsed > 0 && before != null && ns >= before) {
                    shares.put(p, Math.min(1.0, (double) (ns - before) / elapsed));
                }
            }
        }
        lastCpu = cpu;
        return shares;
    }

    /** Moves the busiest session of {@code source} that can go somewhere it helps. */
    private Optional<MigrationInfo> shed(UnitId source, List<SessionInfo> sessions, Map<UnitId, Double> load,
        Map<Placement, Double> shares, long now) {
        double from = load.get(source);
        if (sessions.stream().filter(s -> s.units().contains(source)).count() < 2) {
            return Optional.empty(); // a lone session would take the whole load along
        }
        List<Move> candidates = new ArrayList<>();
        for (SessionInfo s : sessions) {
            if (s.state() == SessionState.ACTIVE && s.units().contains(source) && !movedAt.containsKey(s.id())) {
                candidates.add(new Move(s, shares.getOrDefault(new Placement(s.id(), source), 0.0)));
            }
        }
        candidates.sort(Comparator.comparingDouble((Move c) -> -c.share()).thenComparing(c -> c.session().id().value()));
        for (Move c : candidates) {
            List<UnitId> targets = load.keySet().stream()
                .filter(u -> !c.session().units().contains(u) && load.get(u) < settings.overload()
                    && !refusedAt.containsKey(new Placement(c.session().id(), u))
                    && Math.max(from - c.share(), load.get(u) + c.share()) <= from - settings.margin())
                .sorted(Comparator.comparingDouble((UnitId u) -> load.get(u)).thenComparing(UnitId::value))
                .toList();
            for (UnitId target : targets) {
                try {
                    MigrationInfo m = router.migrateSession(c.session().id(), source, target);
                    moves.incrementAndGet();
                    movedAt.put(c.session().id(), now);
                    streaks.remove(source);
                    LOG.log(Level.INFO, "session balancer: unit {0} overloaded ({1}) for {2} rounds: moved session {3} "
                        + "(CPU share {4}) to unit {5} (load {6}); hand-over {7} µs", source, fmt(from),
                        settings.sustain(), c.session().id(), fmt(c.share()), target, fmt(load.get(target)),
                        Long.toString(m.handover().toNanos() / 1000));
                    return Optional.of(m);
                } catch (RuntimeException e) { // refused with the reason (drained, lacks the program, ...)
                    refusals.incrementAndGet();
                    refusedAt.put(new Placement(c.session().id(), target), now);
                    LOG.log(Level.INFO, "session balancer: session {0} cannot move from {1} to {2}: {3}",
                        c.session().id(), source, target, e.getMessage());
                }
            }
        }
        return Optional.empty();
    }

    private static String fmt(double v) {
        return String.format(java.util.Locale.ROOT, "%.2f", v);
    }
}
