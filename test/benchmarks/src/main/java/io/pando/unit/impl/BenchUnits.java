package io.pando.unit.impl;

import io.netty.buffer.PooledByteBufAllocator;
import io.pando.api.program.ActiveProgram;
import io.pando.api.unit.UnitId;
import io.pando.link.UnitPort;

/** Starts and stops real in-process units ({@link UnitCore}, package-private) for the benchmarks. */
public final class BenchUnits {

    private BenchUnits() {
    }

    /**
     * @param id the unit's id
     * @param capacity its buffer pool in bytes (every session reserves its quota in it)
     * @return a unit running the built-in {@code passthrough} program in-process, one instance for all sessions
     */
    public static UnitPort passthrough(String id, long capacity) {
        return passthroughCore(id, capacity);
    }

    /** {@link #passthrough}, as the unit's own class (for the benchmarks in this package). */
    static UnitCore passthroughCore(String id, long capacity) {
        UnitCore unit = new UnitCore(UnitId.of(id), capacity, 1 << 20, "drr", PooledByteBufAllocator.DEFAULT);
        ActiveProgram passthrough = new PassthroughProgram();
        unit.addProgram("passthrough", new ProgramFactory() {
            @Override
            public ActiveProgram get() {
                return passthrough;
            }

            @Override
            public void unget(ActiveProgram program) {
            }
        });
        return unit;
    }

    /** @param unit a unit {@link #passthrough} returned */
    public static void stop(UnitPort unit) {
        ((UnitCore) unit).stop();
    }
}
