package io.pando.ep.rtpsync;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pando.ep.rtpsync.SyncContext.Emitted;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.LongUnaryOperator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The synchronizer driven as a unit drives it, on virtual time ({@link SyncDriver}): packets arrive at chosen
 * times, the program's timer fires when due (or later, by a granularity), and every emit is recorded with its time.
 */
class RtpSyncProgramTest {

    private static final long MS = 1_000;
    private static final long T0 = 1_000_000_000L; // the virtual clock's reading at the first capture
    private static final long AUDIO_SSRC = 0xA0D10L;
    private static final long VIDEO_SSRC = 0xF1DE0L;
    private static final int AUDIO_PT = 111;
    private static final int VIDEO_PT = 96;

    /** A packet the test sends: when it was captured (sender's clock = the unit's clock) and when it arrives. */
    record Sent(long capture, long arrival, long flow, int sequence, long timestamp, byte[] bytes) {
    }

    /** Audio packet {@code k}: 20 ms at 48 kHz (timestamp + 960). */
    private static Sent audio(int k, int firstSequence, long firstTimestamp, long lag) {
        int seq = (firstSequence + k) & 0xFFFF;
        long ts = (firstTimestamp + 960L * k) & 0xFFFF_FFFFL;
        long capture = T0 + 20 * MS * k;
        return new Sent(capture, capture + lag, 0, seq, ts, Rtp.packet(seq, ts, AUDIO_SSRC, AUDIO_PT, 160));
    }

    /** Video frame {@code j}, packet {@code p} of 3: 30 frames/s at 90 kHz (timestamp + 3000 per frame). */
    private static Sent video(int j, int p, int firstSequence, long firstTimestamp, long lag) {
        int seq = (firstSequence + 3 * j + p) & 0xFFFF;
        long ts = (firstTimestamp + 3000L * j) & 0xFFFF_FFFFL;
        long capture = T0 + Math.floorDiv(j * 1_000_000L, 30);
        return new Sent(capture, capture + lag, 1, seq, ts,
            Rtp.packet(seq, ts, VIDEO_SSRC, VIDEO_PT, 1000, p == 2, 0, -1, 0));
    }

    /**
     * An A/V stream of {@code millis} ms: audio from sequence 1000 and timestamp 0x12345678, video from sequence
     * 40000 and timestamp 0xFFF00000 (so the video timestamp wraps after about 3 s).
     */
    private static List<Sent> avStream(int millis, LongUnaryOperator audioLag, LongUnaryOperator videoLag) {
        List<Sent> all = new ArrayList<>();
        for (int k = 0; k * 20 < millis; k++) {
            all.add(audio(k, 1000, 0x12345678L, audioLag.applyAsLong(k)));
        }
        for (int j = 0; j * 1000L < millis * 30L; j++) {
            for (int p = 0; p < 3; p++) {
                all.add(video(j, p, 40000, 0xFFF00000L, videoLag.applyAsLong(j)));
            }
        }
        return all;
    }

    /** Sends every packet at its arrival time (ties in list order), then lets every timer fire. */
    private static void run(SyncDriver d, List<Sent> packets) {
        List<Sent> byArrival = new ArrayList<>(packets);
        byArrival.sort(Comparator.comparingLong(Sent::arrival));
        for (Sent s : byArrival) {
            d.arrive(s.arrival(), s.flow(), s.bytes());
        }
        d.drain();
    }

    /** @return the sent packet each emitted one is, by flow and sequence number; fails on an unknown one */
    private static Map<Long, Sent> index(List<Sent> packets) {
        Map<Long, Sent> byKey = new HashMap<>();
        for (Sent s : packets) {
            byKey.put(s.flow() << 16 | s.sequence(), s);
        }
        return byKey;
    }

    private static Sent sentOf(Map<Long, Sent> index, Emitted e) {
        Sent s = index.get(e.flow() << 16 | e.sequence());
        assertNotNull(s, "emitted a packet that was not sent: flow " + e.flow() + " seq " + e.sequence());
        assertArrayEquals(s.bytes(), e.bytes(), "the packet leaves unchanged");
        return s;
    }

    private static void assertEachEmittedOnce(List<Sent> sent, SyncContext ctx) {
        assertEquals(sent.size(), ctx.emitted.size(), "every packet leaves exactly once");
        Map<Long, Sent> index = index(sent);
        java.util.Set<Long> keys = new java.util.HashSet<>();
        for (Emitted e : ctx.emitted) {
            sentOf(index, e);
            assertTrue(keys.add(e.flow() << 16 | e.sequence()), "twice: flow " + e.flow() + " seq " + e.sequence());
        }
    }

    /** Every accepted packet left exactly once, one way or another, or is still held. */
    private static void assertAccounted(Stream s) {
        assertEquals(s.received, s.released + s.late + s.overflow + s.flushed + s.failed + s.buffer.size(),
            s.label + ": received = released + late + overflow + flushed + failed + held");
    }

    private static void assertAccounted(RtpSyncProgram p) {
        assertAccounted(p.audio());
        assertAccounted(p.video());
    }

    private static List<Integer> sequences(List<Emitted> emitted) {
        return emitted.stream().map(Emitted::sequence).toList();
    }

    // ---- A/V: presentation order, alignment, playout delay ----

