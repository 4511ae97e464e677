/**
 * The wire format of Pando's {@code rsa-sign} active program as plain Java, for receivers that verify outside the
 * router (the {@code pando artp recv --rsa-public-key} client) and for tests.
 *
 * <p>Each signed datagram is {@code payload || signature}: SHA256withRSA over the 8-byte big-endian session id and
 * the payload, so a datagram of one session does not verify in another. See
 * {@link io.pando.ep.rsasign.codec.RsaSignCodec}.
 */
@Export
@Version("1.0.0")
package io.pando.ep.rsasign.codec;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
