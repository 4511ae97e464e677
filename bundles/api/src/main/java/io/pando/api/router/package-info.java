/**
 * The router as its administrators and tools see it: sessions created by an administrator, the units that serve
 * them, the selected policies and the counters of every part.
 *
 * <p>{@link io.pando.api.router.RouterService} is registered by the distribution unit of a node (the node where
 * sessions enter the router). Console commands ({@code pando:*}), REST and tests use it; none of it is on the
 * packet path.
 *
 * <h2>Errors</h2>
 * Bad input (a malformed name, an unknown program or policy, an impossible unit count) is refused with an
 * {@link java.lang.IllegalArgumentException} whose message says what was wrong and what is allowed; a request
 * that is valid but cannot be served now (no unit running, the ingress not bound) is refused with a
 * {@link io.pando.api.router.RouterException}. A refused request changes nothing.
 */
@Export
@Version("1.3.0")
package io.pando.api.router;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
