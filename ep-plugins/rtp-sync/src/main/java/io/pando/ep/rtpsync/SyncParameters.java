package io.pando.ep.rtpsync;

import java.util.Map;
import java.util.TreeSet;

/** The session parameters of {@code rtp-sync}, parsed and checked; immutable. */
final class SyncParameters {

    static final String AUDIO_FLOW = "audio-flow";
    static final String VIDEO_FLOW = "video-flow";
    static final String AUDIO_CLOCK_RATE = "audio-clock-rate";
    static final String VIDEO_CLOCK_RATE = "video-clock-rate";
    static final String PLAYOUT_DELAY_MS = "playout-delay-ms";
    static final String BUFFER_PACKETS = "buffer-packets";
    static final String BUFFER_BYTES = "buffer-bytes";

    static final long MIN_CLOCK_RATE = 1_000;
    static final long MAX_CLOCK_RATE = 1_000_000;
    static final long MAX_PLAYOUT_DELAY_MS = 10_000;
    static final long MAX_BUFFER_PACKETS = 16_384;
    static final long MIN_BUFFER_BYTES = RtpHeader.MAX_PACKET_BYTES;
    static final long MAX_BUFFER_BYTES = 64L << 20;

    /** Every parameter with its default and what it takes, in the order error messages list them. */
    private static final String[][] KNOWN = {
        {AUDIO_FLOW, "0", "a flow id"},
        {VIDEO_FLOW, "1", "a flow id"},
        {AUDIO_CLOCK_RATE, "48000", "Hz"},
        {VIDEO_CLOCK_RATE, "90000", "Hz"},
        {PLAYOUT_DELAY_MS, "100", "ms"},
        {BUFFER_PACKETS, "1024", "packets per flow"},
        {BUFFER_BYTES, "2097152", "bytes per flow"},
    };

    final long audioFlow;
    final long videoFlow;
    final int audioClockRate;
    final int videoClockRate;
    final long playoutDelayMicros;
    final int bufferPackets;
    final long bufferBytes;

    private SyncParameters(Map<String, String> p) {
        audioFlow = number(p, AUDIO_FLOW, 0, 0xFFFF_FFFFL);
        videoFlow = number(p, VIDEO_FLOW, 0, 0xFFFF_FFFFL);
        if (audioFlow == videoFlow) {
            throw new IllegalArgumentException(RtpSyncProgram.NAME + ": parameters '" + AUDIO_FLOW + "' and '"
                + VIDEO_FLOW + "' name the same flow " + audioFlow + "; audio and video need a flow each");
        }
        audioClockRate = (int) number(p, AUDIO_CLOCK_RATE, MIN_CLOCK_RATE, MAX_CLOCK_RATE);
        videoClockRate = (int) number(p, VIDEO_CLOCK_RATE, MIN_CLOCK_RATE, MAX_CLOCK_RATE);
        playoutDelayMicros = 1_000 * number(p, PLAYOUT_DELAY_MS, 0, MAX_PLAYOUT_DELAY_MS);
        bufferPackets = (int) number(p, BUFFER_PACKETS, 1, MAX_BUFFER_PACKETS);
        bufferBytes = number(p, BUFFER_BYTES, MIN_BUFFER_BYTES, MAX_BUFFER_BYTES);
    }

    /**
     * @param parameters a session's parameters
     * @return them, checked, with defaults for those not given
     * @throws IllegalArgumentException naming the first parameter that is unknown, malformed or out of range
     */
    static SyncParameters parse(Map<String, String> parameters) {
        TreeSet<String> unknown = new TreeSet<>(parameters.keySet());
        StringBuilder known = new StringBuilder();
        for (String[] k : KNOWN) {
            unknown.remove(k[0]);
            known.append(known.length() == 0 ? "" : ", ").append(k[0]).append(" (").append(k[2]).append(", default ")
                .append(k[1]).append(')');
        }
        if (!unknown.isEmpty()) {
            throw new IllegalArgumentException(RtpSyncProgram.NAME + ": unknown parameter"
                + (unknown.size() > 1 ? "s " : " ") + "'" + String.join("', '", unknown) + "'; the parameters are "
                + known);
        }
        return new SyncParameters(parameters);
    }

    private static long number(Map<String, String> parameters, String name, long min, long max) {
        String text = parameters.get(name);
        String defaultValue = null;
        for (String[] k : KNOWN) {
            if (k[0].equals(name)) {
                defaultValue = k[1];
            }
        }
        if (text == null) {
            return Long.parseLong(defaultValue);
        }
        String t = text.strip();
        long value = -1;
        if (!t.isEmpty() && t.length() <= 12) {
            value = 0;
            for (int i = 0; i < t.length() && value >= 0; i++) {
                char c = t.charAt(i);
                value = c >= '0' && c <= '9' ? value * 10 + (c - '0') : -1;
            }
        }
        if (value < min || value > max) {
            throw new IllegalArgumentException(RtpSyncProgram.NAME + ": parameter '" + name + "' is a whole number from "
                + min + " to " + max + " (default " + defaultValue + "), got '" + text + "'");
        }
        return value;
    }
}
