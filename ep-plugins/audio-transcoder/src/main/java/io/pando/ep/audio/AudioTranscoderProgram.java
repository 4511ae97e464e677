package io.pando.ep.audio;

import io.pando.api.program.ActiveProgram;
import io.pando.api.program.Datagram;
import io.pando.api.program.ProgramContext;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Map;
import java.util.TreeSet;
import java.util.regex.Pattern;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.ServiceScope;

/**
 * {@code audio-transcoder}: transcodes a stream of 16-bit little-endian PCM from 48 kHz stereo to 8 kHz mono.
 *
 * <p><b>Framing.</b> Every data datagram is one chunk of the stream: 1 to {@value #MAX_FRAMES} frames of
 * interleaved samples {@code L0 R0 L1 R1 ...}, each a signed 16-bit little-endian integer, so 4 bytes per frame and
 * no header. The program emits, on the datagram's flow, the mono samples at 8 kHz (2 bytes each, signed
 * little-endian) that the chunk completes: one per six input frames, counted across chunks, so a chunk of 960
 * frames (20 ms) gives 160 samples and a chunk that completes none emits nothing. A datagram whose length is not
 * a positive multiple of 4 or is over {@value #MAX_FRAMES} frames is refused with an
 * {@link IllegalArgumentException} (the router counts it); it changes nothing of the stream's state. Control
 * datagrams pass through unchanged.
 *
 * <p><b>Signal path:</b> see {@link PcmDecimator}: downmix {@code (L + R) / 2} times the gain, a 289-tap
 * Kaiser-windowed-sinc low-pass (6 dB down at 3.6 kHz, at least 75 dB down from 4 kHz), decimation by 6 that
 * computes only the kept samples, then rounding with saturation to 16 bits.
 *
 * <p><b>Parameter</b> (optional): {@value #GAIN_PARAMETER}, a decimal number of decibels from -24 to 24,
 * default 0. Any other parameter is refused.
 *
 * <p><b>State, threading and memory.</b> The filter history and the decimation phase are kept in the instance:
 * the router makes one instance per session and unit and calls it for one datagram at a time, in order. A session
 * spread over several units therefore gets several independent filters, each seeing only its unit's datagrams;
 * use this program on one unit ({@code --units 1}) or with a load-balancing policy that keeps a flow on one unit.
 * The sample and output buffers grow to the largest chunk seen and are reused; per datagram nothing is allocated
 * beyond the router's view of the input.
 */
@Component(name = "io.pando.ep.audio.transcoder", service = ActiveProgram.class, scope = ServiceScope.PROTOTYPE,
    configurationPolicy = ConfigurationPolicy.IGNORE, property = "name=" + AudioTranscoderProgram.NAME)
public final class AudioTranscoderProgram implements ActiveProgram {

    /** The program's name: the {@code name} service property sessions refer to. */
    public static final String NAME = "audio-transcoder";
    /** The optional parameter: gain in decibels, applied to the mono signal. */
    public static final String GAIN_PARAMETER = "gain-db";
    /** The largest gain in decibels, either way. */
    public static final double MAX_GAIN_DB = 24;
    /** Bytes per input frame: two 16-bit samples. */
    public static final int FRAME_BYTES = 4;
    /** The most frames one chunk may carry: one second. */
    public static final int MAX_FRAMES = PcmDecimator.INPUT_RATE_HZ;

    private static final Pattern DECIMAL = Pattern.compile("[+-]?(\\d+(\\.\\d*)?|\\.\\d+)");
    private static final int INITIAL_OUTPUT_BYTES = 2 * PcmDecimator.OUTPUT_RATE_HZ / 50; // a 20 ms chunk

    /** Made on the first data datagram, from the session's parameters (the same for every datagram). */
    private PcmDecimator decimator;
    private ByteBuffer out = ByteBuffer.allocate(INITIAL_OUTPUT_BYTES).order(ByteOrder.LITTLE_ENDIAN);

