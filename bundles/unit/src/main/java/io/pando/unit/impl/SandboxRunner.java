package io.pando.unit.impl;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.AdaptiveRecvByteBufAllocator;
import io.netty.channel.ChannelOption;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.epoll.EpollServerDomainSocketChannel;
import io.netty.channel.unix.DomainSocketAddress;
import io.netty.channel.unix.DomainSocketChannel;
import io.netty.handler.codec.CorruptedFrameException;
import io.netty.handler.codec.LengthFieldBasedFrameDecoder;
import io.pando.api.router.Execution;
import io.pando.ee.sandbox.launch.RingException;
import io.pando.ee.sandbox.launch.RingFile;
import java.io.IOException;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayDeque;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Runs one session's program in a sandbox process (docs/ee.md) for one unit: starts the sandbox, sends it the
 * session's datagrams in batches (through a pair of shared-memory rings, or as frames over its Unix domain socket
 * where the rings cannot be used), applies what comes back (results, state, control),
 * and supervises it: a sandbox that ends — over its CPU budget, blocked, out of memory, crashed, or breaking the
 * protocol — costs the one datagram it was processing (counted); every other datagram it had is sent again to
 * the next sandbox, started after a back-off. Five ends within a minute quarantine the session for 30 s: its
 * datagrams wait under its buffer quota (the sender is paused by back-pressure), nothing is dropped.
 *
 * <p>Loop-confined: every method runs on the unit's thread, except where noted.
 */
final class SandboxRunner {

    private static final Logger LOG = System.getLogger(SandboxRunner.class.getName());

    /** Most datagrams at a sandbox not yet answered. */
    static final int WINDOW_DATAGRAMS = 4096;
    /** Most bytes at a sandbox not yet answered. */
    static final long WINDOW_BYTES = 4L << 20;
    /**
     * Size of a BATCH frame's buffer: a frame is sent when the next datagram does not fit (a larger datagram gets
     * a frame of its own), so the buffer never grows, which would copy what it holds.
     */
    static final int BATCH_BYTES = 256 << 10;
    /**
     * A BATCH record in the ring is published as soon as it holds this much while the sandbox has worked off every
     * record before it (it would wait otherwise); while it is busy, a record grows up to {@link #BATCH_BYTES}.
     */
    static final int EAGER_RECORD_BYTES = 32 << 10;
    static final long START_TIMEOUT_MS = 30_000;
    /** How long a lost connection waits for the process's exit status. */
    static final long EXIT_WAIT_MS = 300;
    /** The sandbox's first datagrams have at least this much CPU (its warm-up; docs/ee.md). */
    static final int WARMUP_DATAGRAMS = 32;
    static final long WARMUP_BUDGET_MICROS = 2_000_000;
    static final long BACKSTOP_BASE_MS = 5_000;
    static final long FIRST_BACKOFF_MS = 100;
    static final long MAX_BACKOFF_MS = 10_000;
    static final int BREAKER_ENDS = 5;
    static final long BREAKER_WINDOW_MS = 60_000;
    static final long QUARANTINE_MS = 30_000;

    enum State { STARTING, RUNNING, RETIRING, DOWN, QUARANTINED, CLOSED }

    private final UnitCore core;
    private final UnitSession s;
    private final ProgramFactory program;
    private final SandboxHost host;
    private final Execution limits;
    private final long budgetMicros;
    final CompletableFuture<Void> firstReady = new CompletableFuture<>();

    State state = State.DOWN;
    private int incarnation;
    private Channel server;
    private Channel child;
    private SandboxProcesses.Handle handle;
    private Path dir;
    private long startedAt;
    private final ArrayDeque<Work> inflight = new ArrayDeque<>();
    private long inflightBytes;
    private long nextTag;
    private ByteBuf batch;
    private int batchAt = -1;
    private int batchCount;
    private boolean flushScheduled;
    private final Runnable flushTask = this::flush;
    private long lastProgress;
    /** Datagrams the current sandbox answered. */
    private long answered;
    private long reportedTag = -1;
    private String endReason;
    private final ArrayDeque<Long> recentEnds = new ArrayDeque<>();
    private long backoffMs = FIRST_BACKOFF_MS;
    private Runnable afterRetire;

    // the shared-memory rings of the current sandbox (null: frames on the socket)
    private RingFile rings;
    private RingFile.Ring toSandbox;
    private RingFile.Ring toUnit;
    /** Writes datagrams into the ring to the sandbox (a view of it, moved per entry). */
    private ByteBuffer ringWriter;
    /** The BATCH record being built in the ring: where it begins (-1: none), where its next entry goes, its end. */
    private int ringBatchAt = -1;
    private int ringBatchPos;
    private int ringBatchLimit;
    private int ringBatchCount;
    /** A SPILL record was read: the next results come as a RESULTS frame on the socket. */
    private boolean awaitingSpill;
    /** The ring to the unit broke the protocol: it is not read again. */
    private boolean ringBroken;
    /** The sandbox is being ended: nothing more is sent to it. */
    private boolean ending;

    // accounting
    long starts;
    long ends;
    long killed;
    long overBudget;
    long blocked;
    long crashes;
    long protocolErrors;
    long startFailures;
    long quarantines;
    long resent;
    long lastStartMillis = -1;
    long sandboxCpuNanos;
    long endedCpuNanos;
    long memoryPeak;
    long oomKills;
    long outOfMemory;
    long throttled;
    long pid = -1;
    long ringFallbacks;
    long wakesSent;
    long wakesReceived;

