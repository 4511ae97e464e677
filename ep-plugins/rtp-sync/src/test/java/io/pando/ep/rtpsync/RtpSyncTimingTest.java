package io.pando.ep.rtpsync;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.pando.api.program.Datagram;
import io.pando.api.program.ProgramContext;
import io.pando.api.session.FlowId;
import io.pando.api.session.SessionId;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * A rough figure of the program's own cost per packet, not a benchmark: A/V packets (audio 20 ms, video 3 packets
 * of 1000 bytes per frame at 30 frames/s, both jittered) through {@code process} and {@code onTimer}, with a context
 * that only counts emits, so the program's work dominates.
 */
class RtpSyncTimingTest {

    /** A context that counts emits and keeps the one timer's due time; state is discarded. */
    private static final class CountingContext implements ProgramContext {
        long now;
        long emitted;
        long timerDue = Long.MAX_VALUE;
        private final List<FlowId> flows = List.of(FlowId.of(0), FlowId.of(1));

        @Override
        public SessionId session() {
            return new SessionId(1);
        }

        @Override
        public void emit(FlowId flow, ByteBuffer data) {
            emitted++;
        }

        @Override
        public Optional<byte[]> state(String key) {
            return Optional.empty();
        }

        @Override
        public void putState(String key, byte[] value) {
        }

        @Override
        public void sendControl(FlowId flow, ByteBuffer data) {
        }

        @Override
        public Map<String, String> parameters() {
            return Map.of();
        }

        @Override
        public List<FlowId> flows() {
            return flows;
        }

        @Override
        public void setTimer(long timer, long delayMicros) {
            timerDue = now + delayMicros;
        }

        @Override
        public void cancelTimer(long timer) {
            timerDue = Long.MAX_VALUE;
        }
    }

    @Test
    void roughTimePerPacket() throws Exception {
        int frames = 60_000; // 2000 s of video, 100 000 audio packets
        CountingContext ctx = new CountingContext();
        RtpSyncProgram p = new RtpSyncProgram(() -> ctx.now);
        byte[] audio = Rtp.packet(0, 0, 1, 111, 160);
        byte[] video = Rtp.packet(0, 0, 2, 96, 1000);
        ByteBuffer a = ByteBuffer.wrap(audio);
        ByteBuffer v = ByteBuffer.wrap(video);
        Datagram audioDatagram = Datagram.wrap(FlowId.of(0), false, a);
        Datagram videoDatagram = Datagram.wrap(FlowId.of(1), false, v);
        long packets = 0;
        long start = 0;
        for (int round = 0; round < 2; round++) { // the first round warms up
            start = System.nanoTime();
            packets = 0;
            int audioK = 0;
            for (int j = 0; j < frames; j++) {
                long frameTime = 1_000_000L * j / 30;
                for (; 20_000L * audioK <= frameTime; audioK++) {
                    long t = 20_000L * audioK + (audioK * 7919L % 4000);
                    advance(p, ctx, t);
                    a.putShort(2, (short) audioK).putInt(4, 960 * audioK);
                    p.process(audioDatagram, ctx);
                    packets++;
                }
                for (int k = 0; k < 3; k++) {
                    advance(p, ctx, frameTime + (j * 104_729L % 60_000) + k * 100);
                    v.putShort(2, (short) (3 * j + k)).putInt(4, 3000 * j);
                    p.process(videoDatagram, ctx);
                    packets++;
                }
            }
            advance(p, ctx, Long.MAX_VALUE / 2);
            if (round == 0) {
                p = new RtpSyncProgram(() -> ctx.now);
                ctx.now = 0;
                ctx.timerDue = Long.MAX_VALUE;
                ctx.emitted = 0;
            }
        }
        long nanos = System.nanoTime() - start;
        assertEquals(packets, ctx.emitted, "every packet leaves");
        assertEquals(0, p.audio().late + p.video().late + p.audio().overflow + p.video().overflow);
        System.out.printf("ROUGH FIGURE (not a benchmark): %.2f us per packet (process, timers, release) over %d A/V "
            + "packets, one thread, %d CPUs, %s%n", nanos / 1000.0 / packets, packets,
            Runtime.getRuntime().availableProcessors(), System.getProperty("java.vm.version"));
    }

    /** Fires the timer while it is due before {@code t}, then moves the clock to {@code t}. */
    private static void advance(RtpSyncProgram p, CountingContext ctx, long t) throws Exception {
        while (ctx.timerDue <= t) {
            ctx.now = Math.max(ctx.now, ctx.timerDue);
            ctx.timerDue = Long.MAX_VALUE;
            p.onTimer(RtpSyncProgram.RELEASE_TIMER, ctx);
        }
        ctx.now = Math.max(ctx.now, t);
    }
}
