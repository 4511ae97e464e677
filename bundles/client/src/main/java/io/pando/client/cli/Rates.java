package io.pando.client.cli;

/** Throughput arithmetic shared by send and recv. */
final class Rates {

    private Rates() {
    }

    static double perSecond(long count, double seconds) {
        return seconds > 0 ? count / seconds : 0.0;
    }

    static double mbitPerSecond(long bytes, double seconds) {
        return seconds > 0 ? bytes * 8.0 / seconds / 1e6 : 0.0;
    }

    static String seconds(double s) {
        return String.format(java.util.Locale.ROOT, "%.3f", s);
    }

    /** @return CPU time (user + system) this process has used so far, in seconds; -1 if the JVM cannot tell */
    static double processCpuSeconds() {
        java.lang.management.OperatingSystemMXBean os = java.lang.management.ManagementFactory.getOperatingSystemMXBean();
        if (os instanceof com.sun.management.OperatingSystemMXBean) {
            long nanos = ((com.sun.management.OperatingSystemMXBean) os).getProcessCpuTime();
            return nanos < 0 ? -1 : nanos / 1e9;
        }
        return -1;
    }

    static String oneDecimal(double v) {
        return String.format(java.util.Locale.ROOT, "%.1f", v);
    }
}
