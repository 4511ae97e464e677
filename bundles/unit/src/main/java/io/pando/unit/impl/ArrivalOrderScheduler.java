package io.pando.unit.impl;

import io.pando.api.policy.PacketScheduler;
import io.pando.api.session.SessionId;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;

/**
 * The scheduler a unit falls back on while the selected one is not registered (for example during an update
 * of the bundle that provides it): results leave in the order they were made, so nothing waits for a
 * scheduler to come back.
 */
final class ArrivalOrderScheduler implements PacketScheduler {

    static final String NAME = "arrival-order";

    private final ArrayDeque<Optional<SessionId>> order = new ArrayDeque<>();
    private final Map<SessionId, Optional<SessionId>> optionals = new HashMap<>();

    @Override
    public void enqueued(SessionId session, int length) {
        order.add(optionals.computeIfAbsent(session, Optional::of));
    }

    @Override
    public Optional<SessionId> next() {
        Optional<SessionId> head = order.peek();
        return head == null ? Optional.empty() : head;
    }

    @Override
    public void dequeued(SessionId session, int length) {
        order.poll();
        if (order.isEmpty()) {
            optionals.clear();
        }
    }
}
