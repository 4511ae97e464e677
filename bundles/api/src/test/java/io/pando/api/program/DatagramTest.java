package io.pando.api.program;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pando.api.session.FlowId;
import java.nio.ByteBuffer;
import java.nio.ReadOnlyBufferException;
import org.junit.jupiter.api.Test;

class DatagramTest {

    private static final FlowId F = FlowId.of(1);

    @Test
    void ofCopiesInput() {
        byte[] bytes = {1, 2, 3};
        Datagram d = Datagram.of(F, bytes);
        bytes[0] = 9;
        assertArrayEquals(new byte[] {1, 2, 3}, d.copyData());
        assertFalse(d.isControl());
        assertTrue(Datagram.control(F, bytes).isControl());
    }

    @Test
    void wrapIsAReadOnlyViewFromPositionToLimit() {
        ByteBuffer buf = ByteBuffer.wrap(new byte[] {0, 1, 2, 3, 4});
        buf.position(1).limit(4);
        Datagram d = Datagram.wrap(F, false, buf);
        buf.position(0).limit(5);
        assertEquals(3, d.length());
        ByteBuffer view = d.data();
        assertEquals(0, view.position());
        assertEquals(3, view.limit());
        assertTrue(view.isReadOnly());
        assertThrows(ReadOnlyBufferException.class, () -> view.put((byte) 7));
        view.get();
        assertEquals(0, d.data().position(), "each data() is an independent view");
        buf.put(1, (byte) 42);
        assertArrayEquals(new byte[] {42, 2, 3}, d.copyData(), "a wrapped datagram does not copy");
    }

    @Test
    void equalityByFlowFlagAndBytes() {
        Datagram a = Datagram.of(F, new byte[] {1, 2});
        assertEquals(a, Datagram.wrap(F, false, ByteBuffer.wrap(new byte[] {1, 2})));
        assertEquals(a.hashCode(), Datagram.wrap(F, false, ByteBuffer.wrap(new byte[] {1, 2})).hashCode());
        assertNotEquals(a, Datagram.control(F, new byte[] {1, 2}));
        assertNotEquals(a, Datagram.of(FlowId.of(2), new byte[] {1, 2}));
        assertNotEquals(a, Datagram.of(F, new byte[] {1, 3}));
        assertThrows(NullPointerException.class, () -> Datagram.of(null, new byte[0]));
    }
}
