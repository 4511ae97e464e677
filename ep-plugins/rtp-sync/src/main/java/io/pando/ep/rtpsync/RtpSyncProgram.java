package io.pando.ep.rtpsync;

import io.pando.api.program.ActiveProgram;
import io.pando.api.program.Datagram;
import io.pando.api.program.ProgramContext;
import io.pando.api.session.FlowId;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.ServiceScope;

/**
 * {@code rtp-sync}: an RTP audio/video synchronizer for a two-flow session, the example of the Pando paper. Audio
 * RTP comes in on one flow, video RTP on another; each packet leaves on its own flow at its <em>presentation
 * time</em> plus a playout delay, so that audio and video leave in step, in presentation order across both flows.
 *
 * <p><b>Timeline.</b> Each stream's extended RTP timestamps (wrap-around undone) become media time in µs at the
 * stream's clock rate. A {@link Timeline} places media time on the unit's clock: the first packet anchors it, and
 * the least-delayed packet seen since defines it (see there). Once both streams have had an RTCP sender report
 * (SR, multiplexed on the same flow as RFC 5761 allows) for their current SSRC, both are mapped through their
 * reports to the sender's wall clock and share one timeline, which is true lip sync; before that, each stream has
 * its own, which aligns the streams when their quickest packets took as long. Streams whose SDES CNAMEs differ come
 * from two hosts and stay on their own timelines. A packet's deadline is
 * {@code media time + timeline base + playout delay}.
 *
 * <p><b>Release.</b> Each flow has a bounded {@link JitterBuffer} in sequence order. One timer
 * ({@value #RELEASE_TIMER}) is kept at the earliest deadline of the two buffers' heads; when it fires (never early)
 * every head that is due is emitted, the earliest deadline first (audio first on a tie), so the two flows leave
 * within one timer granularity of each other. Within a flow packets leave in sequence order, which keeps the
 * decoding order of video whose timestamps are not monotonic.
 *
 * <p><b>What is counted</b> (per flow, nothing is lost silently): malformed RTP or RTCP (dropped); duplicates
 * (dropped; the seen window covers the last {@value Stream#SEEN_WINDOW} sequence numbers, held or released);
 * late packets (behind the released sequence, or past their deadline on arrival: emitted at once); overflow (a
 * buffer over its packet or byte bound emits its head at once); jumps (a sequence number {@value Stream#MAX_JUMP}
 * or more away from the highest: dropped, and if the next packet follows it the stream restarts there); restarts
 * (new SSRC or confirmed jump: the buffer is flushed at once, counted as flushed); failed (a held packet whose
 * emit the router refused: forgotten, and the error goes to the router). RTCP is forwarded at once.
 * Datagrams on other flows are forwarded at once; control datagrams are counted and ignored.
 *
 * <p><b>State</b> is kept in the instance (the router calls it one datagram or timer at a time): per flow the
 * stream's SSRC, extended sequence and timestamp, seen window, last SR, own timeline, jitter buffer and counters;
 * the shared sender-clock timeline; the timer's due time. Buffered packets are not in session state: they stay
 * on the unit whose instance holds them. At most once a second the counters are written, as text, to the session
 * state key {@value #STATS_KEY}. Per packet nothing is allocated beyond the router's view of the input once the
 * buffer's slots have grown to the stream's packet size.
 *
 * <p><b>Parameters:</b> see {@link SyncParameters} and the README: {@code audio-flow} (0), {@code video-flow} (1),
 * {@code audio-clock-rate} (48000), {@code video-clock-rate} (90000), {@code playout-delay-ms} (100),
 * {@code buffer-packets} (1024 per flow), {@code buffer-bytes} (2 MiB per flow).
 */
@Component(name = "io.pando.ep.rtpsync", service = ActiveProgram.class, scope = ServiceScope.PROTOTYPE,
    configurationPolicy = ConfigurationPolicy.IGNORE, property = "name=" + RtpSyncProgram.NAME)
public final class RtpSyncProgram implements ActiveProgram {

