package io.pando.unit.impl;

import io.pando.api.program.ActiveProgram;

/** Where a unit gets program instances: one per session it serves (a prototype-scope service). */
interface ProgramFactory {

    /** @return a new or shared instance */
    ActiveProgram get();

    /** Gives an instance back. */
    void unget(ActiveProgram program);
}
