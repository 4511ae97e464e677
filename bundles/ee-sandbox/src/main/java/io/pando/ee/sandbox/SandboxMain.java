package io.pando.ee.sandbox;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import io.pando.ee.sandbox.launch.RingException;
import io.pando.ee.sandbox.launch.RingFile;
import org.osgi.framework.Bundle;
import org.osgi.framework.ServiceObjects;

/**
 * The sandbox JVM's main class (docs/ee.md): runs one active program for one session on one unit.
 *
 * <pre>
 * java … -cp sandbox.jar:felix.jar io.pando.ee.sandbox.SandboxMain
 *     --socket PATH --runtime DIR --program-bundle JAR --program NAME
 * </pre>
 *
 * Connects to the unit's Unix domain socket {@code PATH}, starts the embedded framework with the infrastructure
 * bundles of {@code DIR/bundles} and the program bundle {@code JAR}, finds the program {@code NAME}, reads INIT,
 * has the program validate the session's parameters and answers READY; then processes batches until SHUTDOWN:
 * from the shared-memory ring {@code PATH.ring} when the unit offers it and it can be mapped (protocol version 3),
 * else as BATCH frames on the socket. A start-up failure is answered with FAILED.
 *
 * <p>Exit status: 0 after SHUTDOWN; {@value #EXIT_FAILED} start-up failed (FAILED sent when connected);
 * {@value #EXIT_USAGE} bad arguments; 3 the heap is exhausted ({@code -XX:+ExitOnOutOfMemoryError});
 * {@value #EXIT_OVER_BUDGET} over the CPU budget; {@value #EXIT_BLOCKED} blocked; {@value #EXIT_PROTOCOL} the unit
 * sent a malformed frame; {@value #EXIT_CONNECTION} the connection failed or the unit closed it.
 */
public final class SandboxMain {

    /** Exit status: start-up failed. */
    public static final int EXIT_FAILED = 1;
    /** Exit status: bad arguments. */
    public static final int EXIT_USAGE = 2;
    /** Exit status: a datagram overran its CPU budget. */
    public static final int EXIT_OVER_BUDGET = 10;
    /** Exit status: a datagram blocked. */
    public static final int EXIT_BLOCKED = 11;
    /** Exit status: a malformed frame from the unit. */
    public static final int EXIT_PROTOCOL = 12;
    /** Exit status: the connection to the unit failed or ended without SHUTDOWN. */
    public static final int EXIT_CONNECTION = 13;

    /** How long SCR gets to register the program's service after its bundle started. */
    static final long PROGRAM_WAIT_MS = 5_000;
    /** How long the worker polls an empty ring before it sleeps on the socket. */
    static final long SPIN_NANOS = 50_000;
    private static final int MAX_ERROR_CHARS = 2_000;

    private SandboxMain() {
    }

    /** The command line. */
    record Args(Path socket, Path runtime, Path programBundle, String program) {

        static final String USAGE = "usage: SandboxMain --socket PATH --runtime DIR --program-bundle JAR --program NAME";

        /** @throws IllegalArgumentException saying what is wrong */
        static Args parse(String[] args) {
            Path socket = null;
            Path runtime = null;
            Path jar = null;
            String program = null;
            for (int i = 0; i < args.length; i++) {
                String a = args[i];
                if (i + 1 >= args.length) {
                    throw new IllegalArgumentException("option " + a + " needs a value");
                }
                String v = args[++i];
                switch (a) {
                    case "--socket" -> socket = Path.of(v);
                    case "--runtime" -> runtime = Path.of(v);
                    case "--program-bundle" -> jar = Path.of(v);
                    case "--program" -> program = v;
                    default -> throw new IllegalArgumentException("unknown option " + a);
                }
            }
            if (socket == null || runtime == null || jar == null || program == null || program.isEmpty()) {
                throw new IllegalArgumentException("missing option(s):" + (socket == null ? " --socket" : "")
                    + (runtime == null ? " --runtime" : "") + (jar == null ? " --program-bundle" : "")
                    + (program == null || program.isEmpty() ? " --program" : ""));
            }
            if (!Files.isDirectory(runtime.resolve("bundles"))) {
                throw new IllegalArgumentException("--runtime " + runtime + " has no bundles/ directory");
            }
            if (!Files.isRegularFile(jar)) {
                throw new IllegalArgumentException("--program-bundle " + jar + " is not a file");
            }
            return new Args(socket, runtime, jar, program);
        }
    }

