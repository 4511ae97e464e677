package io.pando.unit.impl;

import static io.pando.unit.impl.UnitCoreTest.assertIntact;
import static io.pando.unit.impl.UnitCoreTest.datagram;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.netty.buffer.PooledByteBufAllocator;
import io.pando.api.program.ActiveProgram;
import io.pando.api.router.Execution;
import io.pando.api.session.SessionId;
import io.pando.api.unit.UnitId;
import io.pando.ee.sandbox.launch.RingFile;
import io.pando.link.SessionPlan;
import io.pando.link.UnitChannel;
import io.pando.unit.impl.RecordingAggregation.CreditMode;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.Function;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The unit's side of sandbox protocol version 3 (frames: the scripted sandbox declines the rings) against a scripted
 * sandbox (a thread speaking the protocol on the
 * unit's socket, no JVM): what the unit writes (INIT with u32 flows and the set timers, BATCH entries with u32 flows,
 * timer expiries as flagged entries sent on an empty pipeline) and that it trusts nothing it reads back: an op on a
 * flow the session lacks, a TIMER_SET out of range or one timer too many ends the sandbox as a protocol error, and
 * the next sandbox gets the datagram again.
 */
class SandboxWireTest {

    private static final UnitId UNIT = UnitId.of("u1");
    private static final long MIB = 1 << 20;

    @TempDir
    Path dir;

    private UnitCore core;
    private RecordingAggregation agg;
    private final Scripted processes = new Scripted();

    /** What one scripted sandbox read from the unit. */
    record Init(int version, long[] flows, long[] timers) {
    }

    /** A BATCH entry as the sandbox read it. */
    record Entry(int incarnation, long seq, int flags, long flow, byte[] data) {
    }

    /**
     * Starts scripted sandboxes: each answers every entry with the ops its incarnation's script makes (by default
     * an EMIT of the datagram on its flow).
     */
    final class Scripted implements SandboxProcesses {
        final List<Init> inits = new CopyOnWriteArrayList<>();
        final List<Entry> entries = new CopyOnWriteArrayList<>();
        /** Per incarnation (1, 2, ...): the ops for an entry; missing: echo. */
        final Map<Integer, Function<Entry, List<byte[]>>> scripts = new java.util.concurrent.ConcurrentHashMap<>();
        /**
         * Per incarnation: a sandbox that takes the rings, reads the first batch from its ring, then breaks the ring
         * to the unit this way (given the file and the first entry) and wakes the unit.
         */
        final Map<Integer, Hostile> hostileRings = new java.util.concurrent.ConcurrentHashMap<>();
        /** Incarnations that broke their ring. */
        final List<Integer> broken = new CopyOnWriteArrayList<>();
        final ConcurrentLinkedQueue<Thread> threads = new ConcurrentLinkedQueue<>();
        int started;

        @Override
        public String unavailable() {
            return null;
        }

        @Override
        public String confinement() {
            return "scripted, no process";
        }

        @Override
        public synchronized Handle start(String name, Path programJar, String program, Path socket, Execution limits) {
            int incarnation = ++started;
            CompletableFuture<Integer> exit = new CompletableFuture<>();
            SocketChannel[] ch = new SocketChannel[1];
            Thread t = new Thread(() -> {
                try (SocketChannel c = SocketChannel.open(StandardProtocolFamily.UNIX)) {
                    ch[0] = c;
                    c.connect(UnixDomainSocketAddress.of(socket));
                    serve(incarnation, c, socket);
                    exit.complete(0);
                } catch (IOException | RuntimeException e) {
                    exit.complete(137);
                }
            }, "scripted-sandbox-" + incarnation);
            t.setDaemon(true);
            threads.add(t);
            t.start();
            return new Handle() {
                @Override
                public long pid() {
                    return 1000 + incarnation;
                }

                @Override
                public CompletionStage<Integer> onExit() {
                    return exit;
                }

                @Override
                public void kill() {
                    try {
                        if (ch[0] != null) {
                            ch[0].close();
                        }
                    } catch (IOException e) {
                        // gone
                    }
                    exit.complete(137);
                }

                @Override
                public Map<String, Long> stats() {
                    return Map.of();
                }

                @Override
                public String output() {
                    return "";
                }

                @Override
                public void close() {
                }
            };
        }

