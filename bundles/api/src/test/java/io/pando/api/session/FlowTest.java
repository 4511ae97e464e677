package io.pando.api.session;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.pando.api.unit.UnitId;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class FlowTest {

    private static final InetSocketAddress DEST = new InetSocketAddress("127.0.0.1", 9000);

    @Test
    void flowIdRange() {
        assertEquals(0, FlowId.of(0).value());
        assertEquals(FlowId.MAX_VALUE, FlowId.of(0xFFFF_FFFFL).value());
        assertThrows(IllegalArgumentException.class, () -> FlowId.of(-1));
        assertThrows(IllegalArgumentException.class, () -> FlowId.of(FlowId.MAX_VALUE + 1));
        assertEquals(FlowId.of(3), new FlowId(3));
        assertNotEquals(FlowId.of(3), FlowId.of(4));
    }

    @Test
    void flowValidatesName() {
        assertEquals("audio", new Flow(FlowId.of(1), "audio", DEST).name());
        assertThrows(IllegalArgumentException.class, () -> new Flow(FlowId.of(1), "", DEST));
        assertThrows(IllegalArgumentException.class, () -> new Flow(FlowId.of(1), "a b", DEST));
        assertThrows(IllegalArgumentException.class, () -> new Flow(FlowId.of(1), "x".repeat(65), DEST));
        assertThrows(IllegalArgumentException.class, () -> new Flow(FlowId.of(1), "vid\u00e9o", DEST));
        assertThrows(NullPointerException.class, () -> new Flow(null, "audio", DEST));
        assertThrows(NullPointerException.class, () -> new Flow(FlowId.of(1), "audio", null));
        assertEquals(new Flow(FlowId.of(1), "audio", DEST), new Flow(FlowId.of(1), "audio", DEST));
    }

    @Test
    void sessionCopiesAndValidates() {
        Flow audio = new Flow(FlowId.of(1), "audio", DEST);
        Flow video = new Flow(FlowId.of(2), "video", DEST);
        List<Flow> flows = new ArrayList<>(List.of(audio, video));
        ActiveSession session = new ActiveSession(new SessionId(5), "alice", SessionState.ACTIVE, flows,
            Set.of(UnitId.of("node-a.unit-1")));
        flows.clear();
        assertEquals(2, session.flows().size());
        assertThrows(UnsupportedOperationException.class, () -> session.flows().clear());
        assertSame(video, session.flow(FlowId.of(2)));
        assertNull(session.flow(FlowId.of(3)));
        assertEquals(session, new ActiveSession(new SessionId(5), "alice", SessionState.ACTIVE,
            List.of(audio, video), Set.of(UnitId.of("node-a.unit-1"))));

        assertThrows(IllegalArgumentException.class, () -> new ActiveSession(new SessionId(5), " ",
            SessionState.ACTIVE, List.of(audio), Set.of()));
        assertThrows(IllegalArgumentException.class, () -> new ActiveSession(new SessionId(5), "alice",
            SessionState.ACTIVE, List.of(), Set.of()));
        assertThrows(IllegalArgumentException.class, () -> new ActiveSession(new SessionId(5), "alice",
            SessionState.ACTIVE, List.of(audio, new Flow(FlowId.of(1), "other", DEST)), Set.of()));
    }
}
