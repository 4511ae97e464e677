package io.pando.artp;

import java.time.Duration;
import org.osgi.annotation.versioning.ProviderType;

/**
 * Tunables of an ARTP endpoint. Immutable; build with {@link #builder()}. Defaults are documented in
 * docs/artp.md ("Timers") and suit a cluster interconnect or a LAN.
 */
@ProviderType
public final class ArtpConfig {

    /** Smallest packet size any endpoint must accept. */
    public static final int MIN_PACKET_SIZE = 256;
    /** Largest UDP payload over IPv4. */
    public static final int MAX_PACKET_SIZE = 65507;

    public final int maxPacketSize;
    public final int maxDatagramSize;
    public final int datagramWindow;
    public final long reassemblyBytes;
    public final long initialRtoNanos;
    public final long minRtoNanos;
    public final long maxRtoNanos;
    public final long maxAckDelayNanos;
    public final int ackElicitingThreshold;
    public final long keepAliveNanos;
    public final long idleTimeoutNanos;
    public final long reassemblyTimeoutNanos;
    public final int handshakeAttempts;
    public final int maxConnections;
    public final boolean pacing;
    public final long sendHighWater;
    public final long sendLowWater;
    public final int socketBufferBytes;
    public final boolean preferEpoll;
    public final boolean segmentationOffload;

    private ArtpConfig(Builder b) {
        this.maxPacketSize = b.maxPacketSize;
        this.maxDatagramSize = b.maxDatagramSize;
        this.datagramWindow = b.datagramWindow;
        this.reassemblyBytes = b.reassemblyBytes;
        this.initialRtoNanos = b.initialRto.toNanos();
        this.minRtoNanos = b.minRto.toNanos();
        this.maxRtoNanos = b.maxRto.toNanos();
        this.maxAckDelayNanos = b.maxAckDelay.toNanos();
        this.ackElicitingThreshold = b.ackElicitingThreshold;
        this.keepAliveNanos = b.keepAlive.toNanos();
        this.idleTimeoutNanos = b.idleTimeout.toNanos();
        this.reassemblyTimeoutNanos = (b.reassemblyTimeout == null ? b.idleTimeout.multipliedBy(2)
            : b.reassemblyTimeout).toNanos();
        this.handshakeAttempts = b.handshakeAttempts;
        this.maxConnections = b.maxConnections;
        this.pacing = b.pacing;
        this.sendHighWater = b.sendHighWater;
        this.sendLowWater = b.sendLowWater;
        this.socketBufferBytes = b.socketBufferBytes;
        this.preferEpoll = b.preferEpoll;
        this.segmentationOffload = b.segmentationOffload;
    }