    SandboxRunner(UnitCore core, UnitSession s, ProgramFactory program, SandboxHost host) {
        this.core = core;
        this.s = s;
        this.program = program;
        this.host = host;
        this.limits = s.plan.execution();
        this.budgetMicros = limits.cpuBudgetMicros();
    }

    ProgramFactory program() {
        return program;
    }

    boolean idle() {
        return inflight.isEmpty();
    }

    int inflight() {
        return inflight.size();
    }

    // ---- lifecycle

    /** Starts a sandbox (asynchronously); it says READY, or fails and is retried after a back-off. */
    void start() {
        if (state == State.CLOSED || state == State.STARTING || state == State.RUNNING) {
            return;
        }
        state = State.STARTING;
        int inc = ++incarnation;
        startedAt = System.nanoTime();
        reportedTag = -1;
        endReason = null;
        answered = 0;
        starts++;
        String name = host.sandboxName(core.id().value(), s.id.toString(), inc);
        try {
            dir = host.newDirectory(name);
        } catch (IOException e) {
            ended(inc, "cannot create the sandbox directory: " + e.getMessage(), false);
            return;
        }
        Path socket = dir.resolve("ee.sock");
        openRings(socket);
        ServerBootstrap b = new ServerBootstrap()
            .group(core.loopGroup())
            .channel(EpollServerDomainSocketChannel.class)
            .childOption(ChannelOption.ALLOCATOR, core.allocator())
            // RESULTS frames run to 256 KiB: read them in few, large reads (the frame decoder copies less)
            .childOption(ChannelOption.RCVBUF_ALLOCATOR, new AdaptiveRecvByteBufAllocator(4096, 64 << 10, 512 << 10))
            .childHandler(new ChannelInitializer<DomainSocketChannel>() {
                @Override
                protected void initChannel(DomainSocketChannel ch) {
                    ch.pipeline().addLast(new LengthFieldBasedFrameDecoder(SandboxFrames.MAX_FRAME, 0, 4, 0, 4),
                        new Handler(inc));
                }
            });
        ChannelFuture bound = b.bind(new DomainSocketAddress(socket.toString()));
        server = bound.channel();
        bound.addListener(f -> {
            if (!f.isSuccess()) {
                ended(inc, "cannot listen on " + socket + ": " + f.cause(), false);
                return;
            }
            host.launch(() -> {
                try {
                    Path jar = program.jar(host.jarDirectory());
                    SandboxProcesses.Handle h = host.processes().start(name, jar, s.plan.program(), socket, limits);
                    core.execute(() -> launched(inc, h));
                } catch (IOException | RuntimeException e) {
                    core.execute(() -> ended(inc, "cannot start the sandbox: " + e.getMessage(), false));
                }
            });
        });
        core.schedule(() -> {
            if (incarnation == inc && state == State.STARTING) {
                ended(inc, "the sandbox did not say READY within " + START_TIMEOUT_MS + " ms", false);
            }
        }, START_TIMEOUT_MS);
    }

    /** Creates the rings' file next to the socket; without it the sandbox gets frames (counted, logged). */
    private void openRings(Path socket) {
        closeRings();
        ending = false;
        awaitingSpill = false;
        ringBroken = false;
        Path file = Path.of(socket + ".ring");
        try {
            rings = RingFile.create(file, RingFile.DEFAULT_CAPACITY);
            toSandbox = rings.toSandbox();
            toUnit = rings.toUnit();
            ringWriter = toSandbox.data().duplicate();
        } catch (IOException | RuntimeException | InternalError e) { // InternalError: a fault on the mapping (full)
            ringFallbacks++;
            LOG.log(Level.WARNING, "unit {0}: session {1}: cannot create the sandbox''s rings {2} ({3}); using frames on "
                + "its socket", core.id(), s.id, file, e.toString());
            closeRings();
        }
    }

    private void closeRings() {
        RingFile r = rings;
        rings = null;
        toSandbox = null;
        toUnit = null;
        ringWriter = null;
        ringBatchAt = -1;
        if (r != null) {
            try {
                r.close();
            } catch (IOException e) {
                // the mapping goes with the buffers; the file with the directory
            }
        }
    }

    private void launched(int inc, SandboxProcesses.Handle h) {
        if (inc != incarnation || state != State.STARTING) {
            host.launch(() -> host.finish(h, 0));
            return;
        }
        handle = h;
        pid = h.pid();
        h.onExit().whenComplete((code, e) -> core.executeIfRunning(() -> exited(inc, code, h)));
    }

    /** The sandbox process ended: say why in the words its exit status gives (docs/ee.md). */
    private void exited(int inc, Integer code, SandboxProcesses.Handle h) {
        String why;
        int c = code == null ? -1 : code;
        switch (c) {
            case 0 -> why = "the sandbox exited";
            case 1 -> why = "the sandbox failed to start" + tail(h);
            case 3 -> {
                if (inc == incarnation && state != State.DOWN && state != State.QUARANTINED && state != State.CLOSED) {
                    outOfMemory++;
                }
                why = "out of memory: the program exhausted the sandbox's heap of " + (limits.memoryMb() / 2) + " MiB";
            }
            case 10 -> why = "over its CPU budget";
            case 11 -> why = "blocked";
            case 12 -> why = "the sandbox found a malformed frame from the unit";
            case 137 -> why = "killed (SIGKILL: by the unit, or by the kernel when the cgroup's memory was exhausted)";
            default -> why = "the sandbox exited with status " + c + tail(h);
        }
        ended(inc, why, false);
    }

