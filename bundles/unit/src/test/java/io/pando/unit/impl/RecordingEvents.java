package io.pando.unit.impl;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.pando.api.unit.UnitId;
import io.pando.link.SessionEvents;
import java.util.ArrayList;
import java.util.List;

/** Records what a unit tells the distribution unit: congestion crossings and control information. */
final class RecordingEvents implements SessionEvents {

    private final List<Boolean> congestion = new ArrayList<>();
    private final List<byte[]> control = new ArrayList<>();
    private final List<Long> controlFlows = new ArrayList<>();

    @Override
    public synchronized void congestion(UnitId unit, boolean congested) {
        congestion.add(congested);
    }

    @Override
    public void control(UnitId from, ByteBuf data) {
        control(from, 0, data);
    }

    @Override
    public void control(UnitId from, long flow, ByteBuf data) {
        byte[] copy = ByteBufUtil.getBytes(data);
        data.release();
        synchronized (this) {
            control.add(copy);
            controlFlows.add(flow);
        }
    }

    /** @return the flow of each control datagram of {@link #control()} */
    synchronized List<Long> controlFlows() {
        return new ArrayList<>(controlFlows);
    }

    private final List<String> faults = new ArrayList<>();

    @Override
    public synchronized void programFault(UnitId unit, String reason) {
        faults.add(reason);
    }

    synchronized List<String> faults() {
        return new ArrayList<>(faults);
    }

    synchronized List<Boolean> congestion() {
        return new ArrayList<>(congestion);
    }

    synchronized List<byte[]> control() {
        return new ArrayList<>(control);
    }
}
