package io.pando.system;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.pando.artp.ArtpConnection;
import io.pando.artp.ArtpEndpoint;
import io.pando.artp.ArtpHandler;
import io.pando.artp.ControlBlock;
import io.pando.artp.SessionAcceptor;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/**
 * A synthetic RTP audio/video stream for a two-flow session, sent and received over ARTP from the test JVM.
 *
 * <p>Audio (flow {@link #AUDIO_FLOW}): one 160-byte packet every 20 ms, RTP clock 48 kHz (timestamp + 960 per
 * packet). Video (flow {@link #VIDEO_FLOW}): 30 frames per second, each frame three 1,000-byte packets with the
 * frame's timestamp, RTP clock 90 kHz (+ 3,000 per frame), the marker bit on the last. Both start from random
 * sequence numbers and timestamps (so both wrap-arounds are reachable) and are captured on one wall clock: packet
 * {@code k} of a stream has a capture time that its RTP timestamp states exactly. Each stream also sends an RTCP
 * sender report (RFC 3550 6.4.1) at its start and every second, mapping its RTP clock to the shared NTP wall clock,
 * as a real sender does so that receivers can line the two streams up.
 *
 * <p>Each packet leaves the sender at its capture time plus a random lag: up to {@link #AUDIO_JITTER_MS} for audio
 * and up to {@link #VIDEO_JITTER_MS} for video (an encoder and a path that delay video more than audio, so audio
 * and video come apart). The receiver notes the arrival of every packet; for a packet, <em>latency</em> = arrival
 * (or send) time - capture time. A stream that is in sync has the same latency for every packet of both flows; the
 * report gives the spread of latencies around their median and the difference of the two flows' medians (the A/V
 * skew), at the sender (what the router got) and at the receiver (what it made of it).
 */
final class AvStream implements AutoCloseable {

    static final long AUDIO_FLOW = 0;
    static final long VIDEO_FLOW = 1;
    static final int AUDIO_JITTER_MS = 5;
    static final int VIDEO_JITTER_MS = 80;
    private static final int AUDIO_PT = 111;
    private static final int VIDEO_PT = 96;
    private static final int AUDIO_BYTES = 160;
    private static final int VIDEO_BYTES = 1000;
    private static final int VIDEO_PACKETS_PER_FRAME = 3;

    /** One RTP packet of the stream. */
    record Packet(long flow, int seq, long timestamp, long captureNanos, long sendNanos, boolean marker,
        int payloadType, long ssrc, int bytes, boolean rtcp) {
    }

    /** The NTP time (seconds since 1900) of the streams' capture clock at 0. */
    private static final long NTP_BASE_SECONDS = 3_973_000_000L;

    private final List<Packet> packets = new ArrayList<>();
    /** arrival time by flow and RTP sequence number (16 bits), 0 = not (yet) arrived */
    private final long[][] arrivals = new long[2][65536];
    private final int[][] copies = new int[2][65536];
    private final AtomicLong received = new AtomicLong();
    private final AtomicLong foreign = new AtomicLong();
    private final AtomicLong rtcpReceived = new AtomicLong();
    private int rtcpSent;
    private final ConcurrentHashMap<String, Long> problems = new ConcurrentHashMap<>();
    private final ArtpEndpoint receiver;
    private volatile long startNanos;

    /**
     * Prepares {@code seconds} of stream and starts the receiver on {@code port}.
     */
    AvStream(int seconds, int port, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        long audioSsrc = random.nextLong(1, 1L << 32);
        long videoSsrc = random.nextLong(1, 1L << 32);
        // start close to the wrap of both 16-bit sequence numbers and 32-bit timestamps
        int audioSeq = 65536 - 200;
        int videoSeq = 65536 - 400;
        long audioTs0 = 0xFFFF_FFFFL - 48_000L * 2;
        long videoTs0 = 0xFFFF_FFFFL - 90_000L * 3;
        for (int k = 0; k < seconds * 50; k++) {
            long capture = TimeUnit.MILLISECONDS.toNanos(20L * k);
            long send = capture + random.nextLong(TimeUnit.MILLISECONDS.toNanos(AUDIO_JITTER_MS) + 1);
            packets.add(new Packet(AUDIO_FLOW, (audioSeq + k) & 0xFFFF, (audioTs0 + 960L * k) & 0xFFFF_FFFFL,
                capture, send, false, AUDIO_PT, audioSsrc, AUDIO_BYTES, false));
            if (k % 50 == 0) {
                packets.add(new Packet(AUDIO_FLOW, 0, (audioTs0 + 960L * k) & 0xFFFF_FFFFL, capture, send, false, 200,
                    audioSsrc, 0, true));
                rtcpSent++;
            }
        }
        int vs = videoSeq;
        for (int f = 0; f < seconds * 30; f++) {
            long capture = f * 1_000_000_000L / 30;
            long send = capture + random.nextLong(TimeUnit.MILLISECONDS.toNanos(VIDEO_JITTER_MS) + 1);
            if (f % 30 == 0) {
                packets.add(new Packet(VIDEO_FLOW, 0, (videoTs0 + 3000L * f) & 0xFFFF_FFFFL, capture, send, false, 200,
                    videoSsrc, 0, true));
                rtcpSent++;
            }
            for (int p = 0; p < VIDEO_PACKETS_PER_FRAME; p++) {
                packets.add(new Packet(VIDEO_FLOW, vs & 0xFFFF, (videoTs0 + 3000L * f) & 0xFFFF_FFFFL, capture,
                    send + p * 100_000L, p == VIDEO_PACKETS_PER_FRAME - 1, VIDEO_PT, videoSsrc, VIDEO_BYTES, false));
                vs++;
            }
        }
        packets.sort(Comparator.comparingLong(Packet::sendNanos));
        receiver = ArtpEndpoint.builder().bind(new InetSocketAddress("127.0.0.1", port))
            .acceptor(SessionAcceptor.ANY).handler(new Receiver()).start();
    }

