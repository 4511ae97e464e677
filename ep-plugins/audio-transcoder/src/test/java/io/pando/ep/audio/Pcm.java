package io.pando.ep.audio;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/** Test signals as s16le PCM, and measurements on decoded samples. */
final class Pcm {

    static final double FULL_SCALE = 32768;

    private Pcm() {
    }

    /** Interleaved stereo frames, each channel a function of the frame index, rounded and clamped to 16 bits. */
    interface Channel {
        double at(int frame);
    }

    static byte[] stereo(int frames, Channel left, Channel right) {
        ByteBuffer b = ByteBuffer.allocate(frames * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (int f = 0; f < frames; f++) {
            b.putShort(clamp(left.at(f)));
            b.putShort(clamp(right.at(f)));
        }
        return b.array();
    }

    /** A sine of {@code amplitude} (in LSB) at {@code hz}, sampled at 48 kHz. */
    static Channel sine(double hz, double amplitude) {
        return f -> amplitude * Math.sin(2 * Math.PI * hz * f / PcmDecimator.INPUT_RATE_HZ);
    }

    /** The same tone on both channels. */
    static byte[] tone(int frames, double hz, double amplitude) {
        Channel c = sine(hz, amplitude);
        return stereo(frames, c, c);
    }

    static short clamp(double v) {
        return (short) Math.max(Short.MIN_VALUE, Math.min(Short.MAX_VALUE, Math.rint(v)));
    }

    /** @return s16le mono samples as numbers */
    static double[] mono(byte[] s16le) {
        ByteBuffer b = ByteBuffer.wrap(s16le).order(ByteOrder.LITTLE_ENDIAN);
        double[] x = new double[s16le.length / 2];
        for (int i = 0; i < x.length; i++) {
            x[i] = b.getShort();
        }
        return x;
    }

    /** The amplitude of the component at {@code hz} in x[from, to), by the Goertzel recursion. */
    static double goertzelAmplitude(double[] x, int from, int to, double hz, double sampleRate) {
        double w = 2 * Math.PI * hz / sampleRate;
        double coeff = 2 * Math.cos(w);
        double s1 = 0;
        double s2 = 0;
        for (int i = from; i < to; i++) {
            double s = x[i] + coeff * s1 - s2;
            s2 = s1;
            s1 = s;
        }
        double power = s1 * s1 + s2 * s2 - coeff * s1 * s2;
        return 2 * Math.sqrt(Math.max(0, power)) / (to - from);
    }

    /** The frequency of x[from, to) from its rising and falling zero crossings, interpolated linearly. */
    static double zeroCrossingHz(double[] x, int from, int to, double sampleRate) {
        double first = Double.NaN;
        double last = Double.NaN;
        int crossings = 0;
        for (int i = from + 1; i < to; i++) {
            if ((x[i - 1] < 0) != (x[i] < 0)) {
                double t = i - 1 + x[i - 1] / (x[i - 1] - x[i]);
                if (crossings == 0) {
                    first = t;
                }
                last = t;
                crossings++;
            }
        }
        return (crossings - 1) / 2.0 / ((last - first) / sampleRate);
    }

    static double rms(double[] x, int from, int to) {
        double sum = 0;
        for (int i = from; i < to; i++) {
            sum += x[i] * x[i];
        }
        return Math.sqrt(sum / (to - from));
    }

    static double db(double ratio) {
        return 20 * Math.log10(ratio);
    }
}
