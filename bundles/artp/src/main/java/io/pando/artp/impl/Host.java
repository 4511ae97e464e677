package io.pando.artp.impl;

import io.netty.buffer.ByteBuf;
import io.netty.channel.EventLoop;
import java.net.InetSocketAddress;

/**
 * What the protocol engine ({@link EndpointCore}, {@link Connection}) needs from its surroundings: time, buffers,
 * a way out for packets and a thread to run on. Netty provides one ({@link NettyEndpoint}); tests provide a
 * deterministic simulated network. The engine itself does no I/O.
 */
interface Host {

    /** @return monotonic time in nanoseconds */
    long nanoTime();

    /** @return wall-clock milliseconds (cookie timestamps) */
    long wallMillis();

    /** @return a buffer for one outgoing packet of at most {@code size} bytes */
    ByteBuf allocate(int size);

    /** Queues one packet; ownership of {@code packet} passes to the host. */
    void transmit(ByteBuf packet, InetSocketAddress to);

    /** @return false while the host cannot take more packets (socket buffer full) */
    boolean canTransmit();

    /** @return the event loop running the engine, or null in a simulation */
    EventLoop eventLoop();

    boolean inEventLoop();

    /** Runs a task on the engine's thread, after the current one. */
    void execute(Runnable task);

    /**
     * The engine has work that its timers must follow closely (a packet to send, a pacer waiting, a connection
     * opening): a host that slowed its tick while every connection was quiet ticks finely again. On the engine's
     * thread.
     */
    default void activity() {
    }
}
