/**
 * Parallel active-router units: how a unit is named and the load it reports. The distribution unit's
 * {@link io.pando.api.policy.LoadBalancingPolicy} and the control unit's placement decisions read
 * {@link io.pando.api.unit.UnitLoad} reports.
 */
@Export
@Version("1.0.0")
package io.pando.api.unit;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
