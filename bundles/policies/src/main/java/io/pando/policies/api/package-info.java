/**
 * What the built-in {@code reorder-window} aggregation strategy offers beyond the
 * {@link io.pando.api.policy.AggregationStrategy} SPI: per-session window settings and the reordering it
 * measured. The aggregation unit checks whether the strategy instance it holds is a
 * {@link io.pando.policies.api.ReorderWindowControl} and, if so, applies the session's window and reads the
 * measurements for {@code pando:stats}.
 */
@Export
@Version("1.0.0")
package io.pando.policies.api;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
