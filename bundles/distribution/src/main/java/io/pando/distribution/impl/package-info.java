/**
 * The distribution unit and the session manager: private implementation.
 * {@link io.pando.distribution.impl.DistributionCore} is the router's ingress and its {@code RouterService}
 * (plain Java), {@link io.pando.distribution.impl.DistributionUnit} the DS component around it.
 */
package io.pando.distribution.impl;