    private static String tail(SandboxProcesses.Handle h) {
        String out = h.output().strip();
        if (out.isEmpty()) {
            return "";
        }
        int nl = out.lastIndexOf('\n', out.length() - 1);
        return ": " + (nl < 0 ? out : out.substring(nl + 1));
    }

    private void connected(int inc, Channel ch) {
        if (inc != incarnation || state != State.STARTING || child != null) {
            ch.close();
            return;
        }
        child = ch;
        server.close(); // one sandbox, one connection
        ByteBuf init = ch.alloc().buffer(256);
        try {
            SandboxFrames.init(init, s.id.toString(), s.plan.program(), budgetMicros, s.flowNumbers,
                s.plan.parameters(), s.state, s.timers.ids(), rings != null);
        } catch (RuntimeException e) {
            init.release();
            ended(inc, "session state does not fit the sandbox protocol: " + e.getMessage(), false);
            return;
        }
        ch.writeAndFlush(init);
    }

    private void ready(int inc, ByteBuf f) {
        SandboxFrames.need(f, 8, "READY");
        long p = f.readUnsignedInt();
        long ms = f.readUnsignedInt();
        String bundle = SandboxFrames.readString(f, "READY bundle");
        SandboxFrames.need(f, 1, "READY rings");
        int usesRings = f.readUnsignedByte();
        String noRings = SandboxFrames.readString(f, "READY rings reason");
        if (f.isReadable()) {
            throw new CorruptedFrameException(f.readableBytes() + " bytes after READY");
        }
        if (state != State.STARTING) {
            throw new CorruptedFrameException("READY when " + state);
        }
        if (usesRings > 1 || usesRings == 1 && rings == null) {
            throw new CorruptedFrameException("READY: rings " + usesRings + (rings == null ? ", none offered" : ""));
        }
        if (usesRings == 0 && rings != null) {
            ringFallbacks++;
            LOG.log(Level.WARNING, "unit {0}: session {1}: the sandbox does not use the rings ({2}); using frames on "
                + "its socket", core.id(), s.id, noRings);
            closeRings();
        }
        lastStartMillis = (System.nanoTime() - startedAt) / 1_000_000;
        state = State.RUNNING;
        backoffMs = FIRST_BACKOFF_MS;
        lastProgress = System.nanoTime();
        LOG.log(Level.DEBUG, "unit {0}: sandbox of session {1} ready: pid {2}, {3} in {4} ms (JVM {5} ms)",
            core.id(), s.id, p, bundle, lastStartMillis, ms);
        if (handle != null) {
            handle.ready();
        }
        firstReady.complete(null);
        pump();
    }

    /**
     * A sandbox ended or must end: kill it, charge the datagram it was processing, give the others back to the
     * waiting queue, restart after a back-off (or quarantine).
     */
    void ended(int inc, String reason, boolean protocolError) {
        if (inc != incarnation || state == State.DOWN || state == State.QUARANTINED || state == State.CLOSED) {
            return;
        }
        State was = state;
        int drained = 0;
        if (!protocolError && (was == State.RUNNING || was == State.RETIRING)) {
            drained = drainOnEnd();
        }
        String why = endReason != null ? endReason : reason;
        ends++;
        if (protocolError) {
            protocolErrors++;
        }
        stopProcess();
        long culprit = reportedTag >= 0 ? reportedTag : readSeqFile();
        int back = 0;
        Work w;
        while ((w = inflight.pollLast()) != null) {
            if (w.tag == culprit) {
                killed++;
                s.programErrors++;
                core.countProgramError();
                s.lastError = why;
                int len = w.data.readableBytes();
                w.data.release();
                w.recycle();
                s.uncharge(len);
            } else {
                s.waiting.addFirst(w);
                back++;
            }
        }
        inflightBytes = 0;
        resent += back;
        discardBatch();
        closeRings();
        if (drained > 0) {
            core.execute(() -> core.sandboxProgress(s)); // what those results emitted leaves the unit
        }
        if (endReason == null && was != State.RETIRING) {
            crashes++;
        }
        if (was == State.STARTING) {
            startFailures++;
        }
        if (!firstReady.isDone()) {
            firstReady.completeExceptionally(new IllegalStateException(why));
            state = State.DOWN;
            cleanup();
            return;
        }
        if (was == State.RETIRING && afterRetire != null) {
            state = State.CLOSED;
            cleanup();
            Runnable next = afterRetire;
            afterRetire = null;
            next.run();
            return;
        }
        long now = System.currentTimeMillis();
        recentEnds.addLast(now);
        while (!recentEnds.isEmpty() && recentEnds.peekFirst() < now - BREAKER_WINDOW_MS) {
            recentEnds.pollFirst();
        }
        long delay;
        String what;
        if (recentEnds.size() >= BREAKER_ENDS) {
            state = State.QUARANTINED;
            quarantines++;
            recentEnds.clear();
            delay = QUARANTINE_MS;
            what = "quarantined for " + QUARANTINE_MS / 1000 + " s (" + BREAKER_ENDS + " ends within "
                + BREAKER_WINDOW_MS / 1000 + " s)";
        } else {
            state = State.DOWN;
            delay = backoffMs;
            backoffMs = Math.min(MAX_BACKOFF_MS, backoffMs * 2);
            what = "restart in " + delay + " ms";
        }
        String line = "sandbox of program " + s.plan.program() + " ended: " + why + "; " + back + " datagrams to send again, " + what;
        LOG.log(Level.WARNING, "unit {0}: session {1}: {2}", core.id(), s.id, line);
        s.events.programFault(core.id(), line);
        cleanup();
        core.schedule(() -> {
            if (incarnation == inc && (state == State.DOWN || state == State.QUARANTINED)) {
                start();
            }
        }, delay);
    }