        private void serve(int incarnation, SocketChannel c, Path socket) throws IOException {
            ByteBuffer init = frame(c);
            if (init == null || init.get() != 0x01) {
                throw new IOException("no INIT");
            }
            int version = init.getShort() & 0xFFFF;
            str(init);
            str(init);
            init.getInt();
            long[] flows = new long[init.getShort() & 0xFFFF];
            for (int i = 0; i < flows.length; i++) {
                flows[i] = init.getInt() & 0xFFFF_FFFFL;
            }
            int params = init.getShort() & 0xFFFF;
            for (int i = 0; i < params; i++) {
                str(init);
                str(init);
            }
            int state = init.getInt();
            for (int i = 0; i < state; i++) {
                str(init);
                init.position(init.position() + init.getInt());
            }
            long[] timers = new long[init.getShort() & 0xFFFF];
            for (int i = 0; i < timers.length; i++) {
                timers[i] = init.getLong();
            }
            int rings = init.get();
            if (rings != 1) {
                throw new IOException("the unit did not offer its rings: " + rings);
            }
            if (init.hasRemaining()) {
                throw new IOException(init.remaining() + " bytes after INIT");
            }
            inits.add(new Init(version, flows, timers));
            Hostile hostile = hostileRings.get(incarnation);
            if (hostile != null) {
                hostile(incarnation, c, Path.of(socket + ".ring"), hostile);
                return;
            }
            byte[] bundle = "test.scripted;1.0.0".getBytes(StandardCharsets.UTF_8);
            byte[] why = "scripted: frames".getBytes(StandardCharsets.UTF_8);
            int len = 1 + 8 + 2 + bundle.length + 1 + 2 + why.length;
            write(c, ByteBuffer.allocate(4 + len).putInt(len).put((byte) 0x81).putInt(1000 + incarnation).putInt(1)
                .putShort((short) bundle.length).put(bundle).put((byte) 0).putShort((short) why.length).put(why)
                .flip());
            while (true) {
                ByteBuffer f = frame(c);
                if (f == null || f.get() != 0x02) {
                    return; // SHUTDOWN or closed
                }
                int n = f.getInt();
                ByteBuffer out = ByteBuffer.allocate(1 << 20);
                out.putInt(0).put((byte) 0x82).putInt(n);
                for (int i = 0; i < n; i++) {
                    long seq = f.getLong();
                    int flags = f.get();
                    long flow = f.getInt() & 0xFFFF_FFFFL;
                    byte[] data = new byte[f.getInt()];
                    f.get(data);
                    Entry e = new Entry(incarnation, seq, flags, flow, data);
                    entries.add(e);
                    Function<Entry, List<byte[]>> script = scripts.get(incarnation);
                    List<byte[]> ops = script != null ? script.apply(e) : List.of(emit(flow, data));
                    out.putLong(seq).put((byte) 0).putLong(1000).putShort((short) ops.size());
                    for (byte[] op : ops) {
                        out.put(op);
                    }
                }
                out.putInt(0, out.position() - 4);
                write(c, out.flip());
            }
        }
    }