    /**
     * The paper's case: video comes up to 79 ms later than audio, at random; the first packets of both are late
     * too, so the first packet alone would anchor them wrongly. Once each stream has had a quick packet (after
     * 200 ms here), every packet leaves at capture + playout delay, within one timer granularity: both flows
     * in step, in presentation order.
     */
    @ParameterizedTest(name = "timer granularity {0} us")
    @ValueSource(longs = {1, 1000, 10_000})
    void audioAndVideoLeaveInPresentationOrderAndInStep(long granularity) {
        SyncDriver d = new SyncDriver(Map.of("playout-delay-ms", "120"), granularity, 0, 1);
        List<Sent> sent = avStream(4000,
            k -> k == 0 ? 5 * MS : k % 5 == 0 ? 0 : (k * 7919L % 5000),
            j -> j == 0 ? 80 * MS : j % 4 == 0 ? 0 : (j * 104_729L % 79_000));
        run(d, sent);
        assertEachEmittedOnce(sent, d.ctx);
        Map<Long, Sent> index = index(sent);
        long converged = T0 + 200 * MS;
        long previousCapture = Long.MIN_VALUE;
        int checked = 0;
        int audioAndVideo = 0;
        for (Emitted e : d.ctx.emitted) {
            Sent s = sentOf(index, e);
            if (s.capture() < converged) {
                continue;
            }
            long latency = e.time() - s.capture();
            // media time is in whole µs, anchored on the first video packet to arrive (frame 1): 1 µs of rounding
            assertTrue(latency >= 120 * MS - 1 && latency < 120 * MS + granularity,
                "flow " + e.flow() + " seq " + e.sequence() + " leaves " + latency + " us after capture");
            assertTrue(s.capture() >= previousCapture, "presentation order across flows at seq " + e.sequence());
            if (previousCapture != Long.MIN_VALUE && e.flow() != d.ctx.emitted.get(d.ctx.emitted.indexOf(e) - 1).flow()) {
                audioAndVideo++;
            }
            previousCapture = s.capture();
            checked++;
        }
        assertTrue(checked > 400, "checked " + checked);
        assertTrue(audioAndVideo > 100, "the flows interleave: " + audioAndVideo + " switches");
        Stream audio = d.program.audio();
        Stream video = d.program.video();
        assertEquals(0, audio.late + video.late + audio.overflow + video.overflow + audio.duplicates
            + video.duplicates + audio.malformed + video.malformed);
        assertEquals(200, audio.released);
        assertEquals(360, video.released);
        assertAccounted(d.program);
        System.out.printf("A/V, granularity %d us: %d packets after convergence leave 120 ms + [-1, %d) us after "
            + "capture, in capture order; flows switch %d times%n", granularity, checked, granularity, audioAndVideo);
    }

    /**
     * 12 s of A/V as a sender on a real network would make it: audio up to 5 ms late at random, video up to 80 ms
     * (plus 0.1 ms between the packets of a frame), both sequence numbers and timestamps wrapping early on, and a
     * sender report each second on each flow. Timer granularity 1 ms, playout 150 ms. The median latencies of the
     * two flows differ by less than the granularity, and 99 % of the packets are within 1 ms of the median.
     */
    @Test
    void aJitteredStreamWithSenderReportsLeavesInStep() {
        java.util.SplittableRandom random = new java.util.SplittableRandom(20261126L);
        long ntpBase = 3_970_000_000L * 1_000_000L;
        long audioTs0 = 0xFFFF_FFFFL - 48_000L * 2;
        long videoTs0 = 0xFFFF_FFFFL - 90_000L * 3;
        List<Sent> sent = new ArrayList<>();
        List<Sent> reports = new ArrayList<>();
        for (int k = 0; k < 12 * 50; k++) {
            long capture = T0 + 20 * MS * k;
            long arrival = capture + random.nextLong(5 * MS + 1);
            int seq = (65536 - 200 + k) & 0xFFFF;
            long ts = (audioTs0 + 960L * k) & 0xFFFF_FFFFL;
            sent.add(new Sent(capture, arrival, 0, seq, ts, Rtp.packet(seq, ts, AUDIO_SSRC, AUDIO_PT, 160)));
            if (k % 50 == 0) {
                reports.add(new Sent(capture, arrival, 0, -1, ts,
                    Rtp.senderReport(AUDIO_SSRC, ntpBase + capture - T0, ts)));
            }
        }
        for (int f = 0; f < 12 * 30; f++) {
            long capture = T0 + f * 1_000_000L / 30;
            long arrival = capture + random.nextLong(80 * MS + 1);
            long ts = (videoTs0 + 3000L * f) & 0xFFFF_FFFFL;
            if (f % 30 == 0) {
                reports.add(new Sent(capture, arrival, 1, -1, ts,
                    Rtp.senderReport(VIDEO_SSRC, ntpBase + capture - T0, ts)));
            }
            for (int p = 0; p < 3; p++) {
                int seq = (65536 - 400 + 3 * f + p) & 0xFFFF;
                sent.add(new Sent(capture, arrival + p * 100, 1, seq, ts,
                    Rtp.packet(seq, ts, VIDEO_SSRC, VIDEO_PT, 1000, p == 2, 0, -1, 0)));
            }
        }
        List<Sent> all = new ArrayList<>(reports);
        all.addAll(sent); // a report goes just before the packet sent at the same time
        SyncDriver d = new SyncDriver(Map.of("playout-delay-ms", "150"), 1000, 0, 1);
        run(d, all);
        assertTrue(d.program.onSenderClock());
        Map<Long, Sent> index = index(sent);
        List<Long> audio = new ArrayList<>();
        List<Long> video = new ArrayList<>();
        int rtcp = 0;
        for (Emitted e : d.ctx.emitted) {
            if (e.rtcp()) {
                rtcp++;
            } else {
                (e.flow() == 0 ? audio : video).add(e.time() - sentOf(index, e).capture());
            }
        }
        assertEquals(reports.size(), rtcp, "every report is forwarded");
        assertEquals(600, audio.size());
        assertEquals(1080, video.size());
        List<Long> both = new ArrayList<>(audio);
        both.addAll(video);
        long a = median(audio);
        long v = median(video);
        long m = median(both);
        List<Long> spread = both.stream().map(x -> Math.abs(x - m)).sorted().toList();
        long p99 = spread.get((int) (0.99 * spread.size()));
        System.out.printf("jittered A/V with sender reports, playout 150 ms, timer granularity 1 ms: median latency "
            + "audio %.3f ms, video %.3f ms; |latency - median| p99 %.3f ms, max %.3f ms%n", a / 1e3, v / 1e3,
            p99 / 1e3, spread.get(spread.size() - 1) / 1e3);
        assertTrue(Math.abs(a - v) < 1 * MS, "skew " + Math.abs(a - v) + " us");
        assertTrue(p99 <= 1 * MS, "p99 spread " + p99 + " us");
        assertTrue(a >= 150 * MS, "the playout delay: " + a);
        Stream as = d.program.audio();
        Stream vs = d.program.video();
        assertEquals(0, as.late + vs.late + as.overflow + vs.overflow + as.malformed + vs.malformed);
        assertAccounted(d.program);
    }

