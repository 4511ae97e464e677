package io.pando.ee.sandbox.it;

import java.io.EOFException;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * The unit's side of the sandbox protocol for the tests: a Unix domain socket server speaking docs/ee.md with a
 * small codec of its own, reading frames on a thread into a queue.
 */
final class TestUnit implements AutoCloseable {

    static final int INIT = 0x01;
    static final int BATCH = 0x02;
    static final int SHUTDOWN = 0x03;
    static final int READY = 0x81;
    static final int RESULTS = 0x82;
    static final int OVER_BUDGET = 0x83;
    static final int FAILED = 0x84;
    static final int BLOCKED = 0x85;
    /** Put in the queue when the sandbox closed the connection. */
    static final int CLOSED = -1;

    /** A frame received. */
    record Frame(int type, ByteBuffer payload) {
    }

    /** A BATCH entry to send: a datagram, or a timer's expiry. */
    record Datagram(long seq, boolean control, long flow, byte[] data, boolean timer) {
        Datagram(long seq, boolean control, long flow, byte[] data) {
            this(seq, control, flow, data, false);
        }

        static Datagram of(long seq, String text) {
            return new Datagram(seq, false, 0, text.getBytes(StandardCharsets.UTF_8));
        }

        static Datagram of(long seq, long flow, String text) {
            return new Datagram(seq, false, flow, text.getBytes(StandardCharsets.UTF_8));
        }

        /** The expiry of timer {@code id}. */
        static Datagram expiry(long seq, long id) {
            return new Datagram(seq, false, 0, ByteBuffer.allocate(8).putLong(id).array(), true);
        }
    }

    /** One op of a result; TIMER_SET and TIMER_CANCEL keep their fields in {@code data}. */
    record Op(int kind, long flow, String key, byte[] data) {
        String text() {
            return data == null ? null : new String(data, StandardCharsets.UTF_8);
        }

        long timer() {
            return ByteBuffer.wrap(data).getLong(0);
        }

        long delay() {
            return ByteBuffer.wrap(data).getLong(8);
        }
    }

    /** One datagram's result. */
    record Result(long seq, int status, long cpuNanos, String error, List<Op> ops) {
    }

    private final Path dir;
    private final Path socket;
    private final ServerSocketChannel server;
    private SocketChannel channel;
    private final BlockingQueue<Frame> frames = new LinkedBlockingQueue<>();
    private Thread reader;

    TestUnit(Path dir) throws IOException {
        this.dir = dir;
        this.socket = dir.resolve("ee.sock");
        server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        server.bind(UnixDomainSocketAddress.of(socket));
    }

    Path socket() {
        return socket;
    }

    Path seqFile() {
        return dir.resolve("ee.sock.seq");
    }

    /** @return the seq in {@code PATH.seq}, or null if the file is not there */
    Long seqInFile() throws IOException {
        if (!Files.isRegularFile(seqFile())) {
            return null;
        }
        try (FileChannel c = FileChannel.open(seqFile(), StandardOpenOption.READ)) {
            ByteBuffer b = ByteBuffer.allocate(8);
            c.read(b, 0);
            return b.getLong(0);
        }
    }