    /** A sandbox that takes the rings, reads one batch from them, breaks the ring to the unit and wakes it. */
    private void hostile(int incarnation, SocketChannel c, Path file, Hostile act) throws IOException {
        try (RingFile rings = RingFile.open(file)) {
            byte[] bundle = "test.hostile;1.0.0".getBytes(StandardCharsets.UTF_8);
            int len = 1 + 8 + 2 + bundle.length + 1 + 2;
            write(c, ByteBuffer.allocate(4 + len).putInt(len).put((byte) 0x81).putInt(1000 + incarnation).putInt(1)
                .putShort((short) bundle.length).put(bundle).put((byte) 1).putShort((short) 0).flip());
            RingFile.Ring in = rings.toSandbox();
            int at;
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            while ((at = in.next()) < 0) {
                if (System.nanoTime() > deadline) {
                    throw new IOException("no batch in the ring");
                }
                try {
                    Thread.sleep(1);
                } catch (InterruptedException e) {
                    throw new IOException(e);
                }
            }
            ByteBuffer b = in.data();
            if (in.recordType() != 0x02 || b.getInt(at + 5) < 1) {
                throw new IOException("not a batch: " + in.recordType());
            }
            int p = at + 9;
            byte[] data = new byte[b.getInt(p + 13)];
            b.get(p + 17, data);
            Entry e = new Entry(incarnation, b.getLong(p), b.get(p + 8), b.getInt(p + 9) & 0xFFFF_FFFFL, data);
            processes.entries.add(e);
            act.act(rings, file, e);
            processes.broken.add(incarnation);
            write(c, ByteBuffer.allocate(5).putInt(1).put((byte) 0x86).flip());
            while (frame(c) != null) {
                // until the unit closes the connection
            }
        }
    }

    /** Writes a RESULTS record with {@code payload} into the ring to the unit of {@code file}, published. */
    static void resultsRecord(RingFile rings, ByteBuffer payload) throws IOException {
        RingFile.Ring out = rings.toUnit();
        int size = 5 + payload.remaining();
        int at = out.begin(size, size);
        out.data().putInt(at, size - 4).put(at + 4, (byte) 0x82).put(at + 5, payload, payload.position(),
            payload.remaining());
        out.commit(size);
    }

