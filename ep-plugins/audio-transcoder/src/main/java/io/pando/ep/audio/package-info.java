/**
 * The {@code audio-transcoder} active program: 16-bit little-endian PCM, 48 kHz stereo in, 8 kHz mono out,
 * through a Kaiser-windowed-sinc anti-aliasing low-pass computed as a decimating FIR. Private to the bundle: the
 * program is a prototype-scope Declarative Services component, one instance per session and unit, driven from one
 * thread at a time, so an instance keeps its filter history and buffers in plain fields.
 *
 * <p>Only {@code java.lang.Math}, arrays, {@code ByteBuffer} and {@code java.util} are used, as upload
 * verification requires.
 */
package io.pando.ep.audio;