    /** Waits for the sandbox to connect, then reads its frames on a thread. */
    void accept(Duration timeout) throws Exception {
        CompletableFuture<SocketChannel> f = CompletableFuture.supplyAsync(() -> {
            try {
                return server.accept();
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        });
        channel = f.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        reader = new Thread(this::read, "test-unit-reader");
        reader.setDaemon(true);
        reader.start();
    }

    private void read() {
        ByteBuffer header = ByteBuffer.allocate(5);
        try {
            while (true) {
                header.clear();
                if (!fill(header)) {
                    break;
                }
                int len = header.getInt(0);
                if (len < 1 || len > 16 << 20) {
                    throw new IOException("bad frame length " + len);
                }
                ByteBuffer p = ByteBuffer.allocate(len - 1);
                if (!fill(p)) {
                    throw new EOFException("EOF inside a frame");
                }
                frames.add(new Frame(header.get(4) & 0xFF, p.flip()));
            }
        } catch (IOException e) {
            // the connection ended
        }
        frames.add(new Frame(CLOSED, ByteBuffer.allocate(0)));
    }

    private boolean fill(ByteBuffer b) throws IOException {
        while (b.hasRemaining()) {
            if (channel.read(b) < 0) {
                return false;
            }
        }
        return true;
    }

    /** @return the next frame within {@code timeout} */
    Frame next(Duration timeout) throws InterruptedException {
        Frame f = frames.poll(timeout.toMillis(), TimeUnit.MILLISECONDS);
        if (f == null) {
            throw new AssertionError("no frame from the sandbox within " + timeout);
        }
        return f;
    }

    void send(ByteBuffer frame) throws IOException {
        while (frame.hasRemaining()) {
            channel.write(frame);
        }
    }

    void sendRaw(byte[] bytes) throws IOException {
        send(ByteBuffer.wrap(bytes));
    }

    /** Closes the connection from the unit's side. */
    void disconnect() throws IOException {
        if (channel != null) {
            channel.close();
        }
    }

    @Override
    public void close() throws IOException {
        disconnect();
        server.close();
        Files.deleteIfExists(socket);
    }

    // ---- codec

    private static final class Out {
        ByteBuffer b = ByteBuffer.allocate(1 << 16);

        Out(int type) {
            b.putInt(0).put((byte) type);
        }

        void room(int n) {
            if (b.remaining() < n) {
                ByteBuffer bigger = ByteBuffer.allocate(Math.max(b.capacity() * 2, b.position() + n + 1024));
                bigger.put(b.flip());
                b = bigger;
            }
        }

        Out str(String s) {
            byte[] u = s.getBytes(StandardCharsets.UTF_8);
            room(2 + u.length);
            b.putShort((short) u.length).put(u);
            return this;
        }

        Out bytes(byte[] v) {
            room(4 + v.length);
            b.putInt(v.length).put(v);
            return this;
        }

        Out u8(int v) {
            room(1);
            b.put((byte) v);
            return this;
        }

        Out u16(int v) {
            room(2);
            b.putShort((short) v);
            return this;
        }

        Out u32(long v) {
            room(4);
            b.putInt((int) v);
            return this;
        }

        Out u64(long v) {
            room(8);
            b.putLong(v);
            return this;
        }

        ByteBuffer done() {
            b.putInt(0, b.position() - 4);
            return b.flip();
        }
    }

    static ByteBuffer init(String session, String program, long budgetMicros, int[] flows, Map<String, String> params,
        Map<String, byte[]> state) {
        return init(session, program, budgetMicros, java.util.Arrays.stream(flows).asLongStream().toArray(), params,
            state, new long[0]);
    }

    /** INIT of protocol version 3, without the rings (frames only). */
    static ByteBuffer init(String session, String program, long budgetMicros, long[] flows, Map<String, String> params,
        Map<String, byte[]> state, long[] timers) {
        return init(session, program, budgetMicros, flows, params, state, timers, false);
    }

    /** INIT of protocol version 3. */
    static ByteBuffer init(String session, String program, long budgetMicros, long[] flows, Map<String, String> params,
        Map<String, byte[]> state, long[] timers, boolean rings) {
        Out o = new Out(INIT).u16(3).str(session).str(program).u32(budgetMicros).u16(flows.length);
        for (long f : flows) {
            o.u32(f);
        }
        o.u16(params.size());
        params.forEach((k, v) -> o.str(k).str(v));
        o.u32(state.size());
        state.forEach((k, v) -> o.str(k).bytes(v));
        o.u16(timers.length);
        for (long t : timers) {
            o.u64(t);
        }
        o.u8(rings ? 1 : 0);
        return o.done();
    }

    static ByteBuffer batch(List<Datagram> datagrams) {
        Out o = new Out(BATCH).u32(datagrams.size());
        for (Datagram d : datagrams) {
            o.u64(d.seq()).u8(d.timer() ? 2 : d.control() ? 1 : 0).u32(d.flow()).bytes(d.data());
        }
        return o.done();
    }

    static ByteBuffer shutdown() {
        return new Out(SHUTDOWN).done();
    }

    private static String str(ByteBuffer in) {
        int n = in.getShort() & 0xFFFF;
        byte[] b = new byte[n];
        in.get(b);
        return new String(b, StandardCharsets.UTF_8);
    }

    private static byte[] bytes(ByteBuffer in) {
        byte[] b = new byte[in.getInt()];
        in.get(b);
        return b;
    }

    /** READY's fields. */
    record Ready(long pid, long startupMillis, String bundle, boolean rings, String noRings) {
        static Ready parse(Frame f) {
            if (f.type() != READY) {
                throw new AssertionError("expected READY, got " + describe(f));
            }
            ByteBuffer in = f.payload().duplicate();
            Ready r = new Ready(in.getInt() & 0xFFFF_FFFFL, in.getInt() & 0xFFFF_FFFFL, str(in), in.get() == 1,
                str(in));
            if (in.hasRemaining()) {
                throw new AssertionError("bytes after READY");
            }
            return r;
        }
    }

    static String failedReason(Frame f) {
        if (f.type() != FAILED) {
            throw new AssertionError("expected FAILED, got " + describe(f));
        }
        return str(f.payload().duplicate());
    }

    /** @return OVER_BUDGET or BLOCKED: seq and ns */
    static long[] report(Frame f, int type) {
        if (f.type() != type) {
            throw new AssertionError("expected " + type + ", got " + describe(f));
        }
        ByteBuffer in = f.payload().duplicate();
        long[] r = {in.getLong(), in.getLong()};
        if (in.hasRemaining()) {
            throw new AssertionError("bytes after the report");
        }
        return r;
    }

    static List<Result> results(Frame f) {
        if (f.type() != RESULTS) {
            throw new AssertionError("expected RESULTS, got " + describe(f));
        }
        ByteBuffer in = f.payload().duplicate();
        long n = in.getInt() & 0xFFFF_FFFFL;
        List<Result> out = new ArrayList<>();
        for (long i = 0; i < n; i++) {
            long seq = in.getLong();
            int status = in.get() & 0xFF;
            long cpu = in.getLong();
            String error = status == 1 ? str(in) : null;
            int nOps = in.getShort() & 0xFFFF;
            List<Op> ops = new ArrayList<>();
            for (int k = 0; k < nOps; k++) {
                int kind = in.get() & 0xFF;
                switch (kind) {
                    case 1, 4 -> {
                        long flow = in.getInt() & 0xFFFF_FFFFL;
                        ops.add(new Op(kind, flow, null, bytes(in)));
                    }
                    case 5 -> {
                        byte[] b = new byte[16];
                        in.get(b);
                        ops.add(new Op(kind, 0, null, b));
                    }
                    case 6 -> {
                        byte[] b = new byte[16];
                        in.get(b, 0, 8);
                        ops.add(new Op(kind, 0, null, b));
                    }
                    case 2 -> {
                        String key = str(in);
                        ops.add(new Op(kind, 0, key, bytes(in)));
                    }
                    case 3 -> ops.add(new Op(kind, 0, str(in), null));
                    default -> throw new AssertionError("unknown op " + kind);
                }
            }
            out.add(new Result(seq, status, cpu, error, ops));
        }
        if (in.hasRemaining()) {
            throw new AssertionError(in.remaining() + " bytes after the results");
        }
        return out;
    }

    static String describe(Frame f) {
        return switch (f.type()) {
            case CLOSED -> "connection closed";
            case FAILED -> "FAILED: " + str(f.payload().duplicate());
            default -> String.format("frame 0x%02x (%d bytes)", f.type(), f.payload().remaining());
        };
    }

    static Map<String, byte[]> state(String... kv) {
        Map<String, byte[]> m = new LinkedHashMap<>();
        for (int i = 0; i < kv.length; i += 2) {
            m.put(kv[i], kv[i + 1].getBytes(StandardCharsets.UTF_8));
        }
        return m;
    }
}
