package io.pando.unit.impl;

/**
 * One timer a session's program set (docs/ee.md, "Timers"): waiting in the unit's {@link TimerHeap} until its
 * deadline, then <em>due</em> in its session's due list until the program is called. Reused: a session keeps the
 * entries of timers that fired or were cancelled for its next ones. Loop-confined.
 */
final class Timer {

    final UnitSession session;
    long id;
    /** {@link System#nanoTime} at which it expires. */
    long deadline;
    /** Order of setting, unit-wide: timers with the same deadline expire in the order they were set. */
    long order;
    /** Position in the unit's heap, -1 when not in it (due, or free). */
    int heapIndex = -1;
    boolean due;
    Timer prevDue;
    Timer nextDue;
    Timer nextFree;

    Timer(UnitSession session) {
        this.session = session;
    }
}
