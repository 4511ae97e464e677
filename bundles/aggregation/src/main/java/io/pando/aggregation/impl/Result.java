package io.pando.aggregation.impl;

import io.netty.buffer.ByteBuf;
import io.netty.util.Recycler;

/** A processed datagram on its way from a unit to the egress connection. Pooled. */
final class Result implements Runnable {

    private static final Recycler<Result> POOL = new Recycler<>() {
        @Override
        protected Result newObject(Handle<Result> handle) {
            return new Result(handle);
        }
    };

    private final Recycler.Handle<Result> handle;
    Attachment from;
    long sequence;
    /** The flow the unit named; once it has arrived, {@link #position} is its position in the session. */
    long flow;
    int position;
    ByteBuf data;
    int length;

    private Result(Recycler.Handle<Result> handle) {
        this.handle = handle;
    }

    static Result of(Attachment from, long sequence, long flow, ByteBuf data) {
        Result r = POOL.get();
        r.from = from;
        r.sequence = sequence;
        r.flow = flow;
        r.data = data;
        r.length = data.readableBytes();
        return r;
    }

    @Override
    public void run() {
        from.session.core.arrived(this);
    }

    void recycle() {
        from = null;
        data = null;
        handle.recycle(this);
    }
}
