/**
 * The ARTP/1 wire format: packet types, header layout and cheap accessors that read fields of a packet without
 * decoding it, for parts of a router that classify or forward packets (docs/artp.md, "Packet format").
 */
@Export
@Version("1.0.0")
package io.pando.artp.wire;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
