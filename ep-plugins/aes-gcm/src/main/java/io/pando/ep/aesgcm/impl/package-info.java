/**
 * The {@code aes-gcm-encrypt} and {@code aes-gcm-decrypt} active programs as prototype-scope Declarative Services
 * components; private to the bundle. The router gets one instance per session and unit and drives it from one
 * thread at a time, so an instance keeps its {@link javax.crypto.Cipher}, key and buffers in plain fields.
 */
package io.pando.ep.aesgcm.impl;
