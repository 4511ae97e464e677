package io.pando.artp;

/**
 * Every counter and gauge ARTP keeps, per connection and per endpoint. Names match docs/artp.md, "Counters".
 * Counters only grow; gauges ({@link #isGauge()}) are current values.
 */
public enum ArtpCounter {
    PACKETS_SENT,
    PACKETS_RECEIVED,
    BYTES_SENT,
    BYTES_RECEIVED,
    DATAGRAMS_SENT,
    DATAGRAMS_DELIVERED,
    CONTROL_DATAGRAMS_DELIVERED,
    RETRANSMITTED,
    FAST_RETRANSMITS,
    RTO_EXPIRATIONS,
    LOST,
    SPURIOUS_LOSSES,
    ACKS_SENT,
    ACKS_RECEIVED,
    DUPLICATES,
    DUPLICATE_FRAGMENTS,
    TRUNCATED,
    BAD_VERSION,
    BAD_TYPE,
    BAD_FLAGS,
    MALFORMED,
    BAD_CHECKSUM,
    AUTH_FAILED,
    REPLAYED,
    UNKNOWN_CONNECTION,
    INVALID_ACK,
    FLOW_CONTROL,
    REASSEMBLY_FULL,
    REASSEMBLY_TIMEOUT,
    HANDSHAKE_REJECTED,
    COOKIE_INVALID,
    CONNECTIONS_OPENED,
    CONNECTIONS_CLOSED,
    DATAGRAMS_ABANDONED,
    RECEIVE_PAUSES,
    /**
     * Connections not made because the endpoint had its maximum number ({@link ArtpConfig#maxConnections}) open:
     * handshakes refused with RESET SERVER_BUSY (also counted in {@link #HANDSHAKE_REJECTED}) and connects of this
     * endpoint that failed at once.
     *
     * @since 1.3
     */
    CONNECTION_LIMIT,
    SRTT_US(true),
    RTTVAR_US(true),
    MIN_RTT_US(true),
    LATEST_RTT_US(true),
    CWND(true),
    SSTHRESH(true),
    BYTES_IN_FLIGHT(true),
    CONNECTIONS(true);

    private final boolean gauge;

    ArtpCounter() {
        this(false);
    }

    ArtpCounter(boolean gauge) {
        this.gauge = gauge;
    }

    public boolean isGauge() {
        return gauge;
    }

    /** @return the documented lower-case name, e.g. {@code bad_checksum} */
    public String key() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}
