package io.pando.aggregation.impl;

import io.pando.artp.ArtpConnection;
import java.net.InetSocketAddress;
import java.util.ArrayDeque;
import java.util.concurrent.CompletableFuture;

/**
 * The ARTP connection of one session to one of its destinations: every flow of the session whose destination
 * this is leaves on it. It is opened when the first result for the destination arrives, not when the session
 * opens, so an idle session holds no connection, no ARTP timers and no keep-alive traffic; the results that
 * arrive while it opens wait here, in order, with their credit held. Used on the aggregation unit's event loop
 * only.
 */
final class Egress {

    final EgressSession session;
    final InetSocketAddress destination;
    /** Null until the connection is open. */
    ArtpConnection connection;
    /** Null until the first result asks for the connection; completes once it is open or has failed. */
    CompletableFuture<Void> ready;
    /** Results that arrived while the connection was opening, in arrival order; null when there are none. */
    ArrayDeque<Result> waiting;
    /** Results sent while the connection was not writable: their credit is returned once it is (made on demand). */
    ArrayDeque<Result> deferred;
    boolean failed;
    String failure = "";

    Egress(EgressSession session, InetSocketAddress destination) {
        this.session = session;
        this.destination = destination;
    }

    /** @param r a result sent while the connection is not writable */
    void defer(Result r) {
        if (deferred == null) {
            deferred = new ArrayDeque<>(4);
        }
        deferred.add(r);
    }

    /** @param r a result that arrived before the connection was open */
    void await(Result r) {
        if (waiting == null) {
            waiting = new ArrayDeque<>(4);
        }
        waiting.add(r);
    }

    int deferredCount() {
        return deferred == null ? 0 : deferred.size();
    }

    int waitingCount() {
        return waiting == null ? 0 : waiting.size();
    }
}
