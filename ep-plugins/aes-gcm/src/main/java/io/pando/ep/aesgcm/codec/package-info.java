/**
 * The wire format of Pando's AES-GCM active programs as plain Java, for receivers that decrypt outside the
 * router (the {@code pando artp recv --aes-gcm-key} client) and for tests.
 *
 * <p>Each encrypted datagram is {@code nonce (12 bytes) || ciphertext || tag (16 bytes)}: AES in GCM mode with a
 * 128-bit tag, the 8-byte big-endian session id as additional authenticated data, so a datagram of one session
 * does not authenticate in another. The nonce is a 4-byte random salt per program instance followed by an
 * 8-byte big-endian counter. See {@link io.pando.ep.aesgcm.codec.AesGcmCodec}.
 */
@Export
@Version("1.0.0")
package io.pando.ep.aesgcm.codec;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
