package io.pando.unit.impl;

import io.netty.buffer.ByteBuf;
import io.netty.util.Recycler;
import io.pando.api.session.FlowId;

/**
 * One datagram moving through a unit: an input waiting to be processed, a timer's expiry on its way to a sandbox
 * (docs/ee.md: its data is the u64 timer id), or a result waiting for the scheduler. Pooled: a unit allocates no
 * record per datagram.
 */
final class Work implements Runnable {

    private static final Recycler<Work> POOL = new Recycler<>() {
        @Override
        protected Work newObject(Handle<Work> handle) {
            return new Work(handle);
        }
    };

    private final Recycler.Handle<Work> handle;
    UnitSession session;
    long sequence;
    ByteBuf data;
    /** The flow: one of the session's cached ids (never allocated per datagram). */
    FlowId flow;
    boolean control;
    /** A timer's expiry for a sandbox: {@code data} holds the u64 timer id. */
    boolean timer;
    /** The unit's own number for an input sent to a sandbox (docs/ee.md: seq). */
    long tag;

    private Work(Recycler.Handle<Work> handle) {
        this.handle = handle;
    }

    static Work of(UnitSession session, long sequence, FlowId flow, ByteBuf data, boolean control) {
        Work w = POOL.get();
        w.session = session;
        w.sequence = sequence;
        w.flow = flow;
        w.data = data;
        w.control = control;
        w.timer = false;
        return w;
    }

    /** Runs on the unit's thread: the input arrives. */
    @Override
    public void run() {
        session.core.onInput(this);
    }

    void recycle() {
        session = null;
        data = null;
        flow = null;
        handle.recycle(this);
    }
}
