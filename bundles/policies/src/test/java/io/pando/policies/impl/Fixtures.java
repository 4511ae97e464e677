package io.pando.policies.impl;

import io.pando.api.program.Datagram;
import io.pando.api.session.ActiveSession;
import io.pando.api.session.Flow;
import io.pando.api.session.FlowId;
import io.pando.api.session.SessionId;
import io.pando.api.session.SessionState;
import io.pando.api.unit.UnitId;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

final class Fixtures {

    static final FlowId FLOW = FlowId.of(1);

    private Fixtures() {
    }

    static ActiveSession session(long id) {
        return new ActiveSession(new SessionId(id), "alice", SessionState.ACTIVE,
            List.of(new Flow(FLOW, "data", InetSocketAddress.createUnresolved("localhost", 9000))), Set.of());
    }

    static List<UnitId> units(int n) {
        List<UnitId> units = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            units.add(UnitId.of("unit-" + i));
        }
        return List.copyOf(units);
    }

    static Datagram datagram(int length) {
        return Datagram.of(FLOW, new byte[length]);
    }
}
