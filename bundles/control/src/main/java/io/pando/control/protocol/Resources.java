package io.pando.control.protocol;

import org.osgi.annotation.versioning.ProviderType;

/**
 * The resources an OPEN asks for, per unit unless said otherwise. Zero (or -1 for the reorder bound) means
 * "not given": the router's default applies.
 *
 * @param milliCpus CPU share per unit in thousandths of a core, 10 to 64000; 0 = default (500)
 * @param memoryMb sandbox memory per unit in MiB, 64 to 8192; 0 = default (128)
 * @param cpuBudgetMicros CPU time one datagram may take, 100 to 10,000,000 µs; 0 = default (20,000)
 * @param bandwidthBps bits per second the session sends into the router, whole session; 0 = none reserved
 * @param reorderMillis the reorder bound, 0 to 10,000 ms; -1 = the aggregation strategy's default
 */
@ProviderType
public record Resources(int milliCpus, int memoryMb, int cpuBudgetMicros, long bandwidthBps, int reorderMillis) {

    /** Everything by default. */
    public static final Resources DEFAULT = new Resources(0, 0, 0, 0, -1);
    /** The CPU share used when none is given (thousandths of a core). */
    public static final int DEFAULT_MILLI_CPUS = 500;

    /** @throws IllegalArgumentException naming the value that is out of range */
    public Resources {
        check("CPU_SHARE", milliCpus, 10, 64_000);
        check("MEMORY", memoryMb, 64, 8192);
        check("CPU_BUDGET", cpuBudgetMicros, 100, 10_000_000);
        if (bandwidthBps < 0) {
            throw new IllegalArgumentException("BANDWIDTH is >= 1 bit/s, got " + Long.toUnsignedString(bandwidthBps));
        }
        if (reorderMillis < -1 || reorderMillis > 10_000) {
            throw new IllegalArgumentException("REORDER is in [0, 10000] ms, got " + reorderMillis);
        }
    }

    private static void check(String field, long v, long min, long max) {
        if (v != 0 && (v < min || v > max)) {
            throw new IllegalArgumentException(field + " is in [" + min + ", " + max + "], got " + v);
        }
    }

    /** @return the CPU share per unit in cores, the default when not given */
    public double cpus() {
        return (milliCpus == 0 ? DEFAULT_MILLI_CPUS : milliCpus) / 1000.0;
    }
}