    /**
     * Runs the sandbox; never returns normally (the JVM exits with one of the statuses above).
     *
     * @param argv the command line
     */
    public static void main(String[] argv) {
        Args args;
        try {
            args = Args.parse(argv);
        } catch (IllegalArgumentException e) {
            System.err.println("pando-sandbox: " + e.getMessage());
            System.err.println(Args.USAGE);
            System.exit(EXIT_USAGE);
            return;
        }
        FrameChannel channel;
        try {
            SocketChannel sc = SocketChannel.open(StandardProtocolFamily.UNIX);
            sc.connect(UnixDomainSocketAddress.of(args.socket()));
            channel = new FrameChannel(sc);
        } catch (IOException | RuntimeException e) {
            die(EXIT_CONNECTION, "cannot connect to the unit at " + args.socket() + ": " + e);
            return;
        }
        new SandboxMain.Run(args, channel).run();
    }

    /** Ends the JVM now, with a message on stderr. */
    static void die(int status, String message) {
        System.err.println("pando-sandbox: " + message);
        System.err.flush();
        System.out.flush();
        Runtime.getRuntime().halt(status);
    }

    /** One sandbox's life, on the main thread (the worker). */
    private static final class Run {
        private final Args args;
        private final FrameChannel channel;
        private EmbeddedFramework framework;
        private RingFile rings;
        private String noRings = "";

        Run(Args args, FrameChannel channel) {
            this.args = args;
            this.channel = channel;
        }

        void run() {
            ProgramCalls calls;
            SessionContext session;
            Init init;
            String bundleName;
            try {
                framework = EmbeddedFramework.start(args.runtime());
                Bundle bundle = framework.installProgram(args.programBundle());
                bundleName = bundle.getSymbolicName() + ";" + bundle.getVersion();
                ServiceObjects<Object> so = framework.findProgram(bundle, args.program(), PROGRAM_WAIT_MS);
                init = readInit();
                if (!init.program().equals(args.program())) {
                    throw new StartupException("INIT names program '" + init.program() + "', this sandbox runs '"
                        + args.program() + "'");
                }
                long sessionId;
                try {
                    sessionId = Long.parseUnsignedLong(init.session());
                } catch (NumberFormatException e) {
                    throw new StartupException("INIT session '" + init.session() + "' is not a session id");
                }
                session = new SessionContext(sessionId, init.flows(), init.parameters(), init.state(), init.timers());
                BridgeLoader bridge = new BridgeLoader(SandboxMain.class.getClassLoader(), framework.apiBundle());
                Object instance = service(so, "the program's instance");
                calls = bridge.adapter(instance, session);
                validate(so, bridge, session, calls, init.parameters());
                if (init.rings()) {
                    openRings();
                } else {
                    noRings = "the unit did not offer them";
                }
            } catch (StartupException e) {
                failed(e.getMessage());
                return;
            } catch (ProtocolException e) {
                die(EXIT_PROTOCOL, "malformed frame from the unit: " + e.getMessage());
                return;
            } catch (IOException e) {
                die(EXIT_CONNECTION, "connection to the unit failed: " + e);
                return;
            } catch (ReflectiveOperationException | RuntimeException | LinkageError e) {
                failed("the program cannot be bound to the sandbox: " + e);
                return;
            }
            Watchdog watchdog = new Watchdog(Thread.currentThread(), init.budgetMicros(), channel);
            try (SeqFile seq = new SeqFile(Path.of(args.socket() + ".seq"))) {
                watchdog.start();
                ready(bundleName);
                new Worker(channel, calls, session, watchdog, seq, rings).loop();
                // SHUTDOWN: every batch received was answered
                channel.close();
                framework.deleteStorage();
                System.out.flush();
                Runtime.getRuntime().halt(0);
            } catch (ProtocolException e) {
                die(EXIT_PROTOCOL, "malformed frame from the unit: " + e.getMessage());
            } catch (IOException e) {
                die(EXIT_CONNECTION, "connection to the unit failed: " + e);
            }
        }

        /** Maps {@code PATH.ring}; if that fails, the sandbox uses frames and READY says why. */
        private void openRings() {
            Path file = Path.of(args.socket() + ".ring");
            try {
                rings = RingFile.open(file);
            } catch (IOException | RuntimeException | InternalError e) { // InternalError: a fault on the mapping
                noRings = "cannot map " + file + ": " + e;
                System.err.println("pando-sandbox: " + noRings + "; using frames");
            }
        }

