package io.pando.unit.impl;

import io.netty.buffer.ByteBuf;
import io.netty.util.Recycler;

/**
 * One datagram moving through a unit: an input waiting to be processed, or a result waiting for the
 * scheduler. Pooled: a unit allocates no record per datagram.
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
    boolean control;
    /** The unit's own number for an input sent to a sandbox (docs/ee.md: seq). */
    long tag;

    private Work(Recycler.Handle<Work> handle) {
        this.handle = handle;
    }

    static Work of(UnitSession session, long sequence, ByteBuf data, boolean control) {
        Work w = POOL.get();
        w.session = session;
        w.sequence = sequence;
        w.data = data;
        w.control = control;
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
        handle.recycle(this);
    }
}
