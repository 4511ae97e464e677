/**
 * The built-in policies of Pando as Declarative Services components; private to the bundle. Every component
 * registers its SPI service with a {@code name} property, the name {@code pando:policy-set ROLE NAME} selects.
 */
package io.pando.policies.impl;