    /** The program's name: the {@code name} service property sessions refer to. */
    public static final String NAME = "rtp-sync";
    /** The session state key the counters are written to. */
    public static final String STATS_KEY = "rtp-sync.stats";
    /** The id of the one timer the program sets. */
    public static final long RELEASE_TIMER = 1;
    /** Least time between two writes of the counters. */
    static final long STATS_INTERVAL_MICROS = 1_000_000;

    /** The unit's clock in µs; the tests drive a virtual one. */
    interface Clock {
        long nowMicros();
    }

    private static final class MonotonicClock implements Clock {
        @Override
        public long nowMicros() {
            return System.nanoTime() / 1_000;
        }
    }

    private final Clock clock;
    private final RtpHeader header = new RtpHeader();
    private final RtcpCompound report = new RtcpCompound();
    /** The timeline both streams share once both have a sender report. */
    private final Timeline sender = new Timeline();

    private SyncParameters parameters;
    /** Set instead of {@link #parameters} when the session cannot be served: thrown for every datagram. */
    private String unusable;
    private Stream audio;
    private Stream video;
    private boolean senderClock;
    private boolean timerSet;
    private long timerDue;
    private long other;
    private long control;
    private long clockSwitches;
    private boolean published;
    private long publishedAt;

    /** The component's constructor: the unit's monotonic clock. */
    public RtpSyncProgram() {
        this(new MonotonicClock());
    }

    RtpSyncProgram(Clock clock) {
        this.clock = clock;
    }

    /** Refuses unknown, malformed or out-of-range parameters, and audio and video on one flow. */
    @Override
    public void validate(Map<String, String> parameters) {
        SyncParameters.parse(parameters);
    }

    @Override
    public void process(Datagram in, ProgramContext ctx) {
        long now = clock.nowMicros();
        if (parameters == null && unusable == null) {
            init(ctx);
        }
        if (unusable != null) {
            throw new IllegalArgumentException(unusable);
        }
        try {
            releaseDue(now, ctx);
            if (in.isControl()) {
                control++;
            } else {
                FlowId flow = in.flow();
                Stream s = flow.equals(audio.flow) ? audio : flow.equals(video.flow) ? video : null;
                ByteBuffer packet = in.data();
                if (s == null) {
                    other++;
                    ctx.emit(flow, packet);
                } else if (RtpHeader.looksLikeRtcp(packet)) {
                    rtcp(s, packet, ctx);
                } else {
                    rtp(s, packet, now, ctx);
                }
            }
            releaseDue(now, ctx);
        } finally {
            schedule(now, ctx); // whatever failed, what is held keeps its timer
        }
        publish(now, ctx);
    }

    @Override
    public void onTimer(long timer, ProgramContext ctx) {
        if (timer != RELEASE_TIMER || parameters == null) {
            return;
        }
        long now = clock.nowMicros();
        timerSet = false;
        try {
            releaseDue(now, ctx);
        } finally {
            schedule(now, ctx);
        }
        publish(now, ctx);
    }

    private void init(ProgramContext ctx) {
        SyncParameters p;
        try {
            p = SyncParameters.parse(ctx.parameters());
        } catch (IllegalArgumentException e) {
            unusable = e.getMessage();
            return;
        }
        List<FlowId> flows = ctx.flows();
        for (long f : new long[] {p.audioFlow, p.videoFlow}) {
            if (!flows.contains(FlowId.of(f))) {
                String which = f == p.audioFlow ? SyncParameters.AUDIO_FLOW : SyncParameters.VIDEO_FLOW;
                unusable = NAME + ": the session has no flow " + f + " for '" + which + "' (its flows: "
                    + join(flows) + "); create it with --flow " + f + ":NAME=HOST:PORT or set '" + which + "'";
                return;
            }
        }
        audio = new Stream("audio", FlowId.of(p.audioFlow), p.audioClockRate, p.bufferPackets, p.bufferBytes);
        video = new Stream("video", FlowId.of(p.videoFlow), p.videoClockRate, p.bufferPackets, p.bufferBytes);
        parameters = p;
    }

