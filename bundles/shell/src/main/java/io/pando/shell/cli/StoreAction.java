package io.pando.shell.cli;

import io.pando.ee.api.ProgramStore;
import org.apache.karaf.shell.api.action.lifecycle.Reference;

/**
 * What the program-store commands share: an optional reference to the {@link ProgramStore}, so that the commands
 * exist on every node and say why they cannot work where the store does not run.
 */
abstract class StoreAction extends PandoAction {

    /** The message of every store command on a node without the program store. */
    static final String NOT_RUNNING = "the program store is not running on this node (feature pando-ee)";

    @Reference(optional = true)
    ProgramStore store;

    /**
     * @return the store
     * @throws IllegalStateException with {@link #NOT_RUNNING} if no store is registered
     */
    ProgramStore store() {
        ProgramStore s = store;
        if (s == null) {
            throw new IllegalStateException(NOT_RUNNING);
        }
        return s;
    }
}