    /** @return the RTP packets of both flows (sender reports not counted) */
    int packetCount() {
        return packets.size() - rtcpSent;
    }

    /** @return the sender reports that arrived */
    long rtcpReceived() {
        return rtcpReceived.get();
    }

    int rtcpSent() {
        return rtcpSent;
    }

    long received() {
        return received.get();
    }

    /**
     * Sends every packet at its send time to {@code ingress} for {@code session}: audio as DATA, video as flow
     * datagrams of flow {@link #VIDEO_FLOW}. Blocks until the last packet is sent.
     */
    void send(InetSocketAddress ingress, long session) throws Exception {
        try (ArtpEndpoint sender = ArtpEndpoint.builder().handler((c, d, ctl) -> d.release()).start()) {
            ArtpConnection conn = sender.connect(ingress, session, null).toCompletableFuture().get(10, TimeUnit.SECONDS);
            startNanos = System.nanoTime();
            for (Packet p : packets) {
                long due = startNanos + p.sendNanos();
                long wait;
                while ((wait = due - System.nanoTime()) > 0) {
                    LockSupport.parkNanos(Math.min(wait, 200_000));
                }
                ByteBuf buf = ByteBufAllocator.DEFAULT.directBuffer(ControlBlock.FLOW_PREFIX + 28 + p.bytes());
                if (p.flow() != 0) {
                    ControlBlock.writeFlowPrefix(buf, p.flow());
                }
                if (p.rtcp()) {
                    // SR: V=2, RC=0, PT=200, length 6 words - 1; NTP of the capture time; RTP timestamp; counts
                    long ntpFraction = ((p.captureNanos() % 1_000_000_000L) << 32) / 1_000_000_000L;
                    buf.writeByte(0x80).writeByte(200).writeShort(6).writeInt((int) p.ssrc())
                        .writeInt((int) (NTP_BASE_SECONDS + p.captureNanos() / 1_000_000_000L))
                        .writeInt((int) ntpFraction).writeInt((int) p.timestamp()).writeInt(0).writeInt(0);
                } else {
                    buf.writeByte(0x80).writeByte((p.marker() ? 0x80 : 0) | p.payloadType()).writeShort(p.seq())
                        .writeInt((int) p.timestamp()).writeInt((int) p.ssrc());
                    buf.writeZero(p.bytes());
                }
                if (p.flow() != 0) {
                    conn.sendControl(buf);
                } else {
                    conn.send(buf);
                }
            }
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (conn.pendingBytes() > 0 && System.nanoTime() < deadline) {
                Thread.sleep(10);
            }
            conn.close().toCompletableFuture().get(10, TimeUnit.SECONDS);
        }
    }

    /** Waits until every packet arrived or {@code seconds} passed. */
    boolean awaitAll(long seconds) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (received.get() < packetCount() && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        return received.get() >= packetCount();
    }

    /** Latency figures of one side. */
    record Sync(double audioMedianMs, double videoMedianMs, double skewMs, double p50SpreadMs, double p99SpreadMs,
        double maxSpreadMs, int missing, int duplicates) {

        @Override
        public String toString() {
            return String.format(Locale.ROOT, "latency median audio %.1f ms, video %.1f ms, A/V skew %.1f ms; "
                    + "|latency - median| p50 %.1f ms, p99 %.1f ms, max %.1f ms; missing %d, duplicates %d",
                audioMedianMs, videoMedianMs, skewMs, p50SpreadMs, p99SpreadMs, maxSpreadMs, missing, duplicates);
        }
    }