    /** Refuses unknown parameters and a malformed or out-of-range {@value #GAIN_PARAMETER}. */
    @Override
    public void validate(Map<String, String> parameters) {
        gainDb(parameters);
    }

    @Override
    public void process(Datagram in, ProgramContext ctx) {
        if (in.isControl()) {
            ctx.emit(in.flow(), in.data());
            return;
        }
        int length = in.length();
        if (length < FRAME_BYTES) {
            throw new IllegalArgumentException(NAME + ": a chunk has at least one frame of " + FRAME_BYTES
                + " bytes (16-bit left and right samples), got " + length + " bytes");
        }
        if (length % FRAME_BYTES != 0) {
            throw new IllegalArgumentException(NAME + ": a chunk is whole frames of " + FRAME_BYTES
                + " bytes (interleaved 16-bit little-endian stereo), got " + length + " bytes, "
                + length % FRAME_BYTES + " more than " + length / FRAME_BYTES + " frames");
        }
        int frames = length / FRAME_BYTES;
        if (frames > MAX_FRAMES) {
            throw new IllegalArgumentException(NAME + ": a chunk has at most " + MAX_FRAMES + " frames ("
                + MAX_FRAMES * FRAME_BYTES + " bytes, one second), got " + frames + " frames");
        }
        PcmDecimator d = decimator;
        if (d == null) {
            d = new PcmDecimator(Math.pow(10, gainDb(ctx.parameters()) / 20));
            decimator = d;
        }
        ByteBuffer o = output(2 * d.outputFrames(frames));
        if (d.process(in.data().order(ByteOrder.LITTLE_ENDIAN), o) > 0) {
            o.flip();
            ctx.emit(in.flow(), o);
        }
    }

    /**
     * The gain a session's parameters ask for, after checking them all.
     *
     * @param parameters the session's parameters
     * @return the gain in decibels, 0 if not given
     * @throws IllegalArgumentException naming the parameter that is unknown, malformed or out of range
     */
    static double gainDb(Map<String, String> parameters) {
        if (parameters.size() > (parameters.containsKey(GAIN_PARAMETER) ? 1 : 0)) {
            TreeSet<String> unknown = new TreeSet<>(parameters.keySet());
            unknown.remove(GAIN_PARAMETER);
            throw new IllegalArgumentException(NAME + ": unknown parameter" + (unknown.size() > 1 ? "s " : " ")
                + "'" + String.join("', '", unknown) + "'; the only parameter is '" + GAIN_PARAMETER
                + "' (decibels, " + -MAX_GAIN_DB + " to " + MAX_GAIN_DB + ", default 0)");
        }
        String text = parameters.get(GAIN_PARAMETER);
        if (text == null) {
            return 0;
        }
        String trimmed = text.strip();
        double db = DECIMAL.matcher(trimmed).matches() ? Double.parseDouble(trimmed) : Double.NaN;
        if (!(Math.abs(db) <= MAX_GAIN_DB)) {
            throw new IllegalArgumentException(NAME + ": parameter '" + GAIN_PARAMETER + "' is a gain in decibels "
                + "from " + -MAX_GAIN_DB + " to " + MAX_GAIN_DB + " (for example -6 or 3.5), got '" + text + "'");
        }
        return db;
    }

    /** @return the output buffer, cleared, with room for {@code bytes}; the same buffer until a larger one is needed */
    private ByteBuffer output(int bytes) {
        ByteBuffer b = out;
        if (b.capacity() < bytes) {
            b = ByteBuffer.allocate(Math.max(bytes, 2 * b.capacity())).order(ByteOrder.LITTLE_ENDIAN);
            out = b;
        }
        b.clear();
        return b;
    }

    /** @return the output buffer's capacity in bytes; for tests */
    int outputCapacity() {
        return out.capacity();
    }

    /** @return the sample buffer's capacity in frames, 0 before the first chunk; for tests */
    int sampleCapacityFrames() {
        return decimator == null ? 0 : decimator.capacityFrames();
    }
}
