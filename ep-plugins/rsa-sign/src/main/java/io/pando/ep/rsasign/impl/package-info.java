/**
 * The {@code rsa-sign} active program as a prototype-scope Declarative Services component; private to the bundle.
 * The router gets one instance per session and unit and drives it from one thread at a time, so an instance keeps
 * its {@link java.security.Signature}, key and buffers in plain fields.
 */
package io.pando.ep.rsasign.impl;
