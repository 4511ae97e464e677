package io.pando.link;

import org.osgi.annotation.versioning.ConsumerType;

/** How the aggregation unit returns buffer credit to the unit a result came from. Implemented by units. */
@ConsumerType
public interface Credit {

    /**
     * The aggregation unit handed results of this many bytes to the egress connection. Called on the
     * aggregation unit's thread; must not block.
     */
    void release(int bytes);
}