    /**
     * The sandbox ended: applies the results it had published in the ring (they were answered, like the results of
     * frames already in the socket), so that only what it did not answer is sent again. @return records applied
     */
    private int drainOnEnd() {
        if (toUnit == null || ringBroken) {
            return 0;
        }
        ending = true;
        int n = 0;
        try {
            while (!awaitingSpill) {
                int at = toUnit.next();
                if (at < 0) {
                    break;
                }
                ringRecord(at);
                n++;
            }
        } catch (RingException | RuntimeException e) {
            ringBroken = true;
            LOG.log(Level.DEBUG, "unit {0}: session {1}: ring of an ended sandbox: {2}", core.id(), s.id,
                e.toString());
        }
        return n;
    }

    private long readSeqFile() {
        Path f = dir == null ? null : dir.resolve("ee.sock.seq");
        if (f == null || !Files.isRegularFile(f)) {
            return -1;
        }
        try (FileChannel c = FileChannel.open(f, StandardOpenOption.READ)) {
            ByteBuffer b = ByteBuffer.allocate(8);
            while (b.hasRemaining() && c.read(b) >= 0) {
                // read all 8 bytes
            }
            return b.hasRemaining() ? -1 : b.getLong(0);
        } catch (IOException e) {
            return -1;
        }
    }

    private void stopProcess() {
        if (child != null) {
            child.close();
            child = null;
        }
        if (server != null) {
            server.close();
            server = null;
        }
        SandboxProcesses.Handle h = handle;
        handle = null;
        if (h != null) {
            h.kill();
            account(h.stats());
            host.launch(() -> host.finish(h, 0));
        }
    }

    /** Adds an ended sandbox's cgroup accounting to the session's. */
    private void account(Map<String, Long> st) {
        endedCpuNanos += st.getOrDefault("cpu_ns", 0L);
        memoryPeak = Math.max(memoryPeak, st.getOrDefault("memory_peak_bytes", 0L));
        oomKills += st.getOrDefault("oom_kills", 0L);
        throttled += st.getOrDefault("throttled", 0L);
    }

    private void cleanup() {
        Path d = dir;
        dir = null;
        if (d != null) {
            host.launch(() -> deleteTree(d));
        }
    }

    private static void deleteTree(Path d) {
        try (Stream<Path> walk = Files.walk(d)) {
            walk.sorted(Comparator.reverseOrder()).forEach(p -> {
                try {
                    Files.deleteIfExists(p);
                } catch (IOException e) {
                    // best effort: a later start uses a new directory
                }
            });
        } catch (IOException e) {
            // already gone
        }
    }

    /**
     * The program is being replaced: stop sending, let the sandbox answer what it has, then end it and run
     * {@code next} (which binds the new program). Datagrams wait meanwhile.
     */
    void retire(Runnable next) {
        if (state == State.RUNNING) {
            state = State.RETIRING;
            afterRetire = next;
            flush();
            maybeShutdown();
            return;
        }
        close(); // starting, down or quarantined: the sandbox has none of the session's datagrams
        next.run();
    }

    private void maybeShutdown() {
        if (state == State.RETIRING && inflight.isEmpty() && child != null) {
            ByteBuf f = child.alloc().buffer(5);
            SandboxFrames.endFrame(f, SandboxFrames.beginFrame(f, SandboxFrames.SHUTDOWN));
            child.writeAndFlush(f);
            endReason = "replaced by a new version";
        }
    }

    /** The session is closing and drained, or the unit stops: shut the sandbox down for good. */
    void close() {
        if (state == State.CLOSED) {
            return;
        }
        incarnation++;
        state = State.CLOSED;
        if (!firstReady.isDone()) {
            firstReady.completeExceptionally(new IllegalStateException("session closed"));
        }
        if (child != null && child.isActive()) {
            ByteBuf f = child.alloc().buffer(5);
            SandboxFrames.endFrame(f, SandboxFrames.beginFrame(f, SandboxFrames.SHUTDOWN));
            child.writeAndFlush(f);
        }
        SandboxProcesses.Handle h = handle;
        if (h != null) { // give it a moment to exit by itself, then make sure
            handle = null;
            account(h.stats());
            // given a moment to exit by itself (unless the unit stops), then killed; its cgroup removed. On the host's
            // thread, which a stopping unit waits for: a loop task would be dropped when the loop shuts down
            long grace = core.isStopped() ? 0 : 2_000;
            host.launch(() -> host.finish(h, grace));
        }
        Work w;
        while ((w = inflight.pollFirst()) != null) { // unit stopping: nobody will answer them
            int len = w.data.readableBytes();
            w.data.release();
            w.recycle();
            s.uncharge(len);
        }
        discardBatch();
        closeRings();
        if (child != null) {
            child = null;
        }
        if (server != null) {
            server.close();
            server = null;
        }
        cleanup();
    }

    // ---- data

