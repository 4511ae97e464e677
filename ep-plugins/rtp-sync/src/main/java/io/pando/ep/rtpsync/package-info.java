/**
 * The {@code rtp-sync} active program: an RTP audio/video synchronizer for a two-flow session. It parses RTP
 * (RFC 3550) and RTCP sender reports multiplexed on the same flows (RFC 5761), maps both streams onto one
 * presentation timeline, holds each flow's packets in a bounded jitter buffer and releases them with timers, in
 * presentation order across both flows, after a playout delay. Private to the bundle: the program is a
 * prototype-scope Declarative Services component, one instance per session and unit, driven from one thread at a
 * time, so an instance keeps its streams, buffers and counters in plain fields.
 *
 * <p>Only {@code java.lang} (with {@code System.nanoTime} as the clock), {@code ByteBuffer},
 * {@code java.nio.charset} and {@code java.util} are used, as upload verification requires.
 */
package io.pando.ep.rtpsync;
