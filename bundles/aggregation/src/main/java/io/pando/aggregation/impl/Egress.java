package io.pando.aggregation.impl;

import io.pando.artp.ArtpConnection;
import java.net.InetSocketAddress;
import java.util.ArrayDeque;

/**
 * The ARTP connection of one session to one of its destinations: every flow of the session whose destination
 * this is leaves on it. Used on the aggregation unit's event loop only.
 */
final class Egress {

    final EgressSession session;
    final InetSocketAddress destination;
    ArtpConnection connection;
    /** Results sent while the connection was not writable: their credit is returned once it is. */
    final ArrayDeque<Result> deferred = new ArrayDeque<>();
    boolean failed;
    String failure = "";

    Egress(EgressSession session, InetSocketAddress destination) {
        this.session = session;
        this.destination = destination;
    }
}