        private static Object service(ServiceObjects<Object> so, String what) throws StartupException {
            Object o;
            try {
                o = so.getService();
            } catch (RuntimeException e) {
                throw new StartupException(what + " could not be created: " + e, e);
            }
            if (o == null) {
                throw new StartupException(what + " could not be created (its component did not activate; see the "
                    + "sandbox's output)");
            }
            return o;
        }

        /**
         * Has the program check the session's parameters, on a fresh instance when the service is prototype
         * scoped (the instance is then released), else on the one instance.
         */
        private static void validate(ServiceObjects<Object> so, BridgeLoader bridge, SessionContext session,
            ProgramCalls calls, Map<String, String> parameters) throws StartupException, ReflectiveOperationException {
            Object fresh = EmbeddedFramework.prototype(so) ? service(so, "a fresh instance for validate") : null;
            ProgramCalls v = fresh == null ? calls : bridge.adapter(fresh, session);
            try {
                v.validate(parameters);
            } catch (IllegalArgumentException e) {
                throw new StartupException("parameters refused: " + e.getMessage(), e);
            } catch (RuntimeException | StackOverflowError e) {
                throw new StartupException("validate failed: " + e, e);
            } finally {
                if (fresh != null) {
                    so.ungetService(fresh);
                }
            }
        }

        private Init readInit() throws IOException {
            int type = channel.read();
            if (type < 0) {
                throw new java.io.EOFException("the unit closed the connection before INIT");
            }
            if (type != Protocol.INIT) {
                throw new ProtocolException("first frame is " + Protocol.typeName(type) + ", not INIT");
            }
            return Init.parse(channel.payload());
        }

        private void ready(String bundleName) throws IOException {
            long startup = System.currentTimeMillis() - ManagementFactory.getRuntimeMXBean().getStartTime();
            byte[] name = Fields.utf8(bundleName, MAX_ERROR_CHARS);
            byte[] why = Fields.utf8(rings != null ? "" : noRings, MAX_ERROR_CHARS);
            ByteBuffer f = ByteBuffer.allocate(4 + 1 + 4 + 4 + 2 + name.length + 1 + 2 + why.length);
            f.putInt(f.capacity() - 4).put((byte) Protocol.READY);
            f.putInt((int) ProcessHandle.current().pid()).putInt((int) Math.max(0, startup));
            Fields.str(f, name);
            f.put((byte) (rings != null ? 1 : 0));
            Fields.str(f, why);
            channel.write(f.flip());
        }

        private void failed(String reason) {
            byte[] r = Fields.utf8(reason, MAX_ERROR_CHARS);
            ByteBuffer f = ByteBuffer.allocate(4 + 1 + 2 + r.length);
            f.putInt(f.capacity() - 4).put((byte) Protocol.FAILED);
            Fields.str(f, r);
            try {
                channel.write(f.flip());
                channel.close();
            } catch (IOException e) {
                System.err.println("pando-sandbox: cannot send FAILED to the unit: " + e);
            }
            if (framework != null) {
                framework.deleteStorage();
            }
            die(EXIT_FAILED, "start-up failed: " + reason);
        }
    }

    /**
     * The batch loop: reads batches (ring records, or BATCH frames) and answers them, one entry (a datagram or a
     * timer's expiry) at a time, until SHUTDOWN. A batch in the ring is processed in place (the program's datagrams
     * are views of the ring) and released before its last results are published.
     */
    static final class Worker {
        private final FrameChannel channel;
        private final ProgramCalls calls;
        private final SessionContext session;
        private final Watchdog watchdog;
        private final SeqFile seqFile;
        private final ResultsWriter results;
        private final RingFile rings;
        private final Thread self = Thread.currentThread();
        private ByteBuffer frame;
        private ByteBuffer view;

        Worker(FrameChannel channel, ProgramCalls calls, SessionContext session, Watchdog watchdog, SeqFile seqFile,
            RingFile rings) {
            this.channel = channel;
            this.calls = calls;
            this.session = session;
            this.watchdog = watchdog;
            this.seqFile = seqFile;
            this.rings = rings;
            this.results = new ResultsWriter(channel, watchdog::cpuNow, rings);
        }

