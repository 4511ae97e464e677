package io.pando.unit.impl;

import io.pando.api.policy.PacketScheduler;

/** Where a unit gets its packet scheduler instance (a prototype-scope service: one per unit). */
interface SchedulerFactory {

    /** @return a new instance */
    PacketScheduler get();

    /** Gives an instance back. */
    void unget(PacketScheduler scheduler);
}
