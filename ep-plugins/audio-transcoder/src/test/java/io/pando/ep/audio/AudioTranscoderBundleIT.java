package io.pando.ep.audio;

import io.pando.ee.testing.ProgramJarContract;

/** The packaged {@code audio-transcoder} bundle passes upload verification and declares its component. */
class AudioTranscoderBundleIT extends ProgramJarContract {

    AudioTranscoderBundleIT() {
        super("io.pando.ep.audio", "io.pando.ep.audio.transcoder", "audio-transcoder");
    }
}
