package io.pando.ep.audio;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pando.api.program.Datagram;
import io.pando.api.session.FlowId;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The program driven as the router drives it: one instance, one datagram (chunk) at a time. */
class AudioTranscoderProgramTest {

    private static final FlowId FLOW = FlowId.of(3);
    private static final int FS_IN = PcmDecimator.INPUT_RATE_HZ;
    private static final int FS_OUT = PcmDecimator.OUTPUT_RATE_HZ;
    /** 20 ms at 48 kHz. */
    private static final int CHUNK = 960;
    /** Output samples skipped before measuring: the filter's whole length and then some. */
    private static final int SETTLE = 100;

    /** Feeds {@code pcm} in chunks of the given frame counts (repeated as needed) and returns all output. */
    private static byte[] run(AudioTranscoderProgram p, RecordingContext ctx, byte[] pcm, int... chunkFrames) {
        int frames = pcm.length / 4;
        for (int at = 0, i = 0; at < frames; i++) {
            int n = Math.min(chunkFrames[i % chunkFrames.length], frames - at);
            p.process(Datagram.of(FLOW, Arrays.copyOfRange(pcm, 4 * at, 4 * (at + n))), ctx);
            at += n;
        }
        return ctx.drain();
    }

    private static double[] transcode(Map<String, String> parameters, byte[] pcm, int... chunkFrames) {
        return Pcm.mono(run(new AudioTranscoderProgram(), new RecordingContext(parameters), pcm, chunkFrames));
    }

    // ---- the signal ----

    @Test
    void a1kHzToneComesOutAt1kHzWithItsAmplitude() {
        double amplitude = 16384; // -6 dBFS
        double[] y = transcode(Map.of(), Pcm.tone(2 * FS_IN, 1000, amplitude), CHUNK);
        assertEquals(2 * FS_OUT, y.length);
        double hz = Pcm.zeroCrossingHz(y, SETTLE, y.length, FS_OUT);
        double a = Pcm.goertzelAmplitude(y, SETTLE, y.length, 1000, FS_OUT);
        double rest = Math.sqrt(Math.max(0, Math.pow(Pcm.rms(y, SETTLE, y.length), 2) - a * a / 2));
        System.out.printf("1 kHz tone: %.4f Hz at 8 kHz, amplitude %.4f dB, everything else %.1f dB below%n",
            hz, Pcm.db(a / amplitude), Pcm.db(a / Math.sqrt(2) / rest));
        assertEquals(1000, hz, 0.1, "frequency by zero crossings");
        assertEquals(0, Pcm.db(a / amplitude), 0.5, "amplitude by Goertzel, dB");
        assertTrue(Pcm.db(a / Math.sqrt(2) / rest) > 80, "a clean tone: noise and distortion 80 dB down");
        // and there is nothing at 2 or 3 kHz
        assertTrue(Pcm.goertzelAmplitude(y, SETTLE, y.length, 3000, FS_OUT) < 1);
    }

    @ParameterizedTest(name = "{0} Hz")
    @ValueSource(ints = {4100, 4500, 5000, 6000, 7000, 8000, 10_000, 12_000, 16_000, 20_000, 23_900})
    void whatWouldAliasIsSuppressedByAtLeast70dB(int hz) {
        double amplitude = 0.9 * Pcm.FULL_SCALE;
        double[] y = transcode(Map.of(), Pcm.tone(FS_IN, hz, amplitude), CHUNK);
        double rms = Pcm.rms(y, SETTLE, y.length);
        double attenuation = Pcm.db(amplitude / Math.sqrt(2) / rms);
        int alias = Math.abs(hz - FS_OUT * Math.round((float) hz / FS_OUT));
        double designed = -Pcm.db(KaiserLowPassTest.response(PcmDecimator.prototype(), hz));
        System.out.printf("%5d Hz (would alias to %4d Hz): %s, filter %.1f dB down%n", hz, alias,
            rms == 0 ? "output is digital silence" : String.format("output %.1f dB down", attenuation), designed);
        assertTrue(attenuation >= 70, hz + " Hz only " + attenuation + " dB down");
    }