        /** Returns after SHUTDOWN. */
        void loop() throws IOException {
            if (rings != null) {
                ringLoop(rings.toSandbox());
                return;
            }
            while (true) {
                int type = channel.read();
                switch (type) {
                    case -1 -> throw new java.io.EOFException("the unit closed the connection without SHUTDOWN");
                    case Protocol.BATCH -> batch(channel.payload(), null);
                    case Protocol.SHUTDOWN -> {
                        if (channel.payload().hasRemaining()) {
                            throw new ProtocolException("SHUTDOWN with a payload");
                        }
                        return;
                    }
                    default -> throw new ProtocolException("unexpected frame " + Protocol.typeName(type)
                        + " (expected BATCH or SHUTDOWN)");
                }
            }
        }

        /** Batches from the ring; returns after SHUTDOWN. */
        private void ringLoop(RingFile.Ring in) throws IOException {
            while (true) {
                int at = next(in);
                if (at < 0) {
                    if (await(in)) {
                        return;
                    }
                    continue;
                }
                int len = in.recordLength();
                switch (in.recordType()) {
                    case Protocol.BATCH -> batch(in.data().slice(at + RingFile.RECORD_HEADER, len - 1), in);
                    case RingFile.SPILL -> {
                        if (len != 1) {
                            throw new ProtocolException("SPILL record with a payload");
                        }
                        in.release();
                        if (spilled()) {
                            return;
                        }
                    }
                    default -> throw new ProtocolException("unexpected ring record " + Protocol.typeName(
                        in.recordType()) + " (expected BATCH or SPILL)");
                }
            }
        }

        private static int next(RingFile.Ring in) throws ProtocolException {
            try {
                return in.next();
            } catch (RingException e) {
                throw new ProtocolException(e.getMessage());
            }
        }

        /**
         * The ring is empty: polls it for {@link #SPIN_NANOS}, then says it sleeps and waits for the unit's WAKE on
         * the socket. @return whether SHUTDOWN came instead (the unit closing the session in a hurry)
         */
        private boolean await(RingFile.Ring in) throws IOException {
            long until = System.nanoTime() + SPIN_NANOS;
            do {
                Thread.onSpinWait();
                if (in.pending()) {
                    return false;
                }
            } while (System.nanoTime() - until < 0);
            if (!in.sleep()) {
                return false;
            }
            int type = channel.read();
            switch (type) {
                case -1 -> throw new java.io.EOFException("the unit closed the connection without SHUTDOWN");
                case Protocol.WAKE_SANDBOX -> {
                    if (channel.payload().hasRemaining()) {
                        throw new ProtocolException("WAKE with a payload");
                    }
                    return false;
                }
                case Protocol.SHUTDOWN -> {
                    return true;
                }
                default -> throw new ProtocolException("unexpected frame " + Protocol.typeName(type)
                    + " while the ring is in use (expected WAKE or SHUTDOWN)");
            }
        }

        /** After a SPILL record: the next batch is a BATCH frame on the socket. @return whether SHUTDOWN came */
        private boolean spilled() throws IOException {
            while (true) {
                int type = channel.read();
                switch (type) {
                    case -1 -> throw new java.io.EOFException("the unit closed the connection without SHUTDOWN");
                    case Protocol.WAKE_SANDBOX -> {
                        // a wake-up that crossed a record: the ring is read after this batch
                    }
                    case Protocol.BATCH -> {
                        batch(channel.payload(), null);
                        return false;
                    }
                    case Protocol.SHUTDOWN -> {
                        return true;
                    }
                    default -> throw new ProtocolException("unexpected frame " + Protocol.typeName(type)
                        + " after a SPILL record (expected BATCH)");
                }
            }
        }

        /**
         * Processes one batch.
         *
         * @param ring the ring the batch is in (released before its last results are published, so that the unit
         *        has room again when it reads them), or null for a BATCH frame
         */
        private void batch(ByteBuffer in, RingFile.Ring ring) throws IOException {
            int n = check(in, session);
            if (in != frame) {
                frame = in;
                view = in.duplicate();
            }
            int p = 4;
            watchdog.batchStarted();
            try {
                results.batchStarted();
                long clock = System.nanoTime(); // the end of one entry is the start of the next
                for (int i = 0; i < n; i++) {
                    long seq = in.getLong(p);
                    int flags = in.get(p + 8);
                    long flow = in.getInt(p + 9) & 0xFFFF_FFFFL;
                    int len = in.getInt(p + 13);
                    int start = p + Protocol.ENTRY_HEADER;
                    p = start + len;
                    if ((flags & Protocol.FLAG_TIMER) != 0) {
                        long timer = in.getLong(start);
                        session.timerExpired(timer); // no longer set; onTimer is called like process
                        clock = call(seq, 0, false, true, timer, clock);
                    } else {
                        view.limit(p).position(start);
                        clock = call(seq, flow, (flags & Protocol.FLAG_CONTROL) != 0, false, 0, clock);
                    }
                }
                if (ring != null) {
                    ring.release();
                }
                results.flush();
            } finally {
                watchdog.batchEnded();
            }
        }

