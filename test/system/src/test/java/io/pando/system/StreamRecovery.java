package io.pando.system;

import java.time.Duration;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** What the fault tests read off a stream and a node while a node fails under it. */
final class StreamRecovery {

    private static final DateTimeFormatter LOG_TIME = DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss,SSS");

    private StreamRecovery() {
    }

    /** @return the session's datagrams_in on {@code node} once it is at least {@code min} (polled by console) */
    static long awaitDatagramsIn(KarafNode node, String session, long min) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        long in = 0;
        while (System.nanoTime() < deadline) {
            in = JsonValue.num(node.consoleJson("pando:session-info --json " + session), "counters", "datagrams_in");
            if (in >= min) {
                return in;
            }
            Thread.sleep(100);
        }
        throw new AssertionError("the stream did not start: " + in + " datagrams in after 120 s");
    }

    /** @return milliseconds from {@code from} to the time of a karaf.log line */
    static double msSince(Instant from, String logTime) {
        Instant at = LocalDateTime.parse(logTime, LOG_TIME).atZone(ZoneId.systemDefault()).toInstant();
        return Duration.between(from, at).toNanos() / 1e6;
    }

    /** @return a counter, or -1 if the session has none of that name */
    static long num(Map<String, Object> counters, String name) {
        Object v = counters.get(name);
        return v instanceof Number n ? n.longValue() : -1;
    }

    /**
     * @param intervals the receiver's arrivals per bin
     * @return the longest run of empty bins between the first and the last arrival, in milliseconds
     */
    static long longestGapMs(List<Object> intervals, int binMs) {
        long longest = 0;
        long run = 0;
        for (Object o : intervals) {
            if (((Number) o).longValue() == 0) {
                run++;
            } else {
                longest = Math.max(longest, run);
                run = 0;
            }
        }
        return longest * binMs;
    }
}