    private static long median(List<Long> xs) {
        List<Long> sorted = xs.stream().sorted().toList();
        return sorted.get(sorted.size() / 2);
    }

    /** Ties go to audio; packets of one video frame (one timestamp) leave together in sequence order. */
    @Test
    void equalPresentationTimesLeaveAudioFirstThenVideoInSequenceOrder() {
        SyncDriver d = new SyncDriver(Map.of("playout-delay-ms", "50"));
        List<Sent> sent = avStream(101, k -> 0, j -> 0);
        run(d, sent);
        assertEachEmittedOnce(sent, d.ctx);
        // captures at 0 and 100 ms are shared by audio packet 0/5 and video frame 0/3
        List<Emitted> at100 = d.ctx.emitted.stream().filter(e -> e.time() == T0 + 150 * MS).toList();
        assertEquals(List.of(0L, 1L, 1L, 1L), at100.stream().map(Emitted::flow).toList());
        assertEquals(List.of(1005, 40009, 40010, 40011), sequences(at100));
    }

    @Test
    void thePlayoutDelayIsRespected() {
        SyncDriver d = new SyncDriver(Map.of("playout-delay-ms", "250"));
        List<Sent> sent = avStream(2000, k -> 3 * MS, j -> 3 * MS);
        run(d, sent);
        assertEachEmittedOnce(sent, d.ctx);
        Map<Long, Sent> index = index(sent);
        for (Emitted e : d.ctx.emitted) {
            assertEquals(250 * MS, e.time() - sentOf(index, e).arrival(), "held exactly the playout delay");
        }
    }

    @Test
    void aZeroPlayoutDelayReleasesOnArrival() {
        SyncDriver d = new SyncDriver(Map.of("playout-delay-ms", "0"));
        List<Sent> sent = avStream(500, k -> 2 * MS, j -> 2 * MS);
        run(d, sent);
        assertEachEmittedOnce(sent, d.ctx);
        Map<Long, Sent> index = index(sent);
        for (Emitted e : d.ctx.emitted) {
            assertEquals(sentOf(index, e).arrival(), e.time());
        }
    }

    // ---- the jitter buffer ----

    @Test
    void reorderingInsideTheBufferIsUndone() {
        SyncDriver d = new SyncDriver(Map.of("playout-delay-ms", "100"));
        List<Sent> sent = new ArrayList<>();
        for (int k = 0; k < 400; k++) {
            // every fourth packet (from the fifth) comes 45 ms late: after the next two
            sent.add(audio(k, 1000, 5000, k % 4 == 1 && k > 4 ? 45 * MS : 0));
        }
        run(d, sent);
        assertEachEmittedOnce(sent, d.ctx);
        List<Integer> seqs = sequences(d.ctx.emitted);
        for (int i = 0; i < seqs.size(); i++) {
            assertEquals(1000 + i, seqs.get(i));
        }
        Map<Long, Sent> index = index(sent);
        for (Emitted e : d.ctx.emitted) {
            assertEquals(100 * MS, e.time() - sentOf(index, e).capture(), "each at its own presentation time");
        }
        assertEquals(0, d.program.audio().late);
    }

    @Test
    void sequenceNumbersWrapAround() {
        SyncDriver d = new SyncDriver(Map.of());
        List<Sent> sent = new ArrayList<>();
        for (int k = 0; k < 40; k++) {
            // 65530 ... 65535, 0 ... 33; 65535 (k = 5) comes after 0 and 1
            sent.add(audio(k, 65530, 0, k == 5 ? 50 * MS : 0));
        }
        run(d, sent);
        assertEachEmittedOnce(sent, d.ctx);
        List<Integer> expected = new ArrayList<>();
        for (int k = 0; k < 40; k++) {
            expected.add((65530 + k) & 0xFFFF);
        }
        assertEquals(expected, sequences(d.ctx.emitted));
        Stream a = d.program.audio();
        assertEquals(0, a.late + a.duplicates + a.jumps + a.restarts);
        assertEquals(65_536L + 65530 + 39, a.highestSequence);
    }