    /**
     * @param fromSecond the first capture second the figures cover (a synchronizer needs the first packets and
     *     sender reports of both flows before it can line them up)
     * @return the latencies as the sender made them (send - capture)
     */
    Sync atSender(int fromSecond) {
        return sync(true, fromSecond);
    }

    /**
     * @param fromSecond as for {@link #atSender}; missing and duplicate packets are counted over the whole stream
     * @return the latencies as the receiver saw them (arrival - capture)
     */
    Sync atReceiver(int fromSecond) {
        return sync(false, fromSecond);
    }

    private Sync sync(boolean sender, int fromSecond) {
        return sync(sender, fromSecond, Integer.MAX_VALUE / 2);
    }

    private Sync sync(boolean sender, int fromSecond, int toSecond) {
        long from = TimeUnit.SECONDS.toNanos(fromSecond);
        long to = TimeUnit.SECONDS.toNanos(toSecond);
        List<Double> audio = new ArrayList<>();
        List<Double> video = new ArrayList<>();
        int missing = 0;
        int duplicates = 0;
        for (Packet p : packets) {
            if (p.rtcp()) {
                continue;
            }
            int f = (int) p.flow();
            long at;
            if (sender) {
                at = p.sendNanos();
            } else {
                if (arrivals[f][p.seq()] == 0) {
                    missing++;
                    continue;
                }
                duplicates += Math.max(0, copies[f][p.seq()] - 1);
                at = arrivals[f][p.seq()] - startNanos;
            }
            if (p.captureNanos() >= from && p.captureNanos() < to) {
                double ms = (at - p.captureNanos()) / 1e6;
                (p.flow() == AUDIO_FLOW ? audio : video).add(ms);
            }
        }
        double a = median(audio);
        double v = median(video);
        List<Double> all = new ArrayList<>(audio);
        all.addAll(video);
        double m = median(all);
        double[] spread = all.stream().mapToDouble(x -> Math.abs(x - m)).sorted().toArray();
        return new Sync(a, v, Math.abs(a - v), pct(spread, 0.5), pct(spread, 0.99),
            spread.length == 0 ? Double.NaN : spread[spread.length - 1], missing, duplicates);
    }

    private static double median(List<Double> xs) {
        double[] a = xs.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        return pct(a, 0.5);
    }

    private static double pct(double[] sorted, double q) {
        if (sorted.length == 0) {
            return Double.NaN;
        }
        return sorted[Math.min(sorted.length - 1, (int) Math.floor(q * sorted.length))];
    }

    /** @return what the receiver could not place (not RTP, unknown flow, control information), by kind */
    java.util.Map<String, Long> problems() {
        return java.util.Map.copyOf(problems);
    }

    long foreign() {
        return foreign.get();
    }

    @Override
    public void close() {
        receiver.close();
    }

    /** Notes arrivals; runs on the receiver's event loop. */
    private final class Receiver implements ArtpHandler {
        @Override
        public void datagram(ArtpConnection connection, ByteBuf datagram, boolean control) {
            long now = System.nanoTime();
            try {
                long flow = 0;
                if (control) {
                    flow = ControlBlock.flowOf(datagram);
                    if (flow == ControlBlock.NOT_A_FLOW_DATAGRAM) {
                        problems.merge("control information", 1L, Long::sum);
                        return;
                    }
                    datagram.skipBytes(ControlBlock.FLOW_PREFIX);
                }
                if (flow != AUDIO_FLOW && flow != VIDEO_FLOW) {
                    problems.merge("flow " + flow, 1L, Long::sum);
                    return;
                }
                if (datagram.readableBytes() < 12 || (datagram.getByte(datagram.readerIndex()) & 0xC0) != 0x80) {
                    problems.merge("not RTP", 1L, Long::sum);
                    return;
                }
                int second = datagram.getUnsignedByte(datagram.readerIndex() + 1);
                if (second == 200) {
                    rtcpReceived.incrementAndGet();
                    return;
                }
                int pt = second & 0x7F;
                if (pt != (flow == AUDIO_FLOW ? AUDIO_PT : VIDEO_PT)) {
                    problems.merge("payload type " + pt + " on flow " + flow, 1L, Long::sum);
                    foreign.incrementAndGet();
                    return;
                }
                int seq = datagram.getUnsignedShort(datagram.readerIndex() + 2);
                int f = (int) flow;
                if (copies[f][seq]++ == 0) {
                    arrivals[f][seq] = now;
                    received.incrementAndGet();
                }
            } finally {
                datagram.release();
            }
        }
    }
}
