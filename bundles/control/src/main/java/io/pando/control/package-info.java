/**
 * The control unit's admission and placement SPI. Vendors implement {@link io.pando.control.AdmissionPolicy} (may a
 * session be admitted?) and {@link io.pando.control.PlacementPolicy} (on which units?) and register them as services;
 * the control unit uses the best-ranked of each, swapped live, and its built-in defaults when none is registered.
 * Both are given a {@link io.pando.control.ResourceView}: every unit with its live load report, capacity and what the
 * control unit has reserved on it, and the user's usage and quota. See docs/control.md, section 6.
 */
@Export
@Version("1.0.0")
package io.pando.control;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