    @Test
    void timestampsWrapAround() {
        SyncDriver d = new SyncDriver(Map.of("playout-delay-ms", "80"));
        List<Sent> sent = new ArrayList<>();
        long firstTimestamp = 0x1_0000_0000L - 960L * 10 - 7;
        for (int k = 0; k < 50; k++) {
            sent.add(audio(k, 100, firstTimestamp, k == 11 ? 30 * MS : 0)); // the first after the wrap comes late
        }
        // video wraps too: 0xFFF00000 + 3000 j passes 2^32 at frame 350
        for (int j = 340; j < 360; j++) {
            sent.add(video(j, 0, 7, 0xFFF00000L, 0));
        }
        run(d, sent);
        assertEachEmittedOnce(sent, d.ctx);
        Map<Long, Sent> index = index(sent);
        List<Emitted> audio = d.ctx.on(0);
        for (Emitted e : audio) {
            assertEquals(80 * MS, e.time() - sentOf(index, e).capture(), "no jump at the wrap: seq " + e.sequence());
        }
        assertTrue(audio.get(10).timestamp() > audio.get(11).timestamp(), "the timestamp did wrap");
        List<Emitted> video = d.ctx.on(1);
        for (int i = 1; i < video.size(); i++) {
            assertEquals(33_333, video.get(i).time() - video.get(i - 1).time(), 1, "frame spacing at " + i);
        }
        assertEquals(0, d.program.audio().late + d.program.video().late);
    }

    /**
     * The sender's timestamps jump back by a second (its clock was reset, the SSRC kept). Every packet then looks a
     * second late and leaves at once, counted; the timeline's 5-second windows raise the base once a whole window
     * has seen only the new timing, and from then on packets are held the playout delay again.
     */
    @Test
    void aTimestampJumpBackwardsIsLateUntilAWindowRaisesTheBase() {
        SyncDriver d = new SyncDriver(Map.of("playout-delay-ms", "100"));
        List<Sent> sent = new ArrayList<>();
        for (int k = 0; k < 1000; k++) {
            Sent s = audio(k, 0, 0, 0);
            if (k >= 300) {
                long ts = (960L * k - 48_000) & 0xFFFF_FFFFL;
                s = new Sent(s.capture(), s.arrival(), 0, s.sequence(), ts,
                    Rtp.packet(s.sequence(), ts, AUDIO_SSRC, AUDIO_PT, 160));
            }
            sent.add(s);
        }
        run(d, sent);
        assertEachEmittedOnce(sent, d.ctx);
        Stream a = d.program.audio();
        // windows end at 5, 10, 15 s; the one from 10 to 15 s saw only the new timing: raised at 15 s (k = 750)
        assertEquals(450, a.late, "k = 300 to 749 leave at once");
        assertEquals(1, a.own.raises);
        Map<Long, Sent> index = index(sent);
        for (Emitted e : d.ctx.emitted) {
            Sent s = sentOf(index, e);
            long held = e.time() - s.arrival();
            int k = (int) ((s.capture() - T0) / (20 * MS));
            assertEquals(k >= 300 && k < 750 ? 0 : 100 * MS, held, "packet " + k);
        }
        assertAccounted(d.program);
    }

    @Test
    void duplicatesAreDroppedAndCounted() {
        SyncDriver d = new SyncDriver(Map.of("playout-delay-ms", "100"));
        List<Sent> sent = new ArrayList<>();
        for (int k = 0; k < 30; k++) {
            sent.add(audio(k, 500, 0, 0));
        }
        for (Sent s : sent) {
            d.arrive(s.arrival(), 0, s.bytes());
            if (s.sequence() == 505) {
                d.arrive(s.arrival() + 1 * MS, 0, s.bytes()); // while the first copy is held
            }
        }
        d.arrive(sent.get(29).arrival() + 1, 0, sent.get(2).bytes()); // long after the first copy left
        d.arrive(sent.get(29).arrival() + 2, 0, sent.get(29).bytes());
        d.drain();
        assertEachEmittedOnce(sent, d.ctx);
        Stream a = d.program.audio();
        assertEquals(3, a.duplicates);
        assertEquals(30, a.received);
        assertAccounted(d.program);
        assertEquals(0, a.late);
    }

    @Test
    void aPacketBehindWhatHasLeftLeavesAtOnceCountedLate() {
        SyncDriver d = new SyncDriver(Map.of("playout-delay-ms", "100"));
        List<Sent> sent = new ArrayList<>();
        for (int k = 0; k < 30; k++) {
            sent.add(audio(k, 0, 0, k == 5 ? 300 * MS : 0)); // packet 5: its successors have left when it comes
        }
        run(d, sent);
        assertEachEmittedOnce(sent, d.ctx);
        Emitted five = d.ctx.emitted.stream().filter(e -> e.sequence() == 5).findFirst().orElseThrow();
        assertEquals(sent.get(5).arrival(), five.time(), "released at once");
        assertEquals(1, d.program.audio().late);
        assertEquals(29, d.program.audio().released);
        assertAccounted(d.program);
    }

    @Test
    void aPacketPastItsDeadlineLeavesAtOnceCountedLate() {
        SyncDriver d = new SyncDriver(Map.of("playout-delay-ms", "100"));
        List<Sent> sent = new ArrayList<>();
        for (int k = 0; k < 10; k++) {
            sent.add(audio(k, 0, 0, k == 9 ? 150 * MS : 0)); // the last: nothing after it has left
        }
        run(d, sent);
        assertEachEmittedOnce(sent, d.ctx);
        Emitted last = d.ctx.emitted.get(9);
        assertEquals(9, last.sequence());
        assertEquals(sent.get(9).arrival(), last.time());
        assertEquals(1, d.program.audio().late);
    }