    /**
     * An input for the program: sent now if the sandbox takes it, else it waits in order. Results the sandbox has
     * published meanwhile are applied first: while the loop works through inputs, a WAKE frame from the sandbox is
     * read only once its tasks are done, and the sandbox would otherwise wait for room in the ring to the unit.
     */
    void accept(Work w) {
        if (toUnit != null && !awaitingSpill && (state == State.RUNNING || state == State.RETIRING)
            && toUnit.pending()) {
            try {
                drainRing();
            } catch (RuntimeException e) { // as the socket's handler ends it for the same error after a WAKE
                boolean protocol = e instanceof io.netty.handler.codec.DecoderException;
                ended(incarnation, (protocol ? "protocol error: " : "error applying its results: ") + e.getMessage(),
                    protocol);
            }
        }
        if (!(state == State.RUNNING && s.waiting.isEmpty() && s.timers.dueCount() == 0 && room() && send(w))) {
            s.waiting.add(w);
        }
    }

    private boolean room() {
        return !ending && inflight.size() < WINDOW_DATAGRAMS && inflightBytes < WINDOW_BYTES;
    }

    /**
     * Sends waiting datagrams while the sandbox has room, and the session's due timers. While a timer is due no
     * datagram is sent; its expiry goes once the sandbox has answered everything in flight (one expiry at a time),
     * and datagrams may follow it. The sandbox has then answered every entry before the expiry, so what the program
     * did to its timers (moved, cancelled, set more) is what the unit knows: an expiry is never stale and both
     * sides count the same timers. A timer entry sent again after a sandbox ended waits for an empty pipeline the
     * same way.
     */
    void pump() {
        while (state == State.RUNNING && room()) {
            if (s.timers.dueCount() > 0) {
                if (!inflight.isEmpty()) {
                    return; // the next results pump again
                }
                Work t = timerEntry(core.takeDue(s));
                if (!send(t)) {
                    s.waiting.addFirst(t); // goes first once the ring has room (the pipeline is empty)
                    return;
                }
                continue;
            }
            Work w = s.waiting.peek();
            if (w == null || w.timer && !inflight.isEmpty()) {
                return;
            }
            if (!send(w)) {
                return; // the ring is full: the next results pump again
            }
            s.waiting.poll();
        }
    }

    /** @return a BATCH entry for a timer's expiry: its data is the u64 timer id, charged like a datagram */
    private Work timerEntry(long timer) {
        ByteBuf id = core.allocator().directBuffer(8, 8).writeLong(timer);
        s.charge(8);
        Work w = Work.of(s, s.lastSequence, s.flowIds[0], id, false);
        w.timer = true;
        return w;
    }

    /** @return whether {@code w} was sent (false: the ring has no room now) */
    private boolean send(Work w) {
        if (toSandbox != null) {
            return sendRing(w);
        }
        w.tag = nextTag++;
        ByteBuf d = w.data;
        int len = d.readableBytes();
        if (batch != null && batchAt >= 0 && batch.writableBytes() < SandboxFrames.ENTRY_HEADER + len) {
            flush(); // a full BATCH goes now: growing the buffer would copy everything in it
        }
        if (batch == null) {
            batch = child.alloc().directBuffer(Math.max(BATCH_BYTES, len + 64));
        }
        if (batchAt < 0) {
            batchAt = SandboxFrames.beginFrame(batch, SandboxFrames.BATCH);
            batch.writeInt(0);
            batchCount = 0;
        }
        batch.writeLong(w.tag);
        batch.writeByte(w.timer ? SandboxFrames.FLAG_TIMER : w.control ? SandboxFrames.FLAG_CONTROL : 0);
        batch.writeInt(w.timer ? 0 : (int) w.flow.value());
        batch.writeInt(len);
        batch.writeBytes(d, d.readerIndex(), len);
        batchCount++;
        sent(w, len);
        if (batchCount >= SandboxFrames.MAX_BATCH || batch.readableBytes() >= BATCH_BYTES) {
            flush();
        } else if (!flushScheduled) {
            flushScheduled = true;
            core.execute(flushTask);
        }
        return true;
    }

    private void sent(Work w, int len) {
        if (inflight.isEmpty()) {
            lastProgress = System.nanoTime();
        }
        inflight.add(w);
        inflightBytes += len;
    }

    /**
     * Writes an entry into the BATCH record being built in the ring to the sandbox (a record is published when the
     * next entry does not fit its room, at {@link SandboxFrames#MAX_BATCH} entries, at {@link #EAGER_RECORD_BYTES}
     * when the sandbox has nothing else to do, or at the end of the loop's turn). An entry too large for the ring
     * goes as a BATCH frame on the socket, after a SPILL record.
     *
     * @return whether it was sent (false: no room in the ring now; the sandbox frees room before it answers)
     */
    private boolean sendRing(Work w) {
        ByteBuf d = w.data;
        int len = d.readableBytes();
        int entry = SandboxFrames.ENTRY_HEADER + len;
        if (ringBatchAt >= 0 && ringBatchPos + entry > ringBatchLimit) {
            flushRing();
        }
        if (ringBatchAt < 0) {
            int min = RingFile.RECORD_HEADER + 4 + entry;
            if (min > toSandbox.maxRecord()) {
                return spill(w);
            }
            int at;
            try {
                at = toSandbox.begin(min, BATCH_BYTES);
            } catch (RingException e) {
                ringBrokenBySandbox(e);
                return false;
            }
            if (at < 0) {
                return false;
            }
            ringBatchAt = at;
            ringBatchPos = at + RingFile.RECORD_HEADER + 4;
            ringBatchLimit = toSandbox.limit();
            ringBatchCount = 0;
        }
        w.tag = nextTag++;
        ByteBuffer b = toSandbox.data();
        int p = ringBatchPos;
        b.putLong(p, w.tag);
        b.put(p + 8, (byte) (w.timer ? SandboxFrames.FLAG_TIMER : w.control ? SandboxFrames.FLAG_CONTROL : 0));
        b.putInt(p + 9, w.timer ? 0 : (int) w.flow.value());
        b.putInt(p + 13, len);
        ringWriter.limit(p + entry).position(p + SandboxFrames.ENTRY_HEADER);
        d.getBytes(d.readerIndex(), ringWriter);
        ringBatchPos = p + entry;
        ringBatchCount++;
        sent(w, len);
        if (ringBatchCount >= SandboxFrames.MAX_BATCH
            || ringBatchPos - ringBatchAt >= EAGER_RECORD_BYTES && toSandbox.drained()) {
            flushRing();
        } else if (!flushScheduled) {
            flushScheduled = true;
            core.execute(flushTask);
        }
        return true;
    }

