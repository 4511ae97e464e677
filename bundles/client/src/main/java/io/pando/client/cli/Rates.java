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

    static String oneDecimal(double v) {
        return String.format(java.util.Locale.ROOT, "%.1f", v);
    }
}