        /**
         * Checks a whole BATCH before any entry is processed: lengths, flags, the session's flows, timer entries of
         * exactly a u64 on flow 0. @return the number of entries
         */
        static int check(ByteBuffer in, SessionContext session) throws ProtocolException {
            Fields.need(in, 4, "BATCH count");
            long n = in.getInt(0) & 0xFFFF_FFFFL;
            if (n < 1 || n > Protocol.MAX_BATCH) {
                throw new ProtocolException("BATCH of " + n + " datagrams, expected 1.." + Protocol.MAX_BATCH);
            }
            int h = Protocol.ENTRY_HEADER;
            int p = 4;
            for (int i = 0; i < n; i++) {
                if (in.limit() - p < h) {
                    throw new ProtocolException("BATCH datagram " + i + " of " + n + " truncated");
                }
                int flags = in.get(p + 8) & 0xFF;
                long flow = in.getInt(p + 9) & 0xFFFF_FFFFL;
                int len = in.getInt(p + 13);
                if (len < 0 || len > in.limit() - p - h) {
                    throw new ProtocolException("BATCH datagram " + i + " of " + n + ": length "
                        + Integer.toUnsignedString(len) + " beyond the frame");
                }
                if ((flags & ~(Protocol.FLAG_CONTROL | Protocol.FLAG_TIMER)) != 0
                    || flags == (Protocol.FLAG_CONTROL | Protocol.FLAG_TIMER)) {
                    throw new ProtocolException("BATCH datagram " + i + " of " + n + ": flags 0x"
                        + Integer.toHexString(flags));
                }
                if ((flags & Protocol.FLAG_TIMER) != 0) {
                    if (len != 8 || flow != 0) {
                        throw new ProtocolException("BATCH timer entry " + i + " of " + n + ": " + len
                            + " bytes on flow " + flow + ", expected a u64 timer id on flow 0");
                    }
                } else if (!session.hasFlow(flow)) {
                    throw new ProtocolException("BATCH datagram " + i + " of " + n + ": the session has no flow "
                        + flow);
                }
                p += h + len;
            }
            if (p != in.limit()) {
                throw new ProtocolException("BATCH: " + (in.limit() - p) + " bytes after the datagrams");
            }
            return (int) n;
        }

        /**
         * Calls the program for one entry and appends its result.
         *
         * @param clock the wall clock when the previous entry's result was appended (or the batch began): the entry's
         *        share of the frame's CPU time is by its wall time from there (see {@link ResultsWriter})
         * @return the wall clock at the end of this entry, the start of the next
         */
        private long call(long seq, long flow, boolean control, boolean isTimer, long timer, long clock)
            throws IOException {
            results.begin(session, self);
            seqFile.set(seq);
            watchdog.enter(seq);
            byte[] error = null;
            try {
                if (isTimer) {
                    calls.timer(timer);
                } else {
                    calls.process(flow, control, view);
                }
            } catch (Throwable t) {
                error = describe(t);
            }
            watchdog.exit();
            Thread.interrupted(); // an interrupt left by the program would close the channel on the next read
            seqFile.set(SeqFile.NONE);
            session.end();
            long now = System.nanoTime();
            if (results.end(seq, now - clock, error, session)) {
                now = System.nanoTime(); // a RESULTS frame was written: not the next entry's time
            }
            return now;
        }

        /** The program's error as the result says it; still inside the watchdog's window (toString is its code). */
        private static byte[] describe(Throwable t) {
            String s;
            try {
                s = t.toString();
            } catch (Throwable e) {
                s = t.getClass().getName() + " (its toString threw " + e.getClass().getName() + ")";
            }
            return Fields.utf8(s == null ? t.getClass().getName() : s, MAX_ERROR_CHARS);
        }
    }
}
