package io.pando.ee.api;

import org.osgi.annotation.versioning.ProviderType;

/**
 * The size limits a program bundle must keep; they stop zip bombs and oversized uploads before any class is
 * parsed. Uncompressed sizes are counted while inflating, never taken from the archive's headers.
 *
 * @param maxJarBytes largest jar, compressed
 * @param maxUncompressedBytes largest sum of all entries, uncompressed
 * @param maxEntries most entries (files and directories)
 * @param maxCompressionRatio largest ratio uncompressed/compressed of one entry, checked for entries over
 *        {@link #RATIO_THRESHOLD_BYTES} uncompressed
 */
@ProviderType
public record VerificationLimits(long maxJarBytes, long maxUncompressedBytes, int maxEntries,
    int maxCompressionRatio) {

    /** Entries up to this many uncompressed bytes are not ratio-checked (tiny files compress very well). */
    public static final long RATIO_THRESHOLD_BYTES = 64 * 1024;

    /** 8 MiB jar, 32 MiB uncompressed, 4096 entries, ratio 100. */
    public static final VerificationLimits DEFAULT = new VerificationLimits(8L << 20, 32L << 20, 4096, 100);

    /**
     * @throws IllegalArgumentException if a limit is not positive
     */
    public VerificationLimits {
        if (maxJarBytes <= 0 || maxUncompressedBytes <= 0 || maxEntries <= 0 || maxCompressionRatio <= 0) {
            throw new IllegalArgumentException("verification limits must be positive, got " + maxJarBytes + " B jar, "
                + maxUncompressedBytes + " B uncompressed, " + maxEntries + " entries, ratio " + maxCompressionRatio);
        }
    }
}