    /** Publishes the BATCH record being built; wakes the sandbox if it sleeps. */
    private void flushRing() {
        if (ringBatchAt < 0 || toSandbox == null) {
            return;
        }
        int size = ringBatchPos - ringBatchAt;
        toSandbox.data().putInt(ringBatchAt, size - 4).put(ringBatchAt + 4, SandboxFrames.BATCH)
            .putInt(ringBatchAt + 5, ringBatchCount);
        ringBatchAt = -1;
        if (toSandbox.commit(size)) {
            wake();
        }
    }

    private void wake() {
        if (child != null) {
            wakesSent++;
            ByteBuf f = child.alloc().directBuffer(5);
            SandboxFrames.endFrame(f, SandboxFrames.beginFrame(f, SandboxFrames.WAKE_SANDBOX));
            child.writeAndFlush(f);
        }
    }

    /** An entry too large for the ring: a SPILL record keeps its place, the entry goes as a BATCH frame. */
    private boolean spill(Work w) {
        int at;
        try {
            at = toSandbox.begin(RingFile.RECORD_HEADER, RingFile.RECORD_HEADER);
        } catch (RingException e) {
            ringBrokenBySandbox(e);
            return false;
        }
        if (at < 0) {
            return false;
        }
        toSandbox.data().putInt(at, 1).put(at + 4, (byte) RingFile.SPILL);
        if (toSandbox.commit(RingFile.RECORD_HEADER)) {
            wake(); // before the frame: a sleeping sandbox expects a WAKE first
        }
        w.tag = nextTag++;
        ByteBuf d = w.data;
        int len = d.readableBytes();
        ByteBuf f = child.alloc().directBuffer(9 + SandboxFrames.ENTRY_HEADER + len);
        int fa = SandboxFrames.beginFrame(f, SandboxFrames.BATCH);
        f.writeInt(1);
        f.writeLong(w.tag);
        f.writeByte(w.control ? SandboxFrames.FLAG_CONTROL : 0);
        f.writeInt((int) w.flow.value());
        f.writeInt(len);
        f.writeBytes(d, d.readerIndex(), len);
        SandboxFrames.endFrame(f, fa);
        child.writeAndFlush(f);
        sent(w, len);
        return true;
    }

    /** The sandbox wrote a head into the ring it could not have: ended as a protocol error (from the loop). */
    private void ringBrokenBySandbox(RingException e) {
        if (!ending) {
            ending = true;
            int inc = incarnation;
            core.execute(() -> ended(inc, "protocol error: " + e.getMessage(), true));
        }
    }

    private void flush() {
        flushScheduled = false;
        if (toSandbox != null) {
            flushRing();
            return;
        }
        if (batch == null || batchAt < 0 || child == null) {
            return;
        }
        batch.setInt(batchAt + 5, batchCount);
        SandboxFrames.endFrame(batch, batchAt);
        ByteBuf b = batch;
        batch = null;
        batchAt = -1;
        batchCount = 0;
        child.writeAndFlush(b);
    }

    private void discardBatch() {
        if (batch != null) {
            batch.release();
            batch = null;
        }
        batchAt = -1;
        batchCount = 0;
    }

    private void results(ByteBuf f) {
        applyResults(f);
        lastProgress = System.nanoTime();
        pump();
        maybeShutdown();
        core.sandboxProgress(s);
    }

    /**
     * The sandbox woke the unit (or a spilled RESULTS frame was applied): reads the ring to the unit up to its end
     * (or a SPILL record), then says it sleeps, reading again what arrived meanwhile.
     */
    private void woken() {
        do {
            drainRing();
        } while (toUnit != null && !awaitingSpill && !toUnit.sleep());
    }

    private void drainRing() {
        boolean any = false;
        while (toUnit != null && !awaitingSpill) {
            int at;
            try {
                at = toUnit.next();
            } catch (RingException e) {
                ringBroken = true;
                throw new CorruptedFrameException(e.getMessage());
            }
            if (at < 0) {
                break;
            }
            try {
                ringRecord(at);
            } catch (RuntimeException e) {
                ringBroken = true;
                throw e;
            }
            any = true;
        }
        if (any) {
            lastProgress = System.nanoTime();
            pump();
            maybeShutdown();
            core.sandboxProgress(s);
        }
    }

    /** One record of the ring to the unit, checked like a frame; released once applied. */
    private void ringRecord(int at) {
        int len = toUnit.recordLength();
        int type = toUnit.recordType();
        if (type == (SandboxFrames.RESULTS & 0xFF)) {
            if (state != State.RUNNING && state != State.RETIRING) {
                throw new CorruptedFrameException("RESULTS when " + state);
            }
            ByteBuf f = Unpooled.wrappedBuffer(toUnit.data().slice(at + RingFile.RECORD_HEADER, len - 1));
            try {
                applyResults(f);
            } finally {
                f.release();
            }
        } else if (type == RingFile.SPILL) {
            if (len != 1) {
                throw new CorruptedFrameException("SPILL record of length " + len);
            }
            awaitingSpill = true;
        } else {
            throw new CorruptedFrameException("unknown ring record type " + type);
        }
        toUnit.release();
    }