    @Test
    void passbandResponseAsMeasured() {
        double amplitude = 16384;
        StringBuilder table = new StringBuilder("measured response, Hz: dB");
        for (int hz : new int[] {100, 300, 1000, 2000, 3000, 3200, 3400, 3600, 3800}) {
            double[] y = transcode(Map.of(), Pcm.tone(FS_IN, hz, amplitude), CHUNK);
            double db = Pcm.db(Pcm.goertzelAmplitude(y, SETTLE, SETTLE + 7800, hz, FS_OUT) / amplitude);
            double designed = Pcm.db(KaiserLowPassTest.response(PcmDecimator.prototype(), hz));
            table.append(String.format("  %d: %.2f", hz, db));
            assertEquals(designed, db, 0.02, hz + " Hz, as designed");
            if (hz <= 3000) {
                assertEquals(0, db, 0.01, hz + " Hz is in the flat passband");
            }
        }
        System.out.println(table);
    }

    @Test
    void matchesAFullRateReferenceConvolution() {
        Random random = new Random(5);
        int frames = 12_000;
        short[] l = new short[frames];
        short[] r = new short[frames];
        byte[] pcm = Pcm.stereo(frames, f -> l[f] = Pcm.clamp(9000 * Math.sin(f * 0.05) + random.nextGaussian() * 4000),
            f -> r[f] = Pcm.clamp(random.nextGaussian() * 6000));
        double[] y = transcode(Map.of("gain-db", "3"), pcm, 500, 7, 1, 1001);
        double[] h = PcmDecimator.prototype();
        double g = Math.pow(10, 3 / 20.0) / 2;
        int differ = 0;
        for (int m = 0; m < y.length; m++) {
            int newest = 6 * m + 5;
            double acc = 0;
            for (int k = 0; k < h.length && newest - k >= 0; k++) {
                acc += h[k] * g * (l[newest - k] + r[newest - k]);
            }
            double want = PcmDecimator.saturate(acc);
            assertEquals(want, y[m], 1, "output " + m);
            differ += want == y[m] ? 0 : 1;
        }
        assertEquals(frames / 6, y.length);
        assertTrue(differ < y.length / 100, differ + " samples differ by one LSB (rounding order)");
    }

    // ---- the stream ----

    @Test
    void outputIsExactlyOneSixthOfTheFramesOverIrregularChunks() {
        AudioTranscoderProgram p = new AudioTranscoderProgram();
        RecordingContext ctx = new RecordingContext();
        Random random = new Random(1);
        long in = 0;
        long out = 0;
        for (int i = 0; i < 3000; i++) {
            int frames = 1 + random.nextInt(1500);
            if (frames % 6 == 0) {
                frames++;
            }
            p.process(Datagram.of(FLOW, Pcm.tone(frames, 440, 1000)), ctx);
            in += frames;
            for (Datagram d : ctx.emitted) {
                assertEquals(FLOW, d.flow());
                out += d.length() / 2;
            }
            ctx.emitted.clear();
            assertEquals(in / 6, out, "after " + in + " frames");
        }
        int rest = (int) ((6 - in % 6) % 6);
        if (rest > 0) {
            p.process(Datagram.of(FLOW, Pcm.tone(rest, 440, 1000)), ctx);
            out += ctx.drain().length / 2;
            in += rest;
        }
        assertEquals(0, in % 6);
        assertEquals(in / 6, out);
    }

    @Test
    void chunkingDoesNotChangeASingleSample() {
        Random random = new Random(2);
        int frames = 40_000;
        byte[] pcm = Pcm.stereo(frames, f -> 8000 * Math.sin(2 * Math.PI * 1000 * f / FS_IN) + 3000 * random.nextGaussian(),
            f -> 8000 * Math.sin(2 * Math.PI * 2900 * f / FS_IN) + 3000 * random.nextGaussian());
        byte[] whole = run(new AudioTranscoderProgram(), new RecordingContext(), pcm, frames);
        assertEquals(2 * (frames / 6), whole.length);
        for (int[] chunks : new int[][] {{1}, {5}, {7}, {960}, {961}, {1, 2, 3, 4, 5, 6, 7, 1000, 4099}}) {
            byte[] chunked = run(new AudioTranscoderProgram(), new RecordingContext(), pcm, chunks);
            assertArrayEquals(whole, chunked, "chunks of " + Arrays.toString(chunks));
        }
    }

