package io.pando.unit.impl;

import io.pando.api.policy.PacketScheduler;
import io.pando.api.program.ActiveProgram;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

/** Program and scheduler factories that count what the unit takes and gives back, like DS would. */
final class Factories {

    private Factories() {
    }

    static final class Programs implements ProgramFactory {
        final ActiveProgram program;
        final AtomicInteger gets = new AtomicInteger();
        final AtomicInteger ungets = new AtomicInteger();

        Programs(ActiveProgram program) {
            this.program = program;
        }

        @Override
        public ActiveProgram get() {
            gets.incrementAndGet();
            return program;
        }

        @Override
        public void unget(ActiveProgram p) {
            if (p != program) {
                throw new AssertionError("unget of an instance this factory did not give");
            }
            ungets.incrementAndGet();
        }
    }

    static final class Schedulers implements SchedulerFactory {
        final Supplier<PacketScheduler> supplier;
        final AtomicInteger gets = new AtomicInteger();
        final AtomicInteger ungets = new AtomicInteger();

        Schedulers(Supplier<PacketScheduler> supplier) {
            this.supplier = supplier;
        }

        @Override
        public PacketScheduler get() {
            gets.incrementAndGet();
            return supplier.get();
        }

        @Override
        public void unget(PacketScheduler s) {
            ungets.incrementAndGet();
        }
    }
}
