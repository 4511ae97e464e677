package io.pando.ep.audio;

import java.nio.ByteBuffer;

/**
 * The signal path of {@code audio-transcoder}: interleaved 16-bit stereo at 48 kHz in, 16-bit mono at 8 kHz out.
 * Each frame is downmixed to {@code L + R} (kept exact, as a double: nothing clips here), low-passed by a
 * {@value #TAPS}-tap Kaiser-windowed sinc and decimated by {@value #FACTOR}; the only rounding and saturation
 * happen once, on the output sample.
 *
 * <p><b>Decimating FIR.</b> Only the samples that are kept are computed: output {@code m} is the dot product of
 * the coefficients with the {@value #TAPS} mono samples ending at input frame {@code 6m + 5}, that is
 * {@value #TAPS} multiply-adds per output and none for the five input frames in between. This is the polyphase
 * decimator: its six sub-filters {@code h[6j + p]} meet the input samples of phase {@code p}, kept interleaved in
 * one buffer. The filter is symmetric (linear phase), so each product is taken once for the two samples that
 * share a coefficient. The factor 1/2 of the downmix and the gain are folded into the coefficients.
 *
 * <p><b>State across chunks.</b> The stream is continuous: the last {@code TAPS - 1} mono samples and the phase
 * (how many frames since the last output, 0 to 5) carry over from one chunk to the next, so a stream gives the
 * same samples however it is cut into chunks, and {@code n} frames in total give exactly {@code floor(n / 6)}
 * outputs. The output lags the input by {@value #DELAY_OUTPUT_SAMPLES} output samples (3 ms), the filter's
 * group delay of {@code (TAPS - 1) / 2} input frames.
 *
 * <p>Not thread safe: owned by one program instance. The sample buffer grows to the largest chunk seen and is
 * reused; {@link #process} allocates nothing after that.
 */
final class PcmDecimator {

    /** Input sample rate in Hz. */
    static final int INPUT_RATE_HZ = 48_000;
    /** Decimation factor: one output sample per six input frames. */
    static final int FACTOR = 6;
    /** Output sample rate in Hz. */
    static final int OUTPUT_RATE_HZ = INPUT_RATE_HZ / FACTOR;
    /** Filter length; {@code TAPS - 1} is a multiple of {@code 2 * FACTOR}, so the delay is whole output samples. */
    static final int TAPS = 289;
    /** Where the windowed sinc cuts off (6 dB down), in Hz. */
    static final double CUTOFF_HZ = 3_600;
    /** The Kaiser window's beta: about 76 dB of stopband attenuation, reached at 4 kHz with {@value #TAPS} taps. */
    static final double KAISER_BETA = 7.5;
    /** The filter's group delay, in output samples. */
    static final int DELAY_OUTPUT_SAMPLES = (TAPS - 1) / 2 / FACTOR;

    /** Mono samples kept from earlier chunks. */
    private static final int HISTORY = TAPS - 1;
    private static final int INITIAL_FRAMES = INPUT_RATE_HZ / 50; // a 20 ms chunk
    /** The unit-gain low-pass: shared, never handed out. */
    private static final double[] PROTOTYPE = KaiserLowPass.design(TAPS, CUTOFF_HZ, INPUT_RATE_HZ, KAISER_BETA);

    /** The first half of the symmetric coefficients and the center one, times gain / 2. */
    private final double[] half = new double[HISTORY / 2 + 1];
    /** {@code HISTORY} samples of earlier chunks, then the current chunk's samples, as {@code L + R}. */
    private double[] samples = new double[HISTORY + INITIAL_FRAMES];
    /** Input frames since the last output sample, 0 to {@code FACTOR - 1}. */
    private int pending;

    /**
     * A decimator whose filter history is silence.
     *
     * @param gain linear gain applied to the mono signal, positive
     */
    PcmDecimator(double gain) {
        if (!(gain > 0) || Double.isInfinite(gain)) {
            throw new IllegalArgumentException("the gain must be positive and finite, got " + gain);
        }
        for (int i = 0; i < half.length; i++) {
            half[i] = PROTOTYPE[i] * gain * 0.5;
        }
    }

    /** @return a copy of the unit-gain low-pass coefficients, {@value #TAPS} of them */
    static double[] prototype() {
        return PROTOTYPE.clone();
    }

    /**
     * @param frames input frames of the next chunk
     * @return how many output samples that chunk will give
     */
    int outputFrames(int frames) {
        return (pending + frames) / FACTOR;
    }

    /**
     * Transcodes one chunk and keeps its tail as history for the next.
     *
     * @param in little-endian interleaved stereo frames, 4 bytes each, from its position to its limit (whose
     *     length is a multiple of 4); read with absolute gets, its position is not changed
     * @param out little-endian; receives {@link #outputFrames}{@code (frames)} mono samples with relative puts
     *     and must have room for them
     * @return the number of output samples written
     */
    int process(ByteBuffer in, ByteBuffer out) {
        int frames = in.remaining() / 4;
        double[] x = samples(frames);
        for (int f = 0, b = in.position(); f < frames; f++, b += 4) {
            x[HISTORY + f] = in.getShort(b) + in.getShort(b + 2);
        }
        int total = pending + frames;
        int outputs = total / FACTOR;
        // the window of an output ending at chunk frame f starts at buffer index f (the chunk starts at HISTORY)
        int start = FACTOR - 1 - pending;
        for (int k = 0; k < outputs; k++, start += FACTOR) {
            out.putShort(saturate(dot(x, start)));
        }
        pending = total % FACTOR;
        System.arraycopy(x, frames, x, 0, HISTORY);
        return outputs;
    }

    /** @return the sample buffer's capacity in frames beyond the history; for tests */
    int capacityFrames() {
        return samples.length - HISTORY;
    }

    /** The filter output for the {@value #TAPS} samples from {@code start}: one product per coefficient pair. */
    private double dot(double[] x, int start) {
        double[] h = half;
        int last = start + TAPS - 1;
        int center = HISTORY / 2;
        double a0 = 0;
        double a1 = 0;
        for (int j = 0; j < center; j += 2) { // center is even
            a0 += h[j] * (x[start + j] + x[last - j]);
            a1 += h[j + 1] * (x[start + j + 1] + x[last - j - 1]);
        }
        return a0 + a1 + h[center] * x[start + center];
    }

    /** Rounds to the nearest 16-bit sample, saturating instead of wrapping around. */
    static short saturate(double y) {
        double r = Math.rint(y);
        if (r >= Short.MAX_VALUE) {
            return Short.MAX_VALUE;
        }
        if (r <= Short.MIN_VALUE) {
            return Short.MIN_VALUE;
        }
        return (short) r;
    }

    /** @return the sample buffer, with room for {@code frames} after the history (kept when it grows) */
    private double[] samples(int frames) {
        double[] x = samples;
        if (x.length - HISTORY < frames) {
            double[] grown = new double[HISTORY + frames];
            System.arraycopy(x, 0, grown, 0, HISTORY);
            samples = grown;
            x = grown;
        }
        return x;
    }
}