    private void rtp(Stream s, ByteBuffer packet, long now, ProgramContext ctx) {
        String bad = header.parse(packet);
        if (bad != null) {
            s.malformed++;
            s.lastMalformed = bad;
            return;
        }
        long ssrc = header.ssrc;
        int sequence = header.sequence;
        if (!s.started) {
            s.start(ssrc, sequence, header.timestamp);
        } else if (ssrc != s.ssrc) {
            if (ssrc == s.previousSsrc) {
                s.received++;
                s.late++;
                ctx.emit(s.flow, packet);
                return;
            }
            restart(s, ssrc, ctx);
        }
        long extended = s.extendSequence(sequence);
        if (extended < 0) {
            if (sequence != s.jumpConfirm) {
                s.jumps++;
                s.jumpConfirm = (sequence + 1) & 0xFFFF;
                return;
            }
            restart(s, ssrc, ctx);
            extended = s.extendSequence(sequence);
        }
        s.jumpConfirm = -1;
        if (s.seen(extended)) {
            s.duplicates++;
            return;
        }
        long timestamp = s.extendTimestamp(header.timestamp);
        s.markSeen(extended, timestamp);
        s.received++;
        if (extended <= s.releasedSequence) {
            s.late++;
            ctx.emit(s.flow, packet);
            return;
        }
        updateClockMode();
        s.own.observe(now - s.ownMediaMicros(timestamp), now);
        if (senderClock) {
            sender.observe(now - s.senderMediaMicros(timestamp), now);
        }
        if (deadline(s, timestamp) < now) {
            s.late++;
            ctx.emit(s.flow, packet);
            return;
        }
        s.buffer.insert(extended, timestamp, packet);
        while (s.buffer.overFull()) {
            releaseHead(s, ctx);
            s.overflow++;
        }
    }

    /** A new SSRC or a confirmed sequence jump: what is held leaves now, and the stream starts again. */
    private void restart(Stream s, long ssrc, ProgramContext ctx) {
        while (!s.buffer.isEmpty()) {
            releaseHead(s, ctx);
            s.flushed++;
        }
        if (ssrc != s.ssrc) {
            s.previousSsrc = s.ssrc;
        }
        s.restarts++;
        s.start(ssrc, header.sequence, header.timestamp);
        updateClockMode();
    }

    private void rtcp(Stream s, ByteBuffer packet, ProgramContext ctx) {
        String bad = report.parse(packet);
        if (bad != null) {
            s.malformed++;
            s.lastMalformed = bad;
            return;
        }
        s.rtcp++;
        if (report.cnameLength >= 0) {
            s.cnameSsrc = report.cnameSsrc;
            System.arraycopy(report.cname, 0, s.cname, 0, report.cnameLength);
            s.cnameLength = report.cnameLength;
            updateClockMode();
        }
        if (report.present) {
            s.hasReport = true;
            s.reportSsrc = report.ssrc;
            s.reportNtpMicros = report.ntpMicros;
            s.reportTimestamp = report.rtpTimestamp;
            s.reports++;
            updateClockMode();
        }
        ctx.emit(s.flow, packet);
    }

    /**
     * Switches between the streams' own timelines and the shared sender-clock one as reports come and go: the
     * sender's clock is used when both streams have a report for their SSRC, unless their CNAMEs say they come from
     * two hosts (two wall clocks).
     */
    private void updateClockMode() {
        boolean both = audio.reportValid() && video.reportValid() && !Stream.cnamesDiffer(audio, video);
        if (both != senderClock) {
            senderClock = both;
            clockSwitches++;
            if (both) {
                sender.reset();
            }
        }
    }

    /** @return when a packet of {@code s} with this extended timestamp is due, on the unit's clock in µs */
    private long deadline(Stream s, long timestamp) {
        if (senderClock && sender.anchored()) {
            return s.senderMediaMicros(timestamp) + sender.base() + parameters.playoutDelayMicros;
        }
        return s.ownMediaMicros(timestamp) + s.own.base() + parameters.playoutDelayMicros;
    }

