package io.pando.artp.impl;

/**
 * Round-trip time and retransmission timeout per RFC 6298: SRTT and RTTVAR with alpha = 1/8, beta = 1/4,
 * RTO = SRTT + max(G, 4 RTTVAR), clamped to [min, max], doubled on every expiry until the next valid sample.
 * Samples subtract the peer's acknowledgement delay when that does not push them below the minimum RTT
 * (RFC 9002 §5.3). Packet numbers are never reused, so every sample is unambiguous (no Karn's rule needed).
 */
final class RttEstimator {

    private static final long GRANULARITY = 1_000_000L; // 1 ms clock granularity G

    private final long initialRto;
    private final long minRto;
    private final long maxRto;
    private long srtt;
    private long rttvar;
    private long minRtt = Long.MAX_VALUE;
    private long latest;
    private boolean sampled;
    private int backoff;

    RttEstimator(long initialRto, long minRto, long maxRto) {
        this.initialRto = initialRto;
        this.minRto = minRto;
        this.maxRto = maxRto;
    }

    void sample(long rtt, long ackDelay) {
        if (rtt <= 0) {
            rtt = 1;
        }
        latest = rtt;
        minRtt = Math.min(minRtt, rtt);
        long adjusted = rtt - ackDelay >= minRtt ? rtt - ackDelay : rtt;
        if (!sampled) {
            srtt = adjusted;
            rttvar = adjusted / 2;
            sampled = true;
        } else {
            rttvar = (3 * rttvar + Math.abs(srtt - adjusted)) / 4;
            srtt = (7 * srtt + adjusted) / 8;
        }
        backoff = 0;
    }

    /** @return the current RTO including back-off, in nanoseconds */
    long rto() {
        long base = sampled ? srtt + Math.max(GRANULARITY, 4 * rttvar) : initialRto;
        base = Math.max(minRto, Math.min(maxRto, base));
        long r = base << Math.min(backoff, 16);
        return r < 0 || r > maxRto ? maxRto : r;
    }

    void backOff() {
        backoff++;
    }

    boolean hasSample() {
        return sampled;
    }

    long srtt() {
        return sampled ? srtt : initialRto;
    }

    long rttvar() {
        return rttvar;
    }

    long minRtt() {
        return minRtt == Long.MAX_VALUE ? 0 : minRtt;
    }

    long latest() {
        return latest;
    }

    /** Time threshold of loss detection: 9/8 max(SRTT, latest RTT), at least 1 ms (RFC 9002 §6.1.2). */
    long lossDelay() {
        long base = sampled ? Math.max(srtt, latest) : initialRto;
        return Math.max(GRANULARITY, base + (base >> 3));
    }
}
