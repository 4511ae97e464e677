package io.pando.ep.rtpsync;

import io.pando.api.session.FlowId;

/**
 * One RTP stream (one flow, one SSRC at a time) of the synchronizer: what is known of its sequence numbers and
 * timestamps, its media clock, its last sender report, its jitter buffer and its counters.
 *
 * <p><b>Extended numbers.</b> The 16-bit sequence number and the 32-bit timestamp wrap around; the stream keeps
 * them as 64-bit <em>extended</em> numbers that keep counting (RFC 3550 appendix A.1). The first packet starts
 * them at {@code 65536 + seq} and {@code 2^32 + timestamp}, so that packets from before the first stay positive.
 * A packet's extended sequence number is the one nearest the highest so far ({@code seq - highest} read as a signed
 * 16-bit number), its extended timestamp the one nearest the highest packet's (a signed 32-bit difference).
 *
 * <p><b>Seen window.</b> A bitmap of the last {@value #SEEN_WINDOW} extended sequence numbers below the highest
 * tells duplicates from packets that never came, whether the first copy is still held or already released.
 */
final class Stream {

    static final int SEEN_WINDOW = 4096;
    /** A jump of the sequence number this far forward or backward is no reordering: the sender restarted. */
    static final int MAX_JUMP = 3000;

    final String label;
    final FlowId flow;
    final int clockRate;
    final JitterBuffer buffer;
    /** The stream's own media clock, anchored by its packets. */
    final Timeline own = new Timeline();

    boolean started;
    long ssrc;
    /** The SSRC before the last change, -1 if none: its stragglers are released at once, as late packets. */
    long previousSsrc = -1;
    long highestSequence;
    long highestTimestamp;
    long firstTimestamp;
    /** The highest extended sequence number released from the buffer, -1 if none since the start. */
    long releasedSequence;
    /** After a jump: the sequence number that would confirm it (the jumped packet's + 1), or -1. */
    int jumpConfirm = -1;
    private final long[] seen = new long[SEEN_WINDOW / 64];

    /** The last sender report: SSRC, NTP time in µs, RTP timestamp. */
    boolean hasReport;
    long reportSsrc;
    long reportNtpMicros;
    long reportTimestamp;
    /** The last CNAME seen on the flow, with the SSRC it describes; {@code cnameLength} -1 if none. */
    long cnameSsrc;
    final byte[] cname = new byte[255];
    int cnameLength = -1;

    long received;
    long released;
    long late;
    long duplicates;
    long malformed;
    long overflow;
    long flushed;
    long failed;
    long jumps;
    long restarts;
    long rtcp;
    long reports;
    String lastMalformed = "";

    Stream(String label, FlowId flow, int clockRate, int bufferPackets, long bufferBytes) {
        this.label = label;
        this.flow = flow;
        this.clockRate = clockRate;
        this.buffer = new JitterBuffer(bufferPackets, bufferBytes);
    }

    /** (Re)starts the stream at a packet: the first of an SSRC, or the one after a confirmed jump. */
    void start(long newSsrc, int sequence, long timestamp) {
        started = true;
        ssrc = newSsrc;
        highestSequence = 65_536L + sequence;
        highestTimestamp = (1L << 32) + timestamp;
        firstTimestamp = highestTimestamp;
        releasedSequence = -1;
        jumpConfirm = -1;
        java.util.Arrays.fill(seen, 0);
        own.reset();
    }

    /**
     * @param sequence a packet's 16-bit sequence number
     * @return its extended sequence number, or -1 if it jumps more than {@value #MAX_JUMP} from the highest
     */
    long extendSequence(int sequence) {
        int delta = (short) (sequence - (int) highestSequence);
        return delta >= MAX_JUMP || delta <= -MAX_JUMP ? -1 : highestSequence + delta;
    }

    /** @return the extended timestamp of a 32-bit timestamp: the one nearest the highest packet's */
    long extendTimestamp(long timestamp) {
        return highestTimestamp + (int) ((int) timestamp - (int) highestTimestamp);
    }

    /** @return true if the packet with this extended sequence number was seen before */
    boolean seen(long extendedSequence) {
        long behind = highestSequence - extendedSequence;
        if (behind < 0 || behind >= SEEN_WINDOW) {
            return false;
        }
        int bit = (int) (extendedSequence & (SEEN_WINDOW - 1));
        return (seen[bit >>> 6] & (1L << bit)) != 0;
    }

    /**
     * Notes a packet; a new highest one moves the window (forgetting what falls out of it) and the highest
     * timestamp.
     */
    void markSeen(long extendedSequence, long extendedTimestamp) {
        if (extendedSequence > highestSequence) {
            long advance = extendedSequence - highestSequence;
            if (advance >= SEEN_WINDOW) {
                java.util.Arrays.fill(seen, 0);
            } else {
                for (long s = highestSequence + 1; s <= extendedSequence; s++) {
                    int bit = (int) (s & (SEEN_WINDOW - 1));
                    seen[bit >>> 6] &= ~(1L << bit);
                }
            }
            highestSequence = extendedSequence;
            highestTimestamp = extendedTimestamp;
        }
        if (highestSequence - extendedSequence < SEEN_WINDOW) {
            int bit = (int) (extendedSequence & (SEEN_WINDOW - 1));
            seen[bit >>> 6] |= 1L << bit;
        }
    }

    /** @return true if the last sender report is about the stream's current SSRC */
    boolean reportValid() {
        return started && hasReport && reportSsrc == ssrc;
    }

    /** @return true if the flow's last CNAME describes the stream's current SSRC */
    boolean cnameValid() {
        return started && cnameLength >= 0 && cnameSsrc == ssrc;
    }

    /** @return true if both streams have a CNAME for their SSRC and they differ: two hosts, two wall clocks */
    static boolean cnamesDiffer(Stream a, Stream b) {
        return a.cnameValid() && b.cnameValid()
            && !java.util.Arrays.equals(a.cname, 0, a.cnameLength, b.cname, 0, b.cnameLength);
    }

    /** @return media time of an extended timestamp on the stream's own clock, µs from its first packet */
    long ownMediaMicros(long extendedTimestamp) {
        return Math.floorDiv((extendedTimestamp - firstTimestamp) * 1_000_000L, clockRate);
    }

    /** @return media time of an extended timestamp on the sender's wall clock (NTP µs), by the last report */
    long senderMediaMicros(long extendedTimestamp) {
        long ticks = (int) ((int) extendedTimestamp - (int) reportTimestamp);
        return reportNtpMicros + Math.floorDiv(ticks * 1_000_000L, clockRate);
    }

    /** Appends the counters as {@code label.name=value} pairs. */
    void appendStats(StringBuilder b) {
        b.append(label).append(".received=").append(received)
            .append(' ').append(label).append(".released=").append(released)
            .append(' ').append(label).append(".late=").append(late)
            .append(' ').append(label).append(".duplicates=").append(duplicates)
            .append(' ').append(label).append(".malformed=").append(malformed)
            .append(' ').append(label).append(".overflow=").append(overflow)
            .append(' ').append(label).append(".flushed=").append(flushed)
            .append(' ').append(label).append(".failed=").append(failed)
            .append(' ').append(label).append(".jumps=").append(jumps)
            .append(' ').append(label).append(".restarts=").append(restarts)
            .append(' ').append(label).append(".rtcp=").append(rtcp)
            .append(' ').append(label).append(".reports=").append(reports)
            .append(' ').append(label).append(".held=").append(buffer.size())
            .append(' ').append(label).append(".held-bytes=").append(buffer.bytes());
    }
}