    private void applyResults(ByteBuf f) {
        SandboxFrames.need(f, 4, "RESULTS");
        long n = f.readUnsignedInt();
        if (n > inflight.size()) {
            throw new CorruptedFrameException("RESULTS for " + n + " datagrams, " + inflight.size() + " sent");
        }
        for (long i = 0; i < n; i++) {
            SandboxFrames.need(f, 17, "result");
            long tag = f.readLong();
            int status = f.readUnsignedByte();
            long cpu = f.readLong();
            Work in = inflight.peek();
            if (tag != in.tag) {
                throw new CorruptedFrameException("result for seq " + tag + ", expected " + in.tag);
            }
            if (status == 1) {
                String error = SandboxFrames.readString(f, "result error");
                s.programErrors++;
                core.countProgramError();
                s.lastError = error;
            } else if (status != 0) {
                throw new CorruptedFrameException("result status " + status);
            }
            if (cpu < 0) {
                throw new CorruptedFrameException("negative cpu time");
            }
            s.cpuNanos += cpu;
            sandboxCpuNanos += cpu;
            if (cpu > budgetMicros * 1000) {
                s.overBudgetCompleted++;
            }
            long seq; // what the results carry: a timer's, the last datagram's
            if (in.timer) {
                seq = s.lastSequence;
            } else {
                seq = in.sequence;
                if (seq != io.pando.link.UnitChannel.NO_SEQUENCE) {
                    s.lastSequence = seq;
                }
            }
            SandboxFrames.need(f, 2, "ops");
            int ops = f.readUnsignedShort();
            for (int k = 0; k < ops; k++) {
                op(f, seq);
            }
            inflight.poll();
            if (!in.timer && !in.control) {
                s.processed(seq);
            }
            answered++;
            int len = in.data.readableBytes();
            inflightBytes -= len;
            in.data.release();
            in.recycle();
            s.uncharge(len);
        }
        if (f.isReadable()) {
            throw new CorruptedFrameException(f.readableBytes() + " bytes after the results");
        }
    }

    private void op(ByteBuf f, long seq) {
        SandboxFrames.need(f, 1, "op");
        int kind = f.readUnsignedByte();
        switch (kind) {
            case SandboxFrames.OP_EMIT, SandboxFrames.OP_CONTROL -> {
                SandboxFrames.need(f, 4, "op flow");
                long flow = f.readUnsignedInt();
                io.pando.api.session.FlowId id = s.flowId(flow);
                if (id == null) {
                    throw new CorruptedFrameException("the session has no flow " + flow + "; its flows: "
                        + s.flowList());
                }
                int len = SandboxFrames.readLength(f, UnitCore.MAX_RESULT, "op data");
                ByteBuf copy = core.allocator().directBuffer(SandboxFrames.RESULT_HEADROOM + len);
                copy.setIndex(SandboxFrames.RESULT_HEADROOM, SandboxFrames.RESULT_HEADROOM).writeBytes(f, len);
                if (kind == SandboxFrames.OP_EMIT) {
                    core.emit(s, seq, id, copy);
                } else {
                    s.controlSent++;
                    s.events.control(core.id(), flow, copy);
                }
            }
            case SandboxFrames.OP_STATE_PUT -> {
                String key = SandboxFrames.readString(f, "state key");
                int len = SandboxFrames.readLength(f, UnitCore.MAX_STATE_VALUE, "state value");
                byte[] v = new byte[len];
                f.readBytes(v);
                try {
                    s.putState(key, v);
                } catch (IllegalArgumentException | IllegalStateException e) {
                    throw new CorruptedFrameException("state: " + e.getMessage());
                }
            }
            case SandboxFrames.OP_STATE_REMOVE -> {
                String key = SandboxFrames.readString(f, "state key");
                try {
                    s.putState(key, null);
                } catch (IllegalArgumentException e) {
                    throw new CorruptedFrameException("state: " + e.getMessage());
                }
            }
            case SandboxFrames.OP_TIMER_SET -> {
                SandboxFrames.need(f, 16, "TIMER_SET");
                long timer = f.readLong();
                long delay = f.readLong();
                try {
                    core.setTimer(s, timer, delay);
                } catch (IllegalArgumentException | IllegalStateException e) {
                    throw new CorruptedFrameException("TIMER_SET: " + e.getMessage());
                }
            }
            case SandboxFrames.OP_TIMER_CANCEL -> {
                SandboxFrames.need(f, 8, "TIMER_CANCEL");
                core.cancelTimer(s, f.readLong());
            }
            default -> throw new CorruptedFrameException("unknown op " + kind);
        }
    }

    /**
     * The connection ended without a report: the process's exit status, which usually follows within
     * milliseconds, says why better (e.g. out of memory); wait for it briefly.
     */
    private void lostConnection(int inc, String reason) {
        core.schedule(() -> ended(inc, reason, false), EXIT_WAIT_MS);
    }

