package io.pando.ep.audio;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** The anti-aliasing filter as designed, by its exact frequency response (the DTFT of the coefficients). */
class KaiserLowPassTest {

    private static final double FS = PcmDecimator.INPUT_RATE_HZ;

    /** @return |H(f)| of the coefficients */
    static double response(double[] h, double hz) {
        double re = 0;
        double im = 0;
        double w = 2 * Math.PI * hz / FS;
        for (int i = 0; i < h.length; i++) {
            re += h[i] * Math.cos(w * i);
            im -= h[i] * Math.sin(w * i);
        }
        return Math.hypot(re, im);
    }

    @Test
    void besselI0MatchesKnownValues() {
        assertEquals(1.0, KaiserLowPass.besselI0(0), 0);
        assertEquals(1.2660658777520082, KaiserLowPass.besselI0(1), 1e-15);
        assertEquals(27.239871823604442, KaiserLowPass.besselI0(5), 1e-12);
        assertEquals(KaiserLowPass.besselI0(3), KaiserLowPass.besselI0(-3), 0);
    }

    @Test
    void theFilterIsSymmetricWithUnitGainAtDc() {
        double[] h = PcmDecimator.prototype();
        assertEquals(PcmDecimator.TAPS, h.length);
        double sum = 0;
        for (int i = 0; i < h.length; i++) {
            assertEquals(h[i], h[h.length - 1 - i], 0, "tap " + i);
            sum += h[i];
        }
        assertEquals(1.0, sum, 1e-12);
        assertEquals(0, (PcmDecimator.TAPS - 1) % (2 * PcmDecimator.FACTOR), "delay in whole output samples");
    }

    @Test
    void passbandIsFlatAndStopbandIsAtLeast75DbDownFrom4kHz() {
        double[] h = PcmDecimator.prototype();
        double ripple = 0;
        for (double f = 0; f <= 3000; f += 5) {
            ripple = Math.max(ripple, Math.abs(Pcm.db(response(h, f))));
        }
        double worst = 0;
        double worstAt = 0;
        for (double f = 4000; f <= FS / 2; f += 0.5) {
            double r = response(h, f);
            if (r > worst) {
                worst = r;
                worstAt = f;
            }
        }
        double at3400 = Pcm.db(response(h, 3400));
        double at3600 = Pcm.db(response(h, 3600));
        System.out.printf("filter design: ripple 0-3000 Hz %.4f dB, %.2f dB at 3400 Hz, %.2f dB at 3600 Hz, "
            + "stopband from 4000 Hz at least %.1f dB down (worst at %.1f Hz)%n", ripple, at3400, at3600,
            -Pcm.db(worst), worstAt);
        assertTrue(ripple < 0.005, "passband ripple " + ripple + " dB");
        assertEquals(-6.02, at3600, 0.05, "cutoff");
        assertTrue(at3400 > -1.0 && at3400 < -0.5, "3400 Hz: " + at3400 + " dB");
        assertTrue(-Pcm.db(worst) >= 75, "stopband only " + -Pcm.db(worst) + " dB down at " + worstAt + " Hz");
    }

    @Test
    void refusesFiltersItCannotDesign() {
        assertThrows(IllegalArgumentException.class, () -> KaiserLowPass.design(288, 3600, FS, 7.5));
        assertThrows(IllegalArgumentException.class, () -> KaiserLowPass.design(1, 3600, FS, 7.5));
        assertThrows(IllegalArgumentException.class, () -> KaiserLowPass.design(289, 24_000, FS, 7.5));
        assertThrows(IllegalArgumentException.class, () -> KaiserLowPass.design(289, 3600, FS, -1));
        assertThrows(IllegalArgumentException.class, () -> KaiserLowPass.design(289, Double.NaN, FS, 7.5));
    }
}
