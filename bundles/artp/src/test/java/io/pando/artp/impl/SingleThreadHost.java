package io.pando.artp.impl;

import io.netty.channel.EventLoop;

/**
 * Base of the in-memory hosts of the tests (simulated network, fuzz rig): one thread, no event loop, no socket
 * back-pressure, nothing to flush. Subclasses provide time, buffers, task scheduling and the way out for packets.
 */
abstract class SingleThreadHost implements Host, EndpointCore.Flushable {

    @Override
    public boolean canTransmit() {
        return true;
    }

    @Override
    public EventLoop eventLoop() {
        return null;
    }

    @Override
    public boolean inEventLoop() {
        return true;
    }

    @Override
    public void flush() {
    }
}
