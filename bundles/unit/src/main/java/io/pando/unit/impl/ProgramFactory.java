package io.pando.unit.impl;

import io.pando.api.program.ActiveProgram;
import java.io.IOException;
import java.nio.file.Path;

/** Where a unit gets program instances: one per session it serves (a prototype-scope service). */
interface ProgramFactory {

    /** @return a new or shared instance */
    ActiveProgram get();

    /** Gives an instance back. */
    void unget(ActiveProgram program);

    /**
     * @return true if an administrator installed the program (a feature or a built-in), false for an upload;
     *     decides the default isolation
     */
    default boolean trusted() {
        return true;
    }

    /**
     * The program's bundle as a jar, for a sandbox.
     *
     * @param dir where to write it (a cache: the same bundle version is packed once)
     * @return the jar
     * @throws IOException if it cannot be written
     * @throws UnsupportedOperationException if the program is built into the router and runs in-process only
     */
    default Path jar(Path dir) throws IOException {
        throw new UnsupportedOperationException("this program is built into the router and runs in-process only");
    }
}
