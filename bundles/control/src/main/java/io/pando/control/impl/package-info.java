/**
 * The control unit's implementation (private): {@link io.pando.control.impl.ControlServer} (DS component, PID
 * {@code io.pando.control}) runs the control endpoint; {@link io.pando.control.impl.ControlCore} answers requests:
 * JAAS authentication, tokens, admission and placement, reservations and ownership.
 */
package io.pando.control.impl;
