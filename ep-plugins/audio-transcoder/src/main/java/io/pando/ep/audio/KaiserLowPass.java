package io.pando.ep.audio;

/**
 * Designs linear-phase FIR low-pass filters by the window method: the ideal low-pass impulse response (a sinc)
 * truncated to {@code taps} samples and shaped by a Kaiser window. The Kaiser window's {@code beta} trades the
 * stopband attenuation against the transition width: about {@code A = beta / 0.1102 + 8.7} dB of attenuation
 * for {@code beta > 4.55}, with a transition of about {@code (A - 7.95) / (2.285 * 2 pi (taps - 1))} of the
 * sample rate (Kaiser's estimates, see Oppenheim and Schafer, "Discrete-Time Signal Processing", 7.6).
 *
 * <p>Pure functions on doubles; nothing is kept.
 */
final class KaiserLowPass {

    private KaiserLowPass() {
    }

    /**
     * Designs a low-pass filter with unit gain at DC.
     *
     * @param taps the number of coefficients, odd (so the filter delays by a whole {@code (taps - 1) / 2} samples)
     * @param cutoffHz where the ideal low-pass cuts off; the designed filter is 6 dB down there
     * @param sampleRateHz the sample rate the filter runs at
     * @param beta the Kaiser window's shape parameter, at least 0
     * @return the {@code taps} coefficients, symmetric ({@code h[i] == h[taps - 1 - i]}), summing to 1
     * @throws IllegalArgumentException if an argument is out of range
     */
    static double[] design(int taps, double cutoffHz, double sampleRateHz, double beta) {
        if (taps < 3 || taps % 2 == 0) {
            throw new IllegalArgumentException("a linear-phase low-pass has an odd number of taps, at least 3, got "
                + taps);
        }
        if (!(cutoffHz > 0 && cutoffHz < sampleRateHz / 2)) {
            throw new IllegalArgumentException("the cutoff must lie between 0 and half the sample rate ("
                + sampleRateHz / 2 + " Hz), got " + cutoffHz);
        }
        if (!(beta >= 0)) {
            throw new IllegalArgumentException("the Kaiser beta must be at least 0, got " + beta);
        }
        double[] h = new double[taps];
        int center = (taps - 1) / 2;
        double band = 2 * cutoffHz / sampleRateHz; // cutoff as a fraction of the Nyquist frequency
        double windowNorm = besselI0(beta);
        double sum = 0;
        for (int i = 0; i < taps; i++) {
            int t = i - center;
            double sinc = t == 0 ? band : Math.sin(Math.PI * band * t) / (Math.PI * t);
            double r = (double) t / center; // -1 .. 1 across the window
            double window = besselI0(beta * Math.sqrt(Math.max(0, 1 - r * r))) / windowNorm;
            h[i] = sinc * window;
            sum += h[i];
        }
        for (int i = 0; i < taps; i++) {
            h[i] /= sum;
        }
        // exact symmetry, whatever the rounding of sin() on either side
        for (int i = 0; i < center; i++) {
            h[taps - 1 - i] = h[i];
        }
        return h;
    }

    /**
     * The modified Bessel function of the first kind, order 0, by its power series
     * {@code sum over k of ((x/2)^k / k!)^2}, summed until a term no longer changes the sum.
     *
     * @param x any real number (the series converges for all; the window needs 0 to about 20)
     * @return {@code I0(x)}, at least 1
     */
    static double besselI0(double x) {
        double sum = 1;
        double term = 1;
        double half = x / 2;
        for (int k = 1; k < 500; k++) {
            term *= half / k;
            double squared = term * term;
            sum += squared;
            if (squared < sum * 1e-17) {
                break;
            }
        }
        return sum;
    }
}