    /** Writes the u64 at {@code offset} of the rings' header (little-endian, as the counters are). */
    static void header(Path file, int offset, long value) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            ch.map(FileChannel.MapMode.READ_WRITE, 0, RingFile.HEADER).order(ByteOrder.LITTLE_ENDIAN)
                .putLong(offset, value);
        }
    }

    /** What a hostile sandbox does to its rings after reading the first entry. */
    interface Hostile {
        void act(RingFile rings, Path file, Entry first) throws IOException;
    }

    /** One EMIT op. */
    static byte[] emit(long flow, byte[] data) {
        return ByteBuffer.allocate(1 + 4 + 4 + data.length).put((byte) 1).putInt((int) flow).putInt(data.length)
            .put(data).array();
    }

    /** One TIMER_SET op. */
    static byte[] timerSet(long timer, long delay) {
        return ByteBuffer.allocate(17).put((byte) 5).putLong(timer).putLong(delay).array();
    }

    /** {@code count} TIMER_SET ops, ids 0..count-1. */
    static List<byte[]> manyTimerSets(int count) {
        List<byte[]> ops = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            ops.add(timerSet(i, 1_000_000_000L));
        }
        return ops;
    }

    static long numberOf(Entry e) {
        return ByteBuffer.wrap(e.data()).getLong();
    }

    static ByteBuffer frame(SocketChannel c) throws IOException {
        ByteBuffer len = ByteBuffer.allocate(4);
        if (!fill(c, len)) {
            return null;
        }
        ByteBuffer f = ByteBuffer.allocate(len.getInt(0));
        return fill(c, f) ? f.flip() : null;
    }

    private static boolean fill(SocketChannel c, ByteBuffer b) throws IOException {
        while (b.hasRemaining()) {
            if (c.read(b) < 0) {
                return false;
            }
        }
        return true;
    }

    private static void write(SocketChannel c, ByteBuffer b) throws IOException {
        while (b.hasRemaining()) {
            c.write(b);
        }
    }

    private static String str(ByteBuffer b) {
        byte[] s = new byte[b.getShort() & 0xFFFF];
        b.get(s);
        return new String(s, StandardCharsets.UTF_8);
    }

    @BeforeEach
    void start() throws IOException {
        core = new UnitCore(UNIT, 64 * MIB, MIB, "fifo", PooledByteBufAllocator.DEFAULT,
            new SandboxHost(processes, dir.resolve("jars"), "u1"), null);
        agg = new RecordingAggregation(CreditMode.IMMEDIATE);
        core.addProgram("scripted", new ProgramFactory() {
            @Override
            public ActiveProgram get() {
                throw new AssertionError("runs in a sandbox");
            }

            @Override
            public void unget(ActiveProgram program) {
            }

            @Override
            public boolean trusted() {
                return false;
            }

            @Override
            public Path jar(Path d) {
                return d.resolve("scripted.jar");
            }
        });
    }

    @AfterEach
    void stop() throws InterruptedException {
        core.stop();
        agg.shutdown();
    }

    private static void await(BooleanSupplier condition, String what) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                fail("timed out waiting for " + what);
            }
            Thread.sleep(2);
        }
    }

    private UnitChannel open(long id) {
        SessionPlan plan = FlowsAndTimersTest.plan(id, "scripted");
        plan = new SessionPlan(plan.id(), plan.name(), plan.program(), plan.parameters(), plan.destination(),
            plan.units(), plan.quotaBytes(), Optional.empty(),
            new Execution(Optional.empty(), 20_000, 128, 1.0), plan.flows());
        return core.open(plan, agg, new RecordingEvents());
    }

    @Test
    void initAndEntriesCarryU32FlowsAndATimerExpiryIsAFlaggedEntryOnAnEmptyPipeline() throws Exception {
        // incarnation 1: the first datagram sets timer 7 (1 ms) and emits; the expiry emits its id on flow 1
        processes.scripts.put(1, e -> (e.flags() & 2) != 0 ? List.of(emit(1, e.data()))
            : List.of(emit(e.flow(), e.data()), timerSet(7, 1_000)));
        UnitChannel ch = open(1);
        assertEquals(1, processes.inits.size());
        Init init = processes.inits.get(0);
        assertEquals(3, init.version());
        assertArrayEquals(new long[] {0, 1, 2}, init.flows());
        assertArrayEquals(new long[0], init.timers());
        ch.deliver(40, 2, datagram(40, 64), false);
        RecordingAggregation.Channel out = agg.channel(new SessionId(1));
        await(() -> out.count() == 2, "the datagram's and the timer's results");
        List<RecordingAggregation.Result> r = out.results();
        assertEquals(2, r.get(0).flow());
        assertIntact(r.get(0).data(), 40);
        assertEquals(1, r.get(1).flow(), "the expiry's result");
        assertEquals(40, r.get(1).sequence(), "carries the sequence of the last datagram");
        assertEquals(7, ByteBuffer.wrap(r.get(1).data()).getLong());
        Entry expiry = processes.entries.get(1);
        assertEquals(2, expiry.flags(), "flags bit 1");
        assertEquals(0, expiry.flow());
        assertEquals(8, expiry.data().length);
        Map<String, Long> c = ch.counters();
        assertEquals(1L, c.get("timers_set"), c.toString());
        assertEquals(1L, c.get("timers_fired"), c.toString());
        ch.close().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }

    @Test
    void aSandboxThatBreaksItsRingIsEndedAsAProtocolErrorAndTheNextSandboxGetsTheDatagram() throws Exception {
        // 1: the tail of the ring to the unit beyond a full ring
        processes.hostileRings.put(1, (r, f, e) -> header(f, 256, RingFile.DEFAULT_CAPACITY + 64L));
        // 2: a RESULTS record for a seq the unit did not send
        processes.hostileRings.put(2, (r, f, e) -> resultsRecord(r, ByteBuffer.allocate(4 + 19).putInt(1)
            .putLong(e.seq() + 1000).put((byte) 0).putLong(1).putShort((short) 0).flip()));
        // 3: a RESULTS record whose EMIT claims more bytes than the record holds
        processes.hostileRings.put(3, (r, f, e) -> resultsRecord(r, ByteBuffer.allocate(4 + 19 + 9).putInt(1)
            .putLong(e.seq()).put((byte) 0).putLong(1).putShort((short) 1).put((byte) 1).putInt(0).putInt(1 << 19)
            .flip()));
        // 4: the head of the ring to the sandbox beyond what the unit wrote (found when the unit sends next)
        processes.hostileRings.put(4, (r, f, e) -> header(f, 128, 1L << 30));
        UnitChannel ch = open(3);
        ch.deliver(0, 0, datagram(0, 32), false);
        ch.deliver(1, 0, datagram(1, 32), false);
        await(() -> processes.broken.contains(4), "the fourth sandbox to break its ring");
        ch.deliver(2, 0, datagram(2, 32), false);
        RecordingAggregation.Channel out = agg.channel(new SessionId(3));
        await(() -> out.count() == 3, "the datagrams through the fifth sandbox (frames)");
        assertEquals(5, processes.started);
        Map<String, Long> c = ch.counters();
        assertEquals(4L, c.get("sandbox_protocol_errors"), c.toString());
        assertEquals(0L, c.get("program_killed"), "no culprit: the datagrams were sent again each time " + c);
        for (int i = 0; i < 3; i++) {
            assertEquals(i, out.results().get(i).sequence());
            assertIntact(out.results().get(i).data(), i);
        }
        ch.close().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }

    @Test
    void aTimerSetOutOfRangeIsAProtocolErrorAndTheNextSandboxGetsTheDatagram() throws Exception {
        processes.scripts.put(1, e -> List.of(timerSet(1, -1)));
        processes.scripts.put(2, e -> List.of(timerSet(1,
            io.pando.api.program.ProgramContext.MAX_TIMER_DELAY_MICROS + 1)));
        processes.scripts.put(3, e -> List.of(emit(9, e.data()))); // a flow the session lacks
        processes.scripts.put(4, e -> manyTimerSets(1025)); // the ops before the 1,025th apply, then it ends
        // incarnation 5 gets the 1,024 timers in its INIT; setting them again moves them
        processes.scripts.put(5, e -> numberOf(e) == 1 ? manyTimerSets(1024) : List.of(emit(e.flow(), e.data())));
        UnitChannel ch = open(2);
        ch.deliver(0, 1, datagram(0, 32), false);
        RecordingAggregation.Channel out = agg.channel(new SessionId(2));
        await(() -> out.count() == 1, "the datagram through the fifth sandbox");
        assertIntact(out.results().get(0).data(), 0);
        assertEquals(1, out.results().get(0).flow());
        Map<String, Long> c = ch.counters();
        assertEquals(4L, c.get("sandbox_protocol_errors"), c.toString());
        assertEquals(0L, c.get("program_killed"), "no culprit: the datagram was sent again each time " + c);
        assertEquals(1024L, c.get("timers"), c.toString());
        assertEquals(5, processes.started);
        assertEquals(1024, processes.inits.get(4).timers().length, "the timers the unit kept, in INIT");
        ch.deliver(1, 0, datagram(1, 32), false);
        await(() -> ch.counters().get("timers_set") == 2048L, "1,024 timers moved");
        assertEquals(1024L, ch.counters().get("timers"));
        assertEquals(0L, ch.counters().get("timers_fired"), "an hour away");
        ch.deliver(2, 0, datagram(2, 32), false);
        await(() -> out.count() == 2, "the third datagram");
        ch.close().toCompletableFuture().get(10, TimeUnit.SECONDS);
        assertEquals(1024L, ch.counters().get("timers_discarded"));
        for (Init i : processes.inits) {
            assertEquals(3, i.version());
        }
    }
}
