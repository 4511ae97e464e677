package io.pando.system;

import java.time.Duration;
import java.time.Instant;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Collectors;

/** Times as the system tests print them: seconds, and per node ({@code c1 0.41, c2 0.44}). */
final class Figures {

    private Figures() {
    }

    /** @return seconds since {@code t0}, a {@link System#nanoTime()} */
    static double since(long t0) {
        return (System.nanoTime() - t0) / 1e9;
    }

    /** @return seconds from {@code t0} to {@code t} */
    static double secondsAfter(Instant t0, Instant t) {
        return Duration.between(t0, t).toNanos() / 1e9;
    }

    /** @return the largest of the times, NaN for none */
    static double max(Map<String, Double> times) {
        return times.values().stream().mapToDouble(Double::doubleValue).max().orElse(Double.NaN);
    }

    /** @return {@code c1 1.20, c2 1.40}: each node by its name after the last '-', its time to two decimals */
    static String figures(Map<String, Double> times) {
        return times.entrySet().stream()
            .map(e -> e.getKey().substring(e.getKey().lastIndexOf('-') + 1) + " "
                + String.format(Locale.ROOT, "%.2f", e.getValue()))
            .collect(Collectors.joining(", "));
    }
}