    @Test
    void overflowIsBoundedCountedAndReleasedInOrder() {
        SyncDriver d = new SyncDriver(Map.of("playout-delay-ms", "1000", "buffer-packets", "8"));
        List<Sent> sent = new ArrayList<>();
        for (int k = 0; k < 20; k++) {
            sent.add(audio(k, 0, 0, 0));
        }
        for (Sent s : sent) {
            d.arrive(s.arrival(), 0, s.bytes());
            assertTrue(d.program.audio().buffer.size() <= 8, "held " + d.program.audio().buffer.size());
        }
        assertEquals(12, d.program.audio().overflow);
        assertEquals(12, d.ctx.emitted.size(), "the overflow leaves at once");
        for (int k = 0; k < 12; k++) {
            assertEquals(sent.get(k + 8).arrival(), d.ctx.emitted.get(k).time(), "packet " + k + " pushed out");
        }
        d.drain();
        assertEachEmittedOnce(sent, d.ctx);
        assertEquals(List.of(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19),
            sequences(d.ctx.emitted));
        assertEquals(8, d.program.audio().released);
        assertAccounted(d.program);
    }

    @Test
    void theByteBoundHoldsToo() {
        SyncDriver d = new SyncDriver(Map.of("playout-delay-ms", "1000", "buffer-bytes", "65535"));
        for (int k = 0; k < 20; k++) {
            d.arrive(T0 + k * 20 * MS, 0, Rtp.packet(k, 960L * k, AUDIO_SSRC, AUDIO_PT, 10_000));
            assertTrue(d.program.audio().buffer.bytes() <= 65_535, "held bytes " + d.program.audio().buffer.bytes());
        }
        assertEquals(6, d.program.audio().buffer.size(), "6 packets of 10 012 bytes fit in 65 535");
        assertEquals(14, d.program.audio().overflow);
        d.drain();
        assertEquals(20, d.ctx.emitted.size());
    }

    @Test
    void buffersAreReusedOnceGrown() {
        SyncDriver d = new SyncDriver(Map.of("playout-delay-ms", "100"));
        long audioBytes = 0;
        for (int k = 0; k < 7000; k++) {
            if (k == 2000) {
                audioBytes = d.program.audio().buffer.allocatedBytes();
            }
            Sent s = audio(k, 0, 0, k % 3 == 0 ? 30 * MS : 0);
            d.arrive(s.arrival(), 0, s.bytes());
        }
        d.drain();
        assertTrue(audioBytes > 0 && audioBytes <= 8 * JitterBuffer.MIN_SLOT_BYTES, "slots grown: " + audioBytes);
        assertEquals(audioBytes, d.program.audio().buffer.allocatedBytes(), "no new slot arrays");
        assertEquals(7000, d.program.audio().released);
        assertEquals(0, d.program.audio().late);
    }

    // ---- the one timer ----

    @Test
    void oneTimerFollowsTheEarliestHeadAndIsCancelledWhenEmpty() {
        SyncDriver d = new SyncDriver(Map.of("playout-delay-ms", "100"));
        d.arrive(T0, 0, audio(0, 0, 0, 0).bytes());
        assertEquals(Map.of(RtpSyncProgram.RELEASE_TIMER, T0 + 100 * MS), d.ctx.timers);
        d.arrive(T0 + 5 * MS, 1, video(0, 0, 0, 0, 0).bytes());
        d.arrive(T0 + 20 * MS, 0, audio(1, 0, 0, 0).bytes());
        assertEquals(1, d.ctx.timerSets, "the earliest head did not change: the timer is not set again");
        assertEquals(Map.of(RtpSyncProgram.RELEASE_TIMER, T0 + 100 * MS), d.ctx.timers);
        d.advanceTo(T0 + 100 * MS);
        assertEquals(1, d.ctx.emitted.size(), "audio 0 is due at T0 + 100 ms");
        assertEquals(Map.of(RtpSyncProgram.RELEASE_TIMER, T0 + 105 * MS), d.ctx.timers, "video 0 is next");
        d.drain();
        assertEquals(List.of(0L, 1L, 0L), d.ctx.emitted.stream().map(Emitted::flow).toList());
        assertEquals(List.of(T0 + 100 * MS, T0 + 105 * MS, T0 + 120 * MS),
            d.ctx.emitted.stream().map(Emitted::time).toList());
        assertEquals(Map.of(), d.ctx.timers);
        assertEquals(0, d.ctx.timerCancels, "the last timer fired: nothing to cancel");
        // a packet that leaves at once (late: an hour after its capture) leaves nothing held: no timer
        d.arrive(d.ctx.now, 0, audio(2, 0, 0, 0).bytes());
        assertEquals(4, d.ctx.emitted.size());
        assertEquals(1, d.program.audio().late);
        assertEquals(Map.of(), d.ctx.timers);
    }