    @Test
    void aMalformedDatagramIsRefusedAndChangesNothing() {
        AudioTranscoderProgram p = new AudioTranscoderProgram();
        RecordingContext ctx = new RecordingContext();
        for (int length : new int[] {0, 1, 2, 3}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> p.process(Datagram.of(FLOW, new byte[length]), ctx));
            assertTrue(e.getMessage().startsWith("audio-transcoder: a chunk has at least one frame of 4 bytes"),
                e.getMessage());
            assertTrue(e.getMessage().endsWith("got " + length + " bytes"), e.getMessage());
        }
        for (int length : new int[] {5, 6, 7, 1023, 3842}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> p.process(Datagram.of(FLOW, new byte[length]), ctx));
            assertTrue(e.getMessage().contains("a chunk is whole frames of 4 bytes"), e.getMessage());
            assertTrue(e.getMessage().contains("got " + length + " bytes"), e.getMessage());
        }
        IllegalArgumentException big = assertThrows(IllegalArgumentException.class,
            () -> p.process(Datagram.of(FLOW, new byte[4 * 48_001]), ctx));
        assertTrue(big.getMessage().contains("at most 48000 frames"), big.getMessage());
        assertTrue(ctx.emitted.isEmpty());

        // bad datagrams in the middle of a stream leave its state alone
        byte[] pcm = Pcm.tone(9600, 1000, 12_000);
        byte[] clean = run(new AudioTranscoderProgram(), new RecordingContext(), pcm, 700);
        AudioTranscoderProgram q = new AudioTranscoderProgram();
        RecordingContext qctx = new RecordingContext();
        int errors = 0;
        for (int at = 0; at < 9600; at += 700) {
            q.process(Datagram.of(FLOW, Arrays.copyOfRange(pcm, 4 * at, 4 * Math.min(9600, at + 700))), qctx);
            try {
                q.process(Datagram.of(FLOW, new byte[] {1, 2, 3, 4, 5, 6}), qctx);
            } catch (IllegalArgumentException expected) {
                errors++;
            }
        }
        assertEquals(14, errors);
        assertArrayEquals(clean, qctx.drain());
    }

    @Test
    void controlDatagramsPassThroughUnchanged() {
        AudioTranscoderProgram p = new AudioTranscoderProgram();
        RecordingContext ctx = new RecordingContext();
        p.process(Datagram.control(FLOW, new byte[] {9, 8, 7}), ctx);
        assertEquals(1, ctx.emitted.size());
        assertEquals(FLOW, ctx.emitted.get(0).flow());
        assertArrayEquals(new byte[] {9, 8, 7}, ctx.drain());
    }

    @Test
    void readsTheDatagramFromItsPositionInADirectBuffer() {
        byte[] pcm = Pcm.tone(CHUNK, 1000, 10_000);
        byte[] expected = run(new AudioTranscoderProgram(), new RecordingContext(), pcm, CHUNK);
        ByteBuffer backing = ByteBuffer.allocateDirect(pcm.length + 10);
        backing.position(6);
        backing.put(pcm).position(6).limit(6 + pcm.length);
        AudioTranscoderProgram p = new AudioTranscoderProgram();
        RecordingContext ctx = new RecordingContext();
        p.process(Datagram.wrap(FLOW, false, backing), ctx);
        assertArrayEquals(expected, ctx.drain());
        assertEquals(6, backing.position());
    }

    // ---- downmix, gain, saturation ----

    @Test
    void downmixesToTheMeanOfBothChannels() {
        double[] opposite = transcode(Map.of(), Pcm.stereo(FS_IN, Pcm.sine(1000, 20_000), Pcm.sine(1000, -20_000)), CHUNK);
        assertTrue(Arrays.stream(opposite).allMatch(v -> v == 0), "L = -R cancels exactly");

        double[] leftOnly = transcode(Map.of(), Pcm.stereo(FS_IN, Pcm.sine(1000, 20_000), f -> 0), CHUNK);
        assertEquals(-6.02, Pcm.db(Pcm.goertzelAmplitude(leftOnly, SETTLE, 8000, 1000, FS_OUT) / 20_000), 0.01);
    }

    @ParameterizedTest(name = "gain-db={0}")
    @ValueSource(strings = {"-24", "-6", "0", "+3.5", "12"})
    void appliesTheGain(String gainDb) {
        double amplitude = 1000;
        double[] y = transcode(Map.of("gain-db", gainDb), Pcm.tone(FS_IN, 1000, amplitude), CHUNK);
        double measured = Pcm.db(Pcm.goertzelAmplitude(y, SETTLE, 8000, 1000, FS_OUT) / amplitude);
        assertEquals(Double.parseDouble(gainDb), measured, gainDb.equals("-24") ? 0.2 : 0.02);
    }

    @Test
    void fullScaleDcComesThroughAtFullScale() {
        for (short level : new short[] {Short.MAX_VALUE, Short.MIN_VALUE}) {
            double[] y = transcode(Map.of(), Pcm.stereo(4800, f -> level, f -> level), CHUNK);
            for (int m = 2 * PcmDecimator.DELAY_OUTPUT_SAMPLES + 1; m < y.length; m++) {
                assertEquals(level, y[m], 0, "output " + m);
            }
        }
    }

    @Test
    void saturatesInsteadOfWrappingAround() {
        // +24 dB on a -6 dBFS tone asks for 8 times full scale: clipped, never wrapped
        double amplitude = 16384;
        double gain = Math.pow(10, 24 / 20.0);
        double[] y = transcode(Map.of("gain-db", "24"), Pcm.tone(FS_IN, 1000, amplitude), CHUNK);
        int clipped = 0;
        for (int m = SETTLE; m < y.length; m++) {
            int center = 6 * m + 5 - (PcmDecimator.TAPS - 1) / 2; // the input frame output m is centered on
            double expected = gain * amplitude * Math.sin(2 * Math.PI * 1000 * center / FS_IN);
            assertEquals(Pcm.clamp(expected), y[m], 16, "output " + m);
            clipped += Math.abs(y[m]) >= Short.MAX_VALUE ? 1 : 0;
        }
        assertTrue(clipped > (y.length - SETTLE) / 2, clipped + " samples at the rails");

        // a full-scale square wave overshoots after the low-pass (Gibbs): the rails, no sign flips
        double[] sq = transcode(Map.of(), Pcm.stereo(FS_IN, f -> (f / 96) % 2 == 0 ? 32767 : -32768,
            f -> (f / 96) % 2 == 0 ? 32767 : -32768), CHUNK);
        assertEquals(Short.MAX_VALUE, Arrays.stream(sq).max().orElseThrow());
        assertEquals(Short.MIN_VALUE, Arrays.stream(sq).min().orElseThrow());
        for (int m = SETTLE; m < sq.length; m++) {
            int center = 6 * m + 5 - (PcmDecimator.TAPS - 1) / 2;
            int fromEdge = Math.min(center % 96, 96 - center % 96);
            if (fromEdge >= 30) {
                double sign = (center / 96) % 2 == 0 ? 1 : -1;
                assertTrue(sign * sq[m] > 30_000, "output " + m + " = " + sq[m]);
            }
        }
    }

    // ---- parameters ----

    @Test
    void validatesItsParameters() {
        AudioTranscoderProgram p = new AudioTranscoderProgram();
        for (String ok : new String[] {"0", "-24", "24", "3.5", "+6", "-0.25", " -6 ", ".5", "24.0"}) {
            assertDoesNotThrow(() -> p.validate(Map.of("gain-db", ok)), ok);
        }
        assertDoesNotThrow(() -> p.validate(Map.of()));
        for (String bad : new String[] {"24.01", "-25", "100", "abc", "", "NaN", "Infinity", "1e1", "0x10", "6 dB",
            "--6"}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> p.validate(Map.of("gain-db", bad)), bad);
            assertEquals("audio-transcoder: parameter 'gain-db' is a gain in decibels from -24.0 to 24.0 (for "
                + "example -6 or 3.5), got '" + bad + "'", e.getMessage());
        }
        IllegalArgumentException one = assertThrows(IllegalArgumentException.class,
            () -> p.validate(Map.of("gain-db", "3", "rate", "8000")));
        assertEquals("audio-transcoder: unknown parameter 'rate'; the only parameter is 'gain-db' (decibels, -24.0 "
            + "to 24.0, default 0)", one.getMessage());
        IllegalArgumentException two = assertThrows(IllegalArgumentException.class,
            () -> p.validate(Map.of("key", "x", "channels", "1")));
        assertTrue(two.getMessage().startsWith("audio-transcoder: unknown parameters 'channels', 'key';"),
            two.getMessage());
    }

    @Test
    void aSessionWithBadParametersGetsNoOutput() {
        AudioTranscoderProgram p = new AudioTranscoderProgram();
        RecordingContext ctx = new RecordingContext(Map.of("gain-db", "30"));
        assertThrows(IllegalArgumentException.class, () -> p.process(Datagram.of(FLOW, Pcm.tone(CHUNK, 1000, 1)), ctx));
        assertTrue(ctx.emitted.isEmpty());
    }

    // ---- memory and time ----

    @Test
    void reusesItsBuffers() {
        AudioTranscoderProgram p = new AudioTranscoderProgram();
        RecordingContext ctx = new RecordingContext();
        byte[] chunk = Pcm.tone(CHUNK, 1000, 1000);
        p.process(Datagram.of(FLOW, chunk), ctx);
        assertEquals(320, ctx.drain().length, "20 ms at 8 kHz");
        int output = p.outputCapacity();
        int samples = p.sampleCapacityFrames();
        assertEquals(320, output);
        assertEquals(CHUNK, samples);
        for (int i = 0; i < 1000; i++) {
            p.process(Datagram.of(FLOW, Arrays.copyOf(chunk, 4 * (CHUNK - i % 7))), ctx);
            ctx.emitted.clear();
        }
        assertEquals(output, p.outputCapacity());
        assertEquals(samples, p.sampleCapacityFrames());
        p.process(Datagram.of(FLOW, Pcm.tone(4 * CHUNK, 1000, 1000)), ctx);
        assertEquals(4 * CHUNK, p.sampleCapacityFrames(), "grows once for a larger chunk");
        assertTrue(p.outputCapacity() >= 4 * 320);
    }

    @Test
    void roughTimePerTwentyMillisecondChunk() {
        AudioTranscoderProgram p = new AudioTranscoderProgram();
        RecordingContext ctx = new RecordingContext();
        Datagram chunk = Datagram.of(FLOW, Pcm.tone(CHUNK, 1000, 10_000));
        for (int i = 0; i < 20_000; i++) { // warm-up: 400 s of audio
            p.process(chunk, ctx);
            ctx.emitted.clear();
        }
        int n = 20_000;
        long start = System.nanoTime();
        for (int i = 0; i < n; i++) {
            p.process(chunk, ctx);
            ctx.emitted.clear();
        }
        double micros = (System.nanoTime() - start) / 1e3 / n;
        System.out.printf("ROUGH FIGURE (not a benchmark): %.1f us per 20 ms chunk (960 frames in, 160 samples out), "
            + "%.0fx real time, on one thread, %d CPUs, %s%n", micros, 20_000 / micros,
            Runtime.getRuntime().availableProcessors(), System.getProperty("java.vm.version"));
        assertTrue(micros < 2000, micros + " us per 20 ms chunk");
    }

    /** The little-endian layout of the output, checked by hand on one known sample. */
    @Test
    void writesLittleEndianSamples() {
        double[] y = transcode(Map.of(), Pcm.stereo(600, f -> 1000, f -> 1000), 600);
        assertEquals(1000, y[y.length - 1], 0);
        byte[] raw = run(new AudioTranscoderProgram(), new RecordingContext(), Pcm.stereo(600, f -> 1000, f -> 1000), 600);
        assertEquals(1000, ByteBuffer.wrap(raw, raw.length - 2, 2).order(ByteOrder.LITTLE_ENDIAN).getShort());
        assertEquals((byte) 0xE8, raw[raw.length - 2]);
        assertEquals((byte) 0x03, raw[raw.length - 1]);
    }
}
