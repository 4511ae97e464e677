package io.pando.aggregation.impl;

import io.netty.buffer.ByteBuf;
import io.pando.api.unit.UnitId;
import io.pando.link.AggregationChannel;
import io.pando.link.Credit;

/** One unit attached to one session. */
final class Attachment implements AggregationChannel {

    final EgressSession session;
    final UnitId unit;
    final Credit credit;

    Attachment(EgressSession session, UnitId unit, Credit credit) {
        this.session = session;
        this.unit = unit;
        this.credit = credit;
    }

    @Override
    public void deliver(long sequence, long flow, ByteBuf data) {
        session.core.execute(Result.of(this, sequence, flow, data));
    }
}
