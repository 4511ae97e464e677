/**
 * The session negotiation protocol users speak to the control unit (docs/control.md): its messages
 * ({@link io.pando.control.protocol.ControlMessage}), the codec that reads and writes them as the control block of
 * an ARTP CONTROL datagram ({@link io.pando.control.protocol.ControlCodec}), and a blocking client
 * ({@link io.pando.control.protocol.ControlClient}). Usable outside OSGi (the {@code pando} tool uses it).
 *
 * <p>The codec fails loudly: every rule of the protocol that a message breaks is reported as a
 * {@link io.pando.control.protocol.ControlProtocolException} naming the field and the rule.
 */
@Export
@Version("1.1.0")
package io.pando.control.protocol;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
