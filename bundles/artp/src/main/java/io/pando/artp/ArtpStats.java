package io.pando.artp;

import java.util.LinkedHashMap;
import java.util.Map;
import org.osgi.annotation.versioning.ProviderType;

/** An immutable snapshot of {@link ArtpCounter} values. */
@ProviderType
public final class ArtpStats {

    private static final ArtpCounter[] ALL = ArtpCounter.values();

    private final long[] values;

    /** @param values one value per {@link ArtpCounter}, in declaration order (copied) */
    public ArtpStats(long[] values) {
        if (values.length != ALL.length) {
            throw new IllegalArgumentException("expected " + ALL.length + " values, got " + values.length);
        }
        this.values = values.clone();
    }

    public long get(ArtpCounter counter) {
        return values[counter.ordinal()];
    }

    /** @return the sum of all drop counters (packets discarded for any reason) */
    public long drops() {
        long sum = 0;
        for (ArtpCounter c : new ArtpCounter[] {ArtpCounter.TRUNCATED, ArtpCounter.BAD_VERSION,
            ArtpCounter.BAD_TYPE, ArtpCounter.BAD_FLAGS, ArtpCounter.MALFORMED, ArtpCounter.BAD_CHECKSUM,
            ArtpCounter.AUTH_FAILED, ArtpCounter.REPLAYED, ArtpCounter.UNKNOWN_CONNECTION, ArtpCounter.INVALID_ACK,
            ArtpCounter.FLOW_CONTROL, ArtpCounter.REASSEMBLY_FULL, ArtpCounter.COOKIE_INVALID}) {
            sum += get(c);
        }
        return sum;
    }

    /** @return counter name to value, in declaration order */
    public Map<String, Long> toMap() {
        Map<String, Long> map = new LinkedHashMap<>();
        for (ArtpCounter c : ALL) {
            map.put(c.key(), values[c.ordinal()]);
        }
        return map;
    }

    @Override
    public String toString() {
        return toMap().toString();
    }
}
