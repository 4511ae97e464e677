/**
 * ARTP/1, the Active Router Transmission Protocol: a connection-oriented, reliable, duplex transport of
 * datagrams over UDP with <em>unordered</em> delivery (a datagram is delivered as soon as all its packets are
 * in). The wire format is specified in {@code docs/artp.md}.
 *
 * <p>Start with {@link io.pando.artp.ArtpEndpoint#builder()}: an endpoint owns one UDP socket, accepts
 * connections (for sessions its {@link io.pando.artp.SessionAcceptor} admits) and opens connections to other
 * endpoints. Received datagrams are handed to an {@link io.pando.artp.ArtpHandler}. The package is usable as a
 * plain jar outside OSGi.
 */
@Export
@Version("1.3.0")
package io.pando.artp;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
