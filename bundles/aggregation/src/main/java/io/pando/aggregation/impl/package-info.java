/**
 * The aggregation unit: private implementation. {@link io.pando.aggregation.impl.AggregationCore} is the unit
 * (plain Java, on its egress ARTP endpoint's event loop), {@link io.pando.aggregation.impl.AggregationUnit} the
 * DS component that feeds it strategies and configuration.
 */
package io.pando.aggregation.impl;