    /** Emits every head that is due, earliest deadline first (audio first on a tie). */
    private void releaseDue(long now, ProgramContext ctx) {
        Stream a = audio;
        Stream v = video;
        while (true) {
            Stream next = null;
            long best = 0;
            if (!a.buffer.isEmpty()) {
                long d = deadline(a, a.buffer.headTimestamp());
                if (d <= now) {
                    next = a;
                    best = d;
                }
            }
            if (!v.buffer.isEmpty()) {
                long d = deadline(v, v.buffer.headTimestamp());
                if (d <= now && (next == null || d < best)) {
                    next = v;
                }
            }
            if (next == null) {
                return;
            }
            releaseHead(next, ctx);
            next.released++;
        }
    }

    /** Emits the head of {@code s} and forgets it, even if the emit fails (the router then counts the error). */
    private static void releaseHead(Stream s, ProgramContext ctx) {
        JitterBuffer b = s.buffer;
        boolean sent = false;
        try {
            ctx.emit(s.flow, b.headPacket());
            sent = true;
        } finally {
            if (!sent) {
                s.failed++;
            }
            s.releasedSequence = Math.max(s.releasedSequence, b.headSequence());
            b.removeHead();
        }
    }

    /** Keeps the one timer at the earliest head deadline, or cancels it when nothing is held. */
    private void schedule(long now, ProgramContext ctx) {
        long due = Long.MAX_VALUE;
        if (!audio.buffer.isEmpty()) {
            due = deadline(audio, audio.buffer.headTimestamp());
        }
        if (!video.buffer.isEmpty()) {
            due = Math.min(due, deadline(video, video.buffer.headTimestamp()));
        }
        if (due == Long.MAX_VALUE) {
            if (timerSet) {
                ctx.cancelTimer(RELEASE_TIMER);
                timerSet = false;
            }
        } else if (!timerSet || due != timerDue) {
            ctx.setTimer(RELEASE_TIMER, Math.min(Math.max(0, due - now), ProgramContext.MAX_TIMER_DELAY_MICROS));
            timerSet = true;
            timerDue = due;
        }
    }

    /** Writes the counters to {@link #STATS_KEY} at most once a second; a full state quota skips the write. */
    private void publish(long now, ProgramContext ctx) {
        if (published && now - publishedAt < STATS_INTERVAL_MICROS) {
            return;
        }
        published = true;
        publishedAt = now;
        try {
            ctx.putState(STATS_KEY, stats().getBytes(StandardCharsets.US_ASCII));
        } catch (IllegalStateException quotaFull) {
            // the counters stay in the instance; the next write tries again
        }
    }

    /**
     * @return the counters as text, {@code key=value} pairs separated by spaces, then the last malformed packet's
     *         fault per flow on lines of their own
     */
    String stats() {
        StringBuilder b = new StringBuilder(1024);
        b.append("clock=").append(senderClock ? "sender" : "arrival").append(" clock-switches=").append(clockSwitches)
            .append(" cnames=").append(audio == null || !audio.cnameValid() || !video.cnameValid() ? "unknown"
                : Stream.cnamesDiffer(audio, video) ? "differ" : "match")
            .append(" other=").append(other).append(" control=").append(control);
        if (audio != null) {
            b.append(' ');
            audio.appendStats(b);
            b.append(' ');
            video.appendStats(b);
            for (Stream s : new Stream[] {audio, video}) {
                if (!s.lastMalformed.isEmpty()) {
                    b.append('\n').append(s.label).append(".last-malformed=").append(s.lastMalformed);
                }
            }
        }
        return b.toString();
    }

    /** @return the audio stream, null before the first datagram; for tests */
    Stream audio() {
        return audio;
    }

    /** @return the video stream, null before the first datagram; for tests */
    Stream video() {
        return video;
    }

    /** @return whether both streams are on the sender's clock (both have a sender report); for tests */
    boolean onSenderClock() {
        return senderClock;
    }

    private static String join(List<FlowId> flows) {
        StringBuilder b = new StringBuilder();
        for (FlowId f : flows) {
            b.append(b.length() == 0 ? "" : ", ").append(f);
        }
        return b.toString();
    }
}
