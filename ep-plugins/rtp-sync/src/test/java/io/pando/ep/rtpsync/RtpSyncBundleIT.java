package io.pando.ep.rtpsync;

import io.pando.ee.testing.ProgramJarContract;

/** The packaged {@code rtp-sync} bundle passes upload verification and declares its component. */
class RtpSyncBundleIT extends ProgramJarContract {

    RtpSyncBundleIT() {
        super("io.pando.ep.rtpsync", "io.pando.ep.rtpsync", "rtp-sync");
    }
}
