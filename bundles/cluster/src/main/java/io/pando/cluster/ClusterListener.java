package io.pando.cluster;

import org.osgi.annotation.versioning.ConsumerType;

/**
 * Told of every change of membership, leadership and quorum. Register one as an OSGi service (whiteboard); it is
 * called on one cluster event thread, in the order the changes happened, never concurrently with itself. A listener
 * registered while the cluster runs first gets no replay: read {@link ClusterService} for the current state.
 *
 * <p>Implemented by whoever needs to react (the control unit takes over admission when it becomes the leader).
 * Must return quickly: a slow listener delays the events of every listener.
 */
@ConsumerType
public interface ClusterListener {

    /** @param event what changed, and the cluster as it was right after the change */
    void clusterChanged(ClusterEvent event);
}
