/**
 * Active sessions and their flows: the identifiers every part of the router uses to name a session and a
 * flow, the description of an active session, and {@link io.pando.api.session.SessionService}, the query
 * service through which any bundle looks sessions up.
 *
 * <p>An active session is one or more active programs or VMs, one or more flows processed together (for
 * example the audio and the video stream of one conference), a resource reservation and an owner.
 */
@Export
@Version("1.0.0")
package io.pando.api.session;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
