package io.pando.ep.duplicator;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pando.api.program.Datagram;
import io.pando.api.session.FlowId;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The program driven as the router drives it: one instance, one datagram at a time. */
class PacketDuplicatorProgramTest {

    private static byte[] payload(int i) {
        byte[] b = new byte[1 + i % 300];
        new Random(i).nextBytes(b);
        b[0] = (byte) i;
        return b;
    }

    private static void feed(PacketDuplicatorProgram p, RecordingContext ctx, long flow, int count) {
        for (int i = 0; i < count; i++) {
            p.process(Datagram.of(FlowId.of(flow), payload(i)), ctx);
        }
    }

    private static void assertGotAllInOrder(RecordingContext ctx, long flow, int count) {
        List<Datagram> got = ctx.on(flow);
        assertEquals(count, got.size(), "datagrams on flow " + flow);
        for (int i = 0; i < count; i++) {
            assertArrayEquals(payload(i), got.get(i).copyData(), "datagram " + i + " on flow " + flow);
        }
    }

    @Test
    void byDefaultEveryOtherFlowGetsEveryDatagramInOrder() {
        PacketDuplicatorProgram p = new PacketDuplicatorProgram();
        RecordingContext ctx = new RecordingContext(Map.of(), 0, 1, 2, 5);
        feed(p, ctx, 0, 2500);
        assertEquals(3 * 2500, ctx.emitted.size());
        assertEquals(List.of(), ctx.on(0), "nothing goes back to the input flow");
        for (long f : new long[] {1, 2, 5}) {
            assertGotAllInOrder(ctx, f, 2500);
            assertEquals(2500, p.sent(FlowId.of(f)));
        }
        // each input datagram is emitted on every output before the next one
        for (int i = 0; i < 2500; i++) {
            for (int k = 0; k < 3; k++) {
                assertArrayEquals(payload(i), ctx.emitted.get(3 * i + k).copyData());
            }
        }
    }

    @Test
    void byDefaultTheInputFlowIsWhereverTheDatagramCameIn() {
        PacketDuplicatorProgram p = new PacketDuplicatorProgram();
        RecordingContext ctx = new RecordingContext(Map.of(), 0, 1, 2);
        p.process(Datagram.of(FlowId.of(2), new byte[] {9}), ctx);
        assertEquals(List.of(FlowId.of(0), FlowId.of(1)), ctx.emitted.stream().map(Datagram::flow).toList());
    }

    @Test
    void explicitOutputsGetEveryDatagramInOrderInTheGivenOrder() {
        PacketDuplicatorProgram p = new PacketDuplicatorProgram();
        RecordingContext ctx = new RecordingContext(Map.of("outputs", " 4, 2 ,0"), 0, 1, 2, 3, 4);
        feed(p, ctx, 0, 1000);
        assertEquals(3000, ctx.emitted.size());
        assertEquals(List.of(FlowId.of(4), FlowId.of(2), FlowId.of(0)),
            ctx.emitted.subList(0, 3).stream().map(Datagram::flow).toList(), "the order given, the input flow too");
        for (long f : new long[] {4, 2, 0}) {
            assertGotAllInOrder(ctx, f, 1000);
        }
        assertEquals(List.of(), ctx.on(1));
        assertEquals(List.of(), ctx.on(3));
    }

    @Test
    void emptyDatagramsAndLargeOnesAreCopiedAsTheyAre() {
        PacketDuplicatorProgram p = new PacketDuplicatorProgram();
        RecordingContext ctx = new RecordingContext(Map.of("outputs", "1,2"), 0, 1, 2);
        byte[] big = new byte[65_000];
        new Random(1).nextBytes(big);
        p.process(Datagram.of(FlowId.of(0), new byte[0]), ctx);
        p.process(Datagram.of(FlowId.of(0), big), ctx);
        assertEquals(0, ctx.on(1).get(0).length());
        assertArrayEquals(big, ctx.on(2).get(1).copyData());
    }

    @Test
    void aViewWithAnOffsetIsSentFromItsPosition() {
        PacketDuplicatorProgram p = new PacketDuplicatorProgram();
        RecordingContext ctx = new RecordingContext(Map.of(), 0, 1);
        ByteBuffer b = ByteBuffer.wrap(new byte[] {1, 2, 3, 4, 5});
        b.position(2).limit(4);
        p.process(Datagram.wrap(FlowId.of(0), false, b), ctx);
        assertArrayEquals(new byte[] {3, 4}, ctx.on(1).get(0).copyData());
    }

    @Test
    void controlDatagramsAreCountedNotDuplicated() {
        PacketDuplicatorProgram p = new PacketDuplicatorProgram();
        RecordingContext ctx = new RecordingContext(Map.of(), 0, 1);
        p.process(Datagram.control(FlowId.of(0), new byte[] {1}), ctx);
        p.process(Datagram.of(FlowId.of(0), new byte[] {2}), ctx);
        assertEquals(1, ctx.emitted.size());
        assertEquals("in=1 control=1 out.0=0 out.1=1", p.stats());
    }