    /** Periodic (unit loop): the backstop against a sandbox that stops answering. */
    void check(long now) {
        if (state != State.RUNNING && state != State.RETIRING || inflight.isEmpty()) {
            return;
        }
        double share = Math.min(1.0, limits.cpus());
        long cpuMicros = budgetMicros * inflight.size() + (answered < WARMUP_DATAGRAMS ? WARMUP_BUDGET_MICROS : 0);
        long deadline = BACKSTOP_BASE_MS * 1_000_000 + Math.min(120_000_000_000L, (long) (cpuMicros * 1000 / share));
        if (now - lastProgress > deadline) {
            ended(incarnation, "no answer for " + (now - lastProgress) / 1_000_000 + " ms with " + inflight.size()
                + " datagrams outstanding", false);
        }
    }

    /** @return the sandbox's accounting, added to the session's */
    Map<String, Long> counters() {
        Map<String, Long> m = new LinkedHashMap<>();
        m.put("sandbox_state", (long) state.ordinal());
        m.put("sandbox_pid", pid);
        m.put("sandbox_starts", starts);
        m.put("sandbox_ends", ends);
        m.put("sandbox_crashes", crashes);
        m.put("sandbox_start_failures", startFailures);
        m.put("sandbox_quarantines", quarantines);
        m.put("sandbox_start_ms", lastStartMillis);
        m.put("program_killed", killed);
        m.put("program_over_budget", overBudget);
        m.put("program_blocked", blocked);
        m.put("sandbox_protocol_errors", protocolErrors);
        m.put("sandbox_resent", resent);
        m.put("sandbox_inflight", (long) inflight.size());
        m.put("sandbox_rings", rings != null ? 1L : 0L);
        m.put("sandbox_ring_fallbacks", ringFallbacks);
        m.put("sandbox_wakes_sent", wakesSent);
        m.put("sandbox_wakes_received", wakesReceived);
        SandboxProcesses.Handle h = handle;
        Map<String, Long> live = h == null ? Map.of() : h.stats();
        m.put("sandbox_cgroup_cpu_ns", endedCpuNanos + live.getOrDefault("cpu_ns", 0L));
        m.put("sandbox_memory_peak_bytes", Math.max(memoryPeak, live.getOrDefault("memory_peak_bytes", 0L)));
        m.put("sandbox_memory_limit_bytes", live.getOrDefault("memory_limit_bytes", (long) limits.memoryMb() << 20));
        m.put("sandbox_oom_kills", oomKills + live.getOrDefault("oom_kills", 0L));
        m.put("sandbox_out_of_memory", outOfMemory);
        m.put("sandbox_throttled", throttled + live.getOrDefault("throttled", 0L));
        m.put("sandbox_cpu_weight", live.getOrDefault("cpu_weight", 0L));
        return m;
    }

    /** Frames from one sandbox connection; on the unit's loop. */
    private final class Handler extends SimpleChannelInboundHandler<ByteBuf> {
        private final int inc;

        Handler(int inc) {
            this.inc = inc;
        }

        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            connected(inc, ctx.channel());
        }

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, ByteBuf f) {
            if (inc != incarnation) {
                ctx.close();
                return;
            }
            if (!f.isReadable()) {
                throw new CorruptedFrameException("empty frame");
            }
            byte type = f.readByte();
            switch (type) {
                case SandboxFrames.READY -> ready(inc, f);
                case SandboxFrames.RESULTS -> {
                    if (state != State.RUNNING && state != State.RETIRING) {
                        throw new CorruptedFrameException("RESULTS when " + state);
                    }
                    if (rings == null) {
                        results(f);
                    } else { // a spilled frame: its SPILL record comes first in the ring
                        if (!awaitingSpill) {
                            drainRing();
                        }
                        if (!awaitingSpill) {
                            throw new CorruptedFrameException("RESULTS frame without a SPILL record in the ring");
                        }
                        awaitingSpill = false;
                        results(f);
                        woken();
                    }
                }
                case SandboxFrames.WAKE_UNIT -> {
                    if (f.isReadable() || rings == null) {
                        throw new CorruptedFrameException(rings == null ? "WAKE without rings" : "WAKE with a payload");
                    }
                    if (state != State.RUNNING && state != State.RETIRING) {
                        throw new CorruptedFrameException("WAKE when " + state);
                    }
                    wakesReceived++;
                    woken();
                }
                case SandboxFrames.OVER_BUDGET, SandboxFrames.BLOCKED -> {
                    SandboxFrames.need(f, 16, "report");
                    long tag = f.readLong();
                    long spent = f.readLong();
                    reportedTag = tag;
                    if (type == SandboxFrames.OVER_BUDGET) {
                        overBudget++;
                        endReason = "over its CPU budget of " + budgetMicros + " µs (" + spent / 1000
                            + " µs on one datagram)";
                    } else {
                        blocked++;
                        endReason = "blocked for " + spent / 1_000_000 + " ms on one datagram";
                    }
                }
                case SandboxFrames.FAILED -> {
                    String reason = SandboxFrames.readString(f, "FAILED");
                    endReason = "failed: " + reason;
                    ended(inc, endReason, false);
                }
                default -> throw new CorruptedFrameException("unknown frame type " + (type & 0xFF));
            }
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            lostConnection(inc, "the sandbox closed its connection");
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            boolean protocol = cause instanceof CorruptedFrameException
                || cause instanceof io.netty.handler.codec.TooLongFrameException
                || cause instanceof io.netty.handler.codec.DecoderException;
            if (protocol) {
                ended(inc, "protocol error: " + cause.getMessage(), true);
            } else {
                lostConnection(inc, "connection error: " + cause.getMessage());
            }
        }
    }
}
