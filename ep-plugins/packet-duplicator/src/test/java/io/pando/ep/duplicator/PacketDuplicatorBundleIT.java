package io.pando.ep.duplicator;

import io.pando.ee.testing.ProgramJarContract;

/** The packaged {@code packet-duplicator} bundle passes upload verification and declares its component. */
class PacketDuplicatorBundleIT extends ProgramJarContract {

    PacketDuplicatorBundleIT() {
        super("io.pando.ep.duplicator", "io.pando.ep.duplicator", "packet-duplicator");
    }
}