    @Test
    void aFailedEmitLosesOnlyItsPacketAndKeepsTheTimer() {
        SyncDriver d = new SyncDriver(Map.of("playout-delay-ms", "100"));
        for (int k = 0; k < 3; k++) {
            d.arrive(T0 + k * 20 * MS, 0, audio(k, 0, 0, 0).bytes());
        }
        d.ctx.failNextEmit = true;
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> d.advanceTo(T0 + 100 * MS));
        assertEquals("the datagram is too large", e.getMessage(), "the router counts it against the session");
        assertEquals(Map.of(RtpSyncProgram.RELEASE_TIMER, T0 + 120 * MS), d.ctx.timers, "the next head's timer");
        assertEquals(2, d.program.audio().buffer.size());
        d.drain();
        assertEquals(List.of(1, 2), sequences(d.ctx.emitted));
        assertEquals(1, d.program.audio().failed);
        assertEquals(2, d.program.audio().released);
        assertAccounted(d.program);
    }

    // ---- RTP details ----

    @Test
    void malformedPacketsAreCountedAndDropped() {
        SyncDriver d = new SyncDriver(Map.of());
        byte[] good = Rtp.packet(1, 1, AUDIO_SSRC, AUDIO_PT, 20);
        List<byte[]> bad = new ArrayList<>();
        bad.add(new byte[0]);
        bad.add(java.util.Arrays.copyOf(good, 11));
        byte[] v1 = good.clone();
        v1[0] = 0x40;
        bad.add(v1);
        byte[] v0 = good.clone();
        v0[0] = 0x00;
        bad.add(v0);
        byte[] csrcs = good.clone();
        csrcs[0] = (byte) 0x8F; // 15 CSRCs = 60 bytes, the packet has 32
        bad.add(csrcs);
        byte[] noExtensionHeader = java.util.Arrays.copyOf(Rtp.packet(1, 1, AUDIO_SSRC, AUDIO_PT, 0), 12);
        noExtensionHeader[0] |= 0x10;
        bad.add(noExtensionHeader);
        byte[] longExtension = Rtp.packet(1, 1, AUDIO_SSRC, AUDIO_PT, 4, false, 0, 1, 0);
        longExtension[15] = 9; // 9 words of extension in a 24-byte packet
        bad.add(longExtension);
        byte[] zeroPadding = Rtp.packet(1, 1, AUDIO_SSRC, AUDIO_PT, 8, false, 0, -1, 4);
        zeroPadding[zeroPadding.length - 1] = 0;
        bad.add(zeroPadding);
        byte[] tooMuchPadding = Rtp.packet(1, 1, AUDIO_SSRC, AUDIO_PT, 8, false, 0, -1, 4);
        tooMuchPadding[tooMuchPadding.length - 1] = 13; // 12 bytes follow the header
        bad.add(tooMuchPadding);
        bad.add(new byte[70_000]);
        byte[] rtcpTooLong = Rtp.senderReport(AUDIO_SSRC, 1, 1);
        rtcpTooLong[3] = 7;
        bad.add(rtcpTooLong);
        byte[] rtcpSdesFirst = java.util.Arrays.copyOfRange(Rtp.senderReport(AUDIO_SSRC, 1, 1), 28, 36);
        bad.add(rtcpSdesFirst);
        bad.add(java.util.Arrays.copyOf(Rtp.senderReport(AUDIO_SSRC, 1, 1), 30));
        byte[] rtcpShortSr = {(byte) 0x80, (byte) 200, 0, 1, 0, 0, 0, 1};
        bad.add(rtcpShortSr);
        for (byte[] b : bad) {
            d.arrive(T0, 0, b);
        }
        assertEquals(List.of(), d.ctx.emitted);
        assertEquals(bad.size(), d.program.audio().malformed);
        assertEquals(0, d.program.audio().received);
        assertFalse(d.program.audio().started, "nothing malformed starts the stream");
        assertTrue(d.program.stats().contains("audio.malformed=" + bad.size()), d.program.stats());
        assertTrue(d.program.stats().contains("\naudio.last-malformed=RTCP SR of 8 bytes, fewer than 28"),
            d.program.stats());

        // the full header: CSRCs, an extension and padding are parsed and left as they are
        byte[] full = Rtp.packet(7, 960, AUDIO_SSRC, AUDIO_PT, 33, true, 2, 1, 3);
        d.arrive(T0, 0, full);
        d.drain();
        assertEquals(1, d.ctx.emitted.size());
        assertArrayEquals(full, d.ctx.emitted.get(0).bytes());
        RtpHeader h = new RtpHeader();
        assertEquals(null, h.parse(java.nio.ByteBuffer.wrap(full)));
        assertEquals(12 + 8 + 8, h.payloadOffset);
        assertEquals(3, h.padding);
        assertTrue(h.marker);
        assertEquals(AUDIO_PT, h.payloadType);
        assertEquals(2, h.csrcCount);
        assertEquals(AUDIO_SSRC, h.ssrc);
    }

    @Test
    void aNewSsrcFlushesTheBufferAndRestartsTheStream() {
        SyncDriver d = new SyncDriver(Map.of("playout-delay-ms", "100"));
        for (int k = 0; k < 5; k++) {
            d.arrive(T0 + k * 20 * MS, 0, Rtp.packet(100 + k, 960L * k, 0xAAAAL, AUDIO_PT, 50));
        }
        assertEquals(0, d.ctx.emitted.size());
        long change = T0 + 90 * MS;
        d.arrive(change, 0, Rtp.packet(7, 123_456, 0xBBBBL, AUDIO_PT, 50));
        assertEquals(List.of(100, 101, 102, 103, 104), sequences(d.ctx.emitted), "flushed at once, in order");
        assertTrue(d.ctx.emitted.stream().allMatch(e -> e.time() == change));
        d.arrive(change + 1 * MS, 0, Rtp.packet(105, 960L * 5, 0xAAAAL, AUDIO_PT, 50)); // a straggler of the old
        assertEquals(105, d.ctx.emitted.get(5).sequence());
        d.drain();
        assertEquals(7, d.ctx.emitted.get(6).sequence());
        assertEquals(change + 100 * MS, d.ctx.emitted.get(6).time(), "the new SSRC is anchored afresh");
        Stream a = d.program.audio();
        assertEquals(5, a.flushed);
        assertEquals(1, a.restarts);
        assertEquals(1, a.late);
        assertEquals(0xBBBBL, a.ssrc);
        assertAccounted(d.program);
    }

    @Test
    void aSequenceJumpIsDroppedOnceThenRestartsTheStream() {
        SyncDriver d = new SyncDriver(Map.of("playout-delay-ms", "100"));
        for (int k = 0; k < 3; k++) {
            d.arrive(T0 + k * 20 * MS, 0, Rtp.packet(100 + k, 960L * k, AUDIO_SSRC, AUDIO_PT, 50));
        }
        d.arrive(T0 + 60 * MS, 0, Rtp.packet(30_000, 960L * 3, AUDIO_SSRC, AUDIO_PT, 50)); // a stray: dropped
        d.arrive(T0 + 80 * MS, 0, Rtp.packet(103, 960L * 4, AUDIO_SSRC, AUDIO_PT, 50)); // the stream goes on
        assertEquals(1, d.program.audio().jumps);
        assertEquals(0, d.program.audio().restarts);
        d.arrive(T0 + 100 * MS, 0, Rtp.packet(40_000, 960L * 5, AUDIO_SSRC, AUDIO_PT, 50)); // the sender restarted
        d.arrive(T0 + 120 * MS, 0, Rtp.packet(40_001, 960L * 6, AUDIO_SSRC, AUDIO_PT, 50));
        d.drain();
        assertEquals(List.of(100, 101, 102, 103, 40_001), sequences(d.ctx.emitted));
        assertEquals(2, d.program.audio().jumps);
        assertEquals(1, d.program.audio().restarts);
        assertAccounted(d.program);
    }

    // ---- RTCP sender reports ----

    /**
     * Video always comes 60 ms after audio. From arrivals alone the synchronizer cannot tell that from a
     * timestamp offset: each stream is held the playout delay after its own quickest packet, 58 ms apart. With a
     * sender report on each flow, both are on the sender's clock and leave in step.
     */
    @Test
    void senderReportsPutBothStreamsOnTheSendersClock() {
        long ntpAtT0 = 3_900_000_000L * 1_000_000L; // the sender's wall clock at T0, µs since 1900
        for (boolean reports : new boolean[] {false, true}) {
            SyncDriver d = new SyncDriver(Map.of("playout-delay-ms", "100"));
            List<Sent> sent = avStream(3000, k -> 2 * MS, j -> 60 * MS);
            if (reports) {
                // each at the stream's first capture, sent just before the first packet of each flow
                sent.add(new Sent(T0, T0, 0, -1, 0, Rtp.senderReport(AUDIO_SSRC, ntpAtT0, 0x12345678L)));
                sent.add(new Sent(T0, T0 + 50 * MS, 1, -1, 0, Rtp.senderReport(VIDEO_SSRC, ntpAtT0, 0xFFF00000L)));
                sent.sort(Comparator.comparingLong(Sent::arrival));
            }
            run(d, sent);
            Map<Long, Sent> index = index(sent);
            long audioLatency = -1;
            long videoLatency = -1;
            for (Emitted e : d.ctx.emitted) {
                if (e.rtcp()) {
                    continue;
                }
                Sent s = sentOf(index, e);
                if (s.capture() < T0 + 200 * MS) {
                    continue;
                }
                long latency = e.time() - s.capture();
                if (e.flow() == 0) {
                    assertTrue(audioLatency < 0 || audioLatency == latency, "one audio latency");
                    audioLatency = latency;
                } else {
                    assertTrue(videoLatency < 0 || videoLatency == latency, "one video latency");
                    videoLatency = latency;
                }
            }
            System.out.printf("video 60 ms behind audio, %s sender reports: audio leaves %d us, video %d us after "
                + "capture%n", reports ? "with" : "without", audioLatency, videoLatency);
            if (reports) {
                assertTrue(d.program.onSenderClock());
                assertEquals(102 * MS, audioLatency, "the quickest packet, audio, sets the shared timeline");
                assertEquals(102 * MS, videoLatency, "video in step with audio");
                assertEquals(1, d.program.audio().reports);
                assertEquals(1, d.program.video().reports);
                List<Emitted> rtcp = d.ctx.emitted.stream().filter(Emitted::rtcp).toList();
                assertEquals(2, rtcp.size(), "RTCP is forwarded");
                assertEquals(T0, rtcp.get(0).time(), "at once");
                assertEquals(1, d.program.video().rtcp);
            } else {
                assertFalse(d.program.onSenderClock());
                assertEquals(100 * MS, audioLatency - 2 * MS);
                assertEquals(100 * MS, videoLatency - 60 * MS);
            }
            assertEquals(0, d.program.audio().late + d.program.video().late);
        }
    }

    @Test
    void aReportForAnotherSsrcIsNotUsed() {
        SyncDriver d = new SyncDriver(Map.of());
        d.arrive(T0, 0, audio(0, 0, 0, 0).bytes());
        d.arrive(T0, 1, video(0, 0, 0, 0, 0).bytes());
        d.arrive(T0, 0, Rtp.senderReport(AUDIO_SSRC, 5_000_000_000L, 0));
        d.arrive(T0, 1, Rtp.senderReport(0x999, 5_000_000_000L, 0));
        assertFalse(d.program.onSenderClock());
        d.arrive(T0, 1, Rtp.senderReport(VIDEO_SSRC, 5_000_000_000L, 0));
        assertTrue(d.program.onSenderClock());
        assertTrue(d.program.stats().startsWith("clock=sender clock-switches=1 cnames=match "), d.program.stats());
    }

    @Test
    void reportsFromTwoHostsDoNotShareAClock() {
        SyncDriver d = new SyncDriver(Map.of());
        d.arrive(T0, 0, audio(0, 0, 0, 0).bytes());
        d.arrive(T0, 1, video(0, 0, 0, 0, 0).bytes());
        d.arrive(T0, 0, Rtp.senderReport(AUDIO_SSRC, 5_000_000_000L, 0, "mic@host-a"));
        d.arrive(T0, 1, Rtp.senderReport(VIDEO_SSRC, 5_000_000_000L, 0, "camera@host-b"));
        assertFalse(d.program.onSenderClock(), "two CNAMEs: two wall clocks");
        assertTrue(d.program.stats().startsWith("clock=arrival clock-switches=0 cnames=differ "), d.program.stats());
        d.arrive(T0, 1, Rtp.senderReport(VIDEO_SSRC, 5_000_000_000L, 0, "mic@host-a"));
        assertTrue(d.program.onSenderClock(), "one host");
        assertTrue(d.program.stats().startsWith("clock=sender clock-switches=1 cnames=match "), d.program.stats());
    }

    // ---- other flows, control, state ----

    @Test
    void otherFlowsPassThroughAndControlIsCounted() {
        SyncDriver d = new SyncDriver(Map.of("audio-flow", "4", "video-flow", "2"), 1, 0, 2, 4);
        d.arrive(T0, 0, new byte[] {1, 2, 3});
        assertEquals(1, d.ctx.emitted.size());
        assertEquals(0, d.ctx.emitted.get(0).flow());
        assertArrayEquals(new byte[] {1, 2, 3}, d.ctx.emitted.get(0).bytes());
        d.ctx.now = T0;
        d.program.process(io.pando.api.program.Datagram.control(io.pando.api.session.FlowId.of(4), new byte[] {9}),
            d.ctx);
        d.arrive(T0, 4, audio(0, 0, 0, 0).bytes());
        d.arrive(T0, 2, video(0, 0, 0, 0, 0).bytes());
        d.drain();
        assertEquals(List.of(0L, 4L, 2L), d.ctx.emitted.stream().map(Emitted::flow).toList());
        assertTrue(d.program.stats().contains(" other=1 control=1 "), d.program.stats());
    }

    @Test
    void countersGoToSessionStateAtMostOnceASecond() {
        SyncDriver d = new SyncDriver(Map.of());
        d.arrive(T0, 0, audio(0, 0, 0, 0).bytes());
        assertTrue(d.ctx.stats().contains(" audio.received=1 "), d.ctx.stats());
        d.arrive(T0 + 20 * MS, 0, audio(1, 0, 0, 0).bytes());
        assertTrue(d.ctx.stats().contains(" audio.received=1 "), "not rewritten within the second");
        d.arrive(T0 + 1000 * MS, 0, audio(50, 0, 0, 0).bytes());
        assertTrue(d.ctx.stats().contains(" audio.received=3 "), d.ctx.stats());
        assertTrue(d.ctx.stats().contains(" audio.released=2 "), d.ctx.stats());
    }

    // ---- parameters ----

    @Test
    void validateAcceptsGoodParameters() {
        RtpSyncProgram p = new RtpSyncProgram();
        p.validate(Map.of());
        p.validate(Map.of("audio-flow", "3", "video-flow", "0", "audio-clock-rate", "8000", "video-clock-rate",
            "90000", "playout-delay-ms", "0", "buffer-packets", "1", "buffer-bytes", "65535"));
        p.validate(Map.of("playout-delay-ms", " 10000 ", "buffer-packets", "16384", "buffer-bytes", "67108864"));
    }

    @ParameterizedTest
    @ValueSource(strings = {"audio-flow=-1", "audio-flow=4294967296", "video-flow=x", "audio-clock-rate=999",
        "video-clock-rate=1000001", "playout-delay-ms=10001", "playout-delay-ms=1.5", "playout-delay-ms=",
        "buffer-packets=0", "buffer-packets=16385", "buffer-bytes=65534", "buffer-bytes=67108865",
        "audio-clock-rate=+8000", "buffer-bytes=1e6"})
    void validateRefusesMalformedOrOutOfRangeValues(String parameter) {
        String[] kv = parameter.split("=", 2);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
            () -> new RtpSyncProgram().validate(Map.of(kv[0], kv[1])));
        assertTrue(e.getMessage().startsWith("rtp-sync: parameter '" + kv[0] + "' is a whole number from "),
            e.getMessage());
        assertTrue(e.getMessage().endsWith("got '" + kv[1] + "'"), e.getMessage());
    }

    @Test
    void validateRefusesUnknownParametersAndOneFlowForBoth() {
        IllegalArgumentException unknown = assertThrows(IllegalArgumentException.class,
            () -> new RtpSyncProgram().validate(Map.of("playout", "100")));
        assertEquals("rtp-sync: unknown parameter 'playout'; the parameters are audio-flow (a flow id, default 0), "
            + "video-flow (a flow id, default 1), audio-clock-rate (Hz, default 48000), video-clock-rate (Hz, default "
            + "90000), playout-delay-ms (ms, default 100), buffer-packets (packets per flow, default 1024), "
            + "buffer-bytes (bytes per flow, default 2097152)", unknown.getMessage());
        IllegalArgumentException same = assertThrows(IllegalArgumentException.class,
            () -> new RtpSyncProgram().validate(Map.of("video-flow", "0")));
        assertEquals("rtp-sync: parameters 'audio-flow' and 'video-flow' name the same flow 0; audio and video need "
            + "a flow each", same.getMessage());
    }

    @Test
    void aSessionWithoutTheFlowsRefusesEveryDatagram() {
        SyncContext ctx = new SyncContext(Map.of(), 0);
        RtpSyncProgram p = new RtpSyncProgram(() -> 0);
        for (int i = 0; i < 2; i++) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> p.process(SyncContext.datagram(0, audio(0, 0, 0, 0).bytes()), ctx));
            assertEquals("rtp-sync: the session has no flow 1 for 'video-flow' (its flows: 0); create it with "
                + "--flow 1:NAME=HOST:PORT or set 'video-flow'", e.getMessage());
        }
        assertEquals(List.of(), ctx.emitted);
        p.onTimer(RtpSyncProgram.RELEASE_TIMER, ctx); // a stray timer does nothing
    }
}
