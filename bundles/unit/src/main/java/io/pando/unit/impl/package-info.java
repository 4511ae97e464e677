/**
 * The parallel AR unit: private implementation. {@link io.pando.unit.impl.UnitCore} is the unit (plain Java,
 * one event-loop thread), {@link io.pando.unit.impl.ArUnit} the DS component that feeds it programs, schedulers
 * and configuration.
 */
package io.pando.unit.impl;
