package io.pando.shell.cli;

import io.pando.api.router.RouterService;
import org.apache.karaf.shell.api.action.lifecycle.Reference;

/**
 * What the commands over the router share: an optional reference to the {@link RouterService}. Optional, so that
 * the commands exist on every node and say why they cannot work where the router does not run, instead of
 * disappearing from the console.
 */
abstract class RouterAction extends PandoAction {

    /** The message of every router command on a node without a router. */
    static final String NOT_RUNNING = "the Pando router is not running on this node (feature pando-distribution)";

    @Reference(optional = true)
    RouterService router;

    /**
     * @return the router
     * @throws IllegalStateException with {@link #NOT_RUNNING} if no router is registered
     */
    RouterService router() {
        RouterService r = router;
        if (r == null) {
            throw new IllegalStateException(NOT_RUNNING);
        }
        return r;
    }
}