    public static ArtpConfig defaults() {
        return builder().build();
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Builder; every setter validates its argument and throws {@link IllegalArgumentException} with the rule. */
    public static final class Builder {
        private int maxPacketSize = 1452;
        private int maxDatagramSize = 1 << 20;
        private int datagramWindow = 8192;
        private long reassemblyBytes = 32L << 20;
        private Duration initialRto = Duration.ofMillis(500);
        private Duration minRto = Duration.ofMillis(20);
        private Duration maxRto = Duration.ofSeconds(10);
        private Duration maxAckDelay = Duration.ofMillis(2);
        private int ackElicitingThreshold = 2;
        private Duration keepAlive = Duration.ofSeconds(5);
        private Duration idleTimeout = Duration.ofSeconds(30);
        private Duration reassemblyTimeout;
        private int handshakeAttempts = 6;
        private int maxConnections = 10_000;
        private boolean pacing;
        private long sendHighWater = 4L << 20;
        private long sendLowWater = 1L << 20;
        private int socketBufferBytes = 8 << 20;
        private boolean preferEpoll = true;
        private boolean segmentationOffload = true;

        private Builder() {
        }

        private static int range(String name, int v, int min, int max) {
            if (v < min || v > max) {
                throw new IllegalArgumentException(name + " must be in [" + min + ", " + max + "], got " + v);
            }
            return v;
        }

        private static Duration positive(String name, Duration d) {
            if (d == null || d.isNegative() || d.isZero()) {
                throw new IllegalArgumentException(name + " must be a positive duration, got " + d);
            }
            return d;
        }

        /** Largest UDP payload this endpoint sends and accepts, [256, 65507]; default 1452. */
        public Builder maxPacketSize(int v) {
            maxPacketSize = range("maxPacketSize", v, MIN_PACKET_SIZE, MAX_PACKET_SIZE);
            return this;
        }

        /** Largest datagram accepted from a peer, [1, 64 MiB]; default 1 MiB. */
        public Builder maxDatagramSize(int v) {
            maxDatagramSize = range("maxDatagramSize", v, 1, 64 << 20);
            return this;
        }

        /** Datagram credit granted to a peer (datagram ids beyond the delivered point), [1, 65536]; default 8192. */
        public Builder datagramWindow(int v) {
            datagramWindow = range("datagramWindow", v, 1, 65536);
            return this;
        }

        /** Bytes of partially reassembled datagrams one connection may hold; default 32 MiB. */
        public Builder reassemblyBytes(long v) {
            if (v < 1024) {
                throw new IllegalArgumentException("reassemblyBytes must be >= 1024, got " + v);
            }
            reassemblyBytes = v;
            return this;
        }

        public Builder initialRto(Duration d) {
            initialRto = positive("initialRto", d);
            return this;
        }

        public Builder minRto(Duration d) {
            minRto = positive("minRto", d);
            return this;
        }

        public Builder maxRto(Duration d) {
            maxRto = positive("maxRto", d);
            return this;
        }

        public Builder maxAckDelay(Duration d) {
            maxAckDelay = positive("maxAckDelay", d);
            return this;
        }

        /** Acknowledge after this many ack-eliciting packets at the latest, [1, 64]; default 2. */
        public Builder ackElicitingThreshold(int v) {
            ackElicitingThreshold = range("ackElicitingThreshold", v, 1, 64);
            return this;
        }

        public Builder keepAlive(Duration d) {
            keepAlive = positive("keepAlive", d);
            return this;
        }

        /** No packet from the peer for this long closes the connection; at least 1 s; default 30 s. */
        public Builder idleTimeout(Duration d) {
            if (positive("idleTimeout", d).toMillis() < 1000) {
                throw new IllegalArgumentException("idleTimeout must be >= 1 s, got " + d);
            }
            idleTimeout = d;
            return this;
        }

        public Builder reassemblyTimeout(Duration d) {
            reassemblyTimeout = positive("reassemblyTimeout", d);
            return this;
        }

        public Builder handshakeAttempts(int v) {
            handshakeAttempts = range("handshakeAttempts", v, 1, 20);
            return this;
        }

        public Builder maxConnections(int v) {
            maxConnections = range("maxConnections", v, 1, 1 << 24);
            return this;
        }

        /** Spread packets over the RTT at 1.25 cwnd/SRTT instead of sending bursts; default off. */
        public Builder pacing(boolean v) {
            pacing = v;
            return this;
        }

        /** Send-queue water marks in bytes for {@link ArtpConnection#isWritable()}. */
        public Builder sendWaterMarks(long low, long high) {
            if (low < 0 || high <= low) {
                throw new IllegalArgumentException("need 0 <= low < high, got low=" + low + " high=" + high);
            }
            sendLowWater = low;
            sendHighWater = high;
            return this;
        }

        public Builder socketBufferBytes(int v) {
            socketBufferBytes = range("socketBufferBytes", v, 64 << 10, 1 << 30);
            return this;
        }

        /** Use the native epoll transport when available (default); false forces NIO. */
        public Builder preferEpoll(boolean v) {
            preferEpoll = v;
            return this;
        }

        /**
         * Hand consecutive packets to one peer to the kernel as one UDP GSO send (epoll on Linux only, where the
         * kernel supports UDP_SEGMENT); default on. The packets on the wire are the same.
         */
        public Builder segmentationOffload(boolean v) {
            segmentationOffload = v;
            return this;
        }

        public ArtpConfig build() {
            if (minRto.compareTo(maxRto) > 0) {
                throw new IllegalArgumentException("minRto " + minRto + " exceeds maxRto " + maxRto);
            }
            return new ArtpConfig(this);
        }
    }
}
