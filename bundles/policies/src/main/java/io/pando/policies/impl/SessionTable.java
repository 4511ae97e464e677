package io.pando.policies.impl;

import io.pando.api.session.SessionId;
import java.util.Iterator;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;

/**
 * Bounded per-session state of a load-balancing policy, shared by the I/O threads of the distribution unit.
 * The {@code LoadBalancingPolicy} SPI does not say when a session ends, so the table is bounded instead:
 * when it grows past its capacity, a quarter of the entries is forgotten (in no particular order). Every
 * policy using it is built so that a forgotten entry costs little: the session simply starts again from a
 * state derived from its id.
 *
 * <p>Thread safe and lock free for a lookup of a known session (one {@link ConcurrentHashMap#get}); a new
 * session allocates its state once.
 */
final class SessionTable<V> {

    private final ConcurrentHashMap<SessionId, V> states = new ConcurrentHashMap<>();
    private final int capacity;
    private final Function<SessionId, V> factory;

    SessionTable(int capacity, Function<SessionId, V> factory) {
        this.capacity = capacity;
        this.factory = factory;
    }

    /** @return the state of the session, created on its first datagram */
    V get(SessionId session) {
        V state = states.get(session);
        if (state != null) {
            return state;
        }
        if (states.size() >= capacity) {
            evict();
        }
        return states.computeIfAbsent(session, factory);
    }

    /** @return the state of the session, or null if it has none */
    V peek(SessionId session) {
        return states.get(session);
    }

    void put(SessionId session, V state) {
        if (states.size() >= capacity && !states.containsKey(session)) {
            evict();
        }
        states.put(session, state);
    }

    void remove(SessionId session) {
        states.remove(session);
    }

    int size() {
        return states.size();
    }

    private void evict() {
        int toRemove = Math.max(1, capacity / 4);
        Iterator<SessionId> it = states.keySet().iterator();
        while (toRemove > 0 && it.hasNext()) {
            it.next();
            it.remove();
            toRemove--;
        }
    }
}
