package io.pando.cluster.impl;

import io.pando.cluster.NodeFeatureReport;
import io.pando.cluster.NodeFeatureReport.FeatureState;
import io.pando.cluster.NodeFeatureReport.FeatureState.Status;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.time.Clock;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * Brings one node to the desired features: installs every desired feature the node does not run, uninstalls the
 * features it installed for the cluster that are no longer desired, and publishes a {@link NodeFeatureReport}
 * after every step. Level-triggered: each run compares the whole desired set with the node, so a missed change is
 * caught by the next run. Runs on its own thread (installing a feature can take seconds), when asked
 * ({@link #requestReconcile()}, coalesced) and every retry period, which retries what failed.
 */
final class FeatureReconciler implements AutoCloseable {

    private static final Logger LOG = System.getLogger(FeatureReconciler.class.getName());

    private final String node;
    private final FeatureInstaller installer;
    private final Supplier<Set<String>> desired;
    private final Consumer<NodeFeatureReport> publisher;
    private final Clock clock;
    private final ScheduledExecutorService executor;
    private final AtomicBoolean pending = new AtomicBoolean();
    /** Touched on the reconciler thread only. */
    private final Map<String, FeatureState> states = new TreeMap<>();
    /** The features this reconciler installed (and may therefore uninstall); reconciler thread only. */
    private final Set<String> installedHere = new HashSet<>();
    private volatile NodeFeatureReport last;

    /**
     * @param node this node's member name
     * @param installer the node's feature manager
     * @param desired reads the desired set (may throw while the cluster is unreachable: the run is then skipped)
     * @param publisher publishes the node's report (may throw: logged)
     * @param retrySeconds how often to run anyway, retrying failures
     * @param clock the clock of the report times
     */
    FeatureReconciler(String node, FeatureInstaller installer, Supplier<Set<String>> desired,
        Consumer<NodeFeatureReport> publisher, int retrySeconds, Clock clock) {
        this.node = node;
        this.installer = installer;
        this.desired = desired;
        this.publisher = publisher;
        this.clock = clock;
        this.last = new NodeFeatureReport(node, clock.instant(), Map.of());
        this.executor = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "pando-cluster-features");
            t.setDaemon(true);
            return t;
        });
        executor.scheduleWithFixedDelay(this::requestReconcile, 0, retrySeconds, TimeUnit.SECONDS);
    }

    /** Asks for a run soon; calls while one is waiting are merged into it. */
    void requestReconcile() {
        if (pending.compareAndSet(false, true)) {
            try {
                executor.execute(this::reconcile);
            } catch (java.util.concurrent.RejectedExecutionException e) {
                pending.set(false); // closed
            }
        }
    }

    /** @return the report of the last run */
    NodeFeatureReport report() {
        return last;
    }

    /** Stops the reconciler; an install under way completes in Karaf, its result is not reported. */
    @Override
    public void close() {
        executor.shutdownNow();
    }

    /** @return true if the reconciler thread ended within the time */
    boolean awaitClosed(long millis) throws InterruptedException {
        return executor.awaitTermination(millis, TimeUnit.MILLISECONDS);
    }

    private void reconcile() {
        pending.set(false);
        Set<String> want;
        try {
            want = new TreeSet<>(desired.get());
        } catch (RuntimeException e) {
            LOG.log(Level.DEBUG, "desired features unreadable, reconciling later: {0}", e.toString());
            return;
        }
        // forget what was reported removed by the previous run
        states.values().removeIf(s -> s.status() == Status.REMOVED);
        for (String f : want) {
            if (Thread.currentThread().isInterrupted()) {
                return;
            }
            FeatureState now = states.get(f);
            try {
                if (installer.isInstalled(f)) {
                    if (now == null || now.status() != Status.INSTALLED) {
                        set(f, Status.INSTALLED, "");
                    }
                    continue;
                }
                set(f, Status.PENDING, "");
                publish();
                LOG.log(Level.INFO, "installing cluster-wide feature {0} on {1}", f, node);
                installer.install(f);
                installedHere.add(f);
                set(f, Status.INSTALLED, "");
            } catch (Exception e) {
                if (e instanceof InterruptedException) {
                    Thread.currentThread().interrupt();
                    return;
                }
                LOG.log(Level.WARNING, "cluster-wide feature " + f + " failed to install on " + node + ": "
                    + message(e));
                set(f, Status.FAILED, "install failed: " + message(e));
            }
        }
        for (String f : new TreeSet<>(states.keySet())) {
            if (want.contains(f)) {
                continue;
            }
            if (!installedHere.contains(f)) {
                states.remove(f); // never installed for the cluster here: leave it as it is
                continue;
            }
            try {
                if (installer.isInstalled(f)) {
                    LOG.log(Level.INFO, "uninstalling feature {0} on {1}: no longer desired cluster-wide", f, node);
                    installer.uninstall(f);
                }
                installedHere.remove(f);
                set(f, Status.REMOVED, "");
            } catch (Exception e) {
                if (e instanceof InterruptedException) {
                    Thread.currentThread().interrupt();
                    return;
                }
                LOG.log(Level.WARNING, "feature " + f + " failed to uninstall on " + node + ": " + message(e));
                set(f, Status.FAILED, "uninstall failed: " + message(e));
            }
        }
        publish();
    }

    private void set(String feature, Status status, String message) {
        states.put(feature, new FeatureState(status, message, clock.instant()));
    }

    private void publish() {
        NodeFeatureReport r = new NodeFeatureReport(node, clock.instant(), states);
        last = r;
        try {
            publisher.accept(r);
        } catch (RuntimeException e) {
            LOG.log(Level.DEBUG, "feature report of {0} not published: {1}", node, e.toString());
        }
    }

    static String message(Throwable e) {
        String m = e.getMessage();
        String s = m == null || m.isBlank() ? e.getClass().getSimpleName() : m;
        s = s.replaceAll("\\s+", " ").strip();
        return s.length() > Records.MAX_MESSAGE ? s.substring(0, Records.MAX_MESSAGE) : s;
    }
}