    @Test
    void countersGoToSessionStateOnTheFirstDatagramAndThenEveryThousand() {
        PacketDuplicatorProgram p = new PacketDuplicatorProgram();
        RecordingContext ctx = new RecordingContext(Map.of("outputs", "1,2"), 0, 1, 2);
        feed(p, ctx, 0, 1);
        assertEquals("in=1 control=0 out.1=1 out.2=1", stats(ctx));
        feed(p, ctx, 0, 1000);
        assertEquals("in=1001 control=0 out.1=1001 out.2=1001", stats(ctx));
        feed(p, ctx, 0, 5);
        assertEquals("in=1001 control=0 out.1=1001 out.2=1001", stats(ctx), "not rewritten on every datagram");
        assertEquals("in=1006 control=0 out.1=1006 out.2=1006", p.stats());
    }

    private static String stats(RecordingContext ctx) {
        return new String(ctx.state.get(PacketDuplicatorProgram.STATS_KEY), StandardCharsets.US_ASCII);
    }

    // ---- parameters ----

    @Test
    void validateAcceptsGoodParameters() {
        PacketDuplicatorProgram p = new PacketDuplicatorProgram();
        p.validate(Map.of());
        p.validate(Map.of("outputs", "1"));
        p.validate(Map.of("outputs", "0, 1,2 ,4294967295"));
        assertNull(PacketDuplicatorProgram.outputs(Map.of()));
        assertArrayEquals(new long[] {3, 1, 4294967295L},
            PacketDuplicatorProgram.outputs(Map.of("outputs", "3,1,4294967295")));
    }

    @ParameterizedTest
    @ValueSource(strings = {"", " ", "1,", ",1", "1,,2", "a", "1;2", "-1", "+1", "4294967296", "99999999999",
        "1.5", "0x10", "1 2"})
    void validateRefusesMalformedOutputs(String outputs) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
            () -> new PacketDuplicatorProgram().validate(Map.of("outputs", outputs)));
        assertTrue(e.getMessage().startsWith("packet-duplicator: parameter 'outputs' is a comma-separated list"),
            e.getMessage());
    }

    @Test
    void validateRefusesARepeatedFlowAndTooManyFlows() {
        IllegalArgumentException twice = assertThrows(IllegalArgumentException.class,
            () -> new PacketDuplicatorProgram().validate(Map.of("outputs", "1,2,1")));
        assertTrue(twice.getMessage().endsWith("got '1,2,1' (flow 1 twice)"), twice.getMessage());
        StringBuilder many = new StringBuilder("0");
        for (int i = 1; i <= PacketDuplicatorProgram.MAX_OUTPUTS; i++) {
            many.append(',').append(i);
        }
        IllegalArgumentException tooMany = assertThrows(IllegalArgumentException.class,
            () -> new PacketDuplicatorProgram().validate(Map.of("outputs", many.toString())));
        assertTrue(tooMany.getMessage().endsWith("got 65 ids"), tooMany.getMessage());
    }

    @Test
    void validateRefusesUnknownParameters() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
            () -> new PacketDuplicatorProgram().validate(Map.of("output", "1", "rate", "5")));
        assertEquals("packet-duplicator: unknown parameters 'output', 'rate'; the only parameter is 'outputs' "
            + "(comma-separated flow ids, default: every flow but the input flow)", e.getMessage());
    }

    @Test
    void anOutputTheSessionDoesNotHaveFailsEveryDatagramAndEmitsNothing() {
        PacketDuplicatorProgram p = new PacketDuplicatorProgram();
        RecordingContext ctx = new RecordingContext(Map.of("outputs", "1,7"), 0, 1, 2);
        for (int i = 0; i < 2; i++) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> p.process(Datagram.of(FlowId.of(0), new byte[] {1}), ctx));
            assertEquals("packet-duplicator: parameter 'outputs' names flow 7, which this session does not have "
                + "(its flows: 0, 1, 2)", e.getMessage());
        }
        assertEquals(List.of(), ctx.emitted);
    }

    @Test
    void aSingleFlowSessionWithoutOutputsFailsEveryDatagram() {
        PacketDuplicatorProgram p = new PacketDuplicatorProgram();
        RecordingContext ctx = new RecordingContext(Map.of(), 0);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
            () -> p.process(Datagram.of(FlowId.of(0), new byte[] {1}), ctx));
        assertTrue(e.getMessage().startsWith("packet-duplicator: the session has only flow 0"), e.getMessage());
        assertEquals(List.of(), ctx.emitted);
    }
}
