package io.pando.unit.impl;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.EventLoop;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.nio.NioIoHandler;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.pando.api.policy.PacketScheduler;
import io.pando.api.program.ActiveProgram;
import io.pando.api.program.Datagram;
import io.pando.api.program.ProgramContext;
import io.pando.api.router.Isolation;
import io.pando.api.session.FlowId;
import io.pando.api.session.SessionId;
import io.pando.api.unit.UnitId;
import io.pando.api.unit.UnitLoad;
import io.pando.link.AggregationPort;
import io.pando.link.SessionEvents;
import io.pando.link.SessionPlan;
import io.pando.link.UnitChannel;
import io.pando.link.UnitPort;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.nio.ByteBuffer;
import java.time.Instant;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.Callable;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A parallel AR unit: takes a session's datagrams from the distribution unit, holds them in a shared buffer
 * pool with a quota per session, runs the session's active program on each, and sends the results through its
 * packet scheduler to the aggregation unit.
 *
 * <p><b>Threads.</b> Everything a session owns is used on the unit's one event-loop thread; other threads reach
 * it by submitting tasks (a datagram is submitted as its pooled {@link Work} record, so the hand-over allocates
 * nothing and takes no lock). Only the buffer accounting is shared, through atomics.
 *
 * <p><b>Buffer pool.</b> Each session reserves its quota in the pool when it opens (the pool refuses a session
 * that does not fit), so quotas are guaranteed. A session may go over its quota by what its sender had
 * already been granted when the unit reported it congested: that overflow is accepted and counted, never
 * dropped.
 *
 * <p><b>Link window.</b> At most {@code linkWindow} bytes of results are at the aggregation unit and not yet
 * sent on; beyond that results wait in the unit, where the scheduler decides which session's goes next.
 */
final class UnitCore implements UnitPort {

    private static final Logger LOG = System.getLogger(UnitCore.class.getName());
    private static final FlowId FLOW = FlowId.of(0);
    /** Largest result a program may emit. */
    static final int MAX_RESULT = 1 << 20;
    static final int MAX_STATE_VALUE = 64 * 1024;
    static final long MAX_STATE_BYTES = 1 << 20;

    private final UnitId id;
    private final long capacity;
    private final long linkWindow;
    private final ByteBufAllocator alloc;
    private final MultiThreadIoEventLoopGroup group;
    private final EventLoop loop;

    private final Map<String, ProgramFactory> programs = new ConcurrentHashMap<>();
    private final Map<String, SchedulerFactory> schedulers = new ConcurrentHashMap<>();
    private final Map<SessionId, UnitSession> sessions = new ConcurrentHashMap<>();
    private final AtomicLong pool = new AtomicLong();
    private final AtomicLong reserved = new AtomicLong();
    private final AtomicLong linkInFlight = new AtomicLong();
    private final AtomicBoolean drainScheduled = new AtomicBoolean();
    private final Runnable drainTask = this::drainTask;
    private final Context ctx = new Context();
    private volatile boolean linkBlocked;
    private volatile String schedulerName;
    private volatile String schedulerInUse = ArrivalOrderScheduler.NAME;
    private volatile double cpu;
    private volatile long queued;
    private volatile boolean stopped;
    private final SandboxHost sandboxes;
    private final String sandboxUnavailable;

    // loop
    private PacketScheduler scheduler = new ArrivalOrderScheduler();
    private SchedulerFactory schedulerFactory;
    private long busyNanos;
    private long sampledBusy;
    private long sampledAt = System.nanoTime();
    private long datagramsIn;
    private long bytesIn;
    private long datagramsOut;
    private long bytesOut;
    private long programErrors;
    private long schedulerMismatches;
    private long schedulerSwitches;

    /**
     * @param id the unit's id
     * @param capacity buffer pool size in bytes
     * @param linkWindow most result bytes at the aggregation unit at once
     * @param scheduler the name of the packet scheduler to use once it is registered
     */
    UnitCore(UnitId id, long capacity, long linkWindow, String scheduler, ByteBufAllocator alloc) {
        this(id, capacity, linkWindow, scheduler, alloc, null, "no sandbox runtime is configured for this unit");
    }

    /**
     * @param sandboxes what the unit's sandboxes share, or null if programs cannot run in a process here
     * @param sandboxUnavailable why not, when {@code sandboxes} is null
     */
    UnitCore(UnitId id, long capacity, long linkWindow, String scheduler, ByteBufAllocator alloc,
        SandboxHost sandboxes, String sandboxUnavailable) {
        if (capacity < 1) {
            throw new IllegalArgumentException("buffer capacity must be >= 1 byte, got " + capacity);
        }
        if (linkWindow < 1) {
            throw new IllegalArgumentException("link window must be >= 1 byte, got " + linkWindow);
        }
        this.id = id;
        this.capacity = capacity;
        this.linkWindow = linkWindow;
        this.alloc = alloc;
        this.schedulerName = scheduler;
        this.sandboxes = sandboxes;
        this.sandboxUnavailable = sandboxes != null && !Epoll.isAvailable()
            ? "Netty's epoll transport (Unix domain sockets) is not available: " + Epoll.unavailabilityCause()
            : sandboxUnavailable;
        IoHandlerFactory io = Epoll.isAvailable() ? EpollIoHandler.newFactory() : NioIoHandler.newFactory();
        this.group = new MultiThreadIoEventLoopGroup(1, new DefaultThreadFactory("pando-unit-" + id, true), io);
        this.loop = group.next();
        loop.scheduleAtFixedRate(this::sampleCpu, 100, 100, TimeUnit.MILLISECONDS);
    }

    /** Stops the unit; datagrams it still holds are released and counted in the log. */
    void stop() {
        stopped = true;
        try {
            onLoop(() -> {
                for (UnitSession s : sessions.values()) {
                    int lost = s.waiting.size() + s.out.size();
                    if (lost > 0) {
                        LOG.log(Level.WARNING, "unit {0} stopped with {1} datagrams of session {2} not processed",
                            id, lost, s.id);
                    }
                    abandon(s);
                }
                sessions.clear();
                return null;
            });
        } finally {
            group.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
            if (sandboxes != null) {
                sandboxes.stop();
            }
        }
    }

    private void abandon(UnitSession s) {
        Work w;
        while ((w = s.waiting.poll()) != null) {
            w.data.release();
            w.recycle();
        }
        while ((w = s.out.poll()) != null) {
            w.data.release();
            w.recycle();
        }
        unbindProgram(s);
        if (s.sandbox != null) {
            s.sandbox.close();
        }
        s.started.completeExceptionally(new IllegalStateException("unit " + id + " stopped"));
        s.closed.complete(null);
    }

    // ---- UnitPort

    @Override
    public UnitId id() {
        return id;
    }

    @Override
    public String location() {
        return "local";
    }

    @Override
    public UnitLoad load() {
        long used = Math.min(Math.max(pool.get(), 0), capacity);
        return new UnitLoad(id, Instant.now(), cpu, used, capacity, sessions.size(), queued);
    }

    @Override
    public String scheduler() {
        return schedulerInUse;
    }

    @Override
    public Set<String> programs() {
        return Collections.unmodifiableSet(new TreeSet<>(programs.keySet()));
    }

    @Override
    public Map<String, Long> counters() {
        return onLoop(() -> {
            Map<String, Long> m = new LinkedHashMap<>();
            m.put("sessions", (long) sessions.size());
            m.put("datagrams_in", datagramsIn);
            m.put("bytes_in", bytesIn);
            m.put("datagrams_out", datagramsOut);
            m.put("bytes_out", bytesOut);
            m.put("program_errors", programErrors);
            m.put("cpu_ns", busyNanos);
            m.put("buffer_bytes", pool.get());
            m.put("buffer_reserved", reserved.get());
            m.put("buffer_capacity", capacity);
            m.put("link_in_flight", linkInFlight.get());
            m.put("link_window", linkWindow);
            m.put("scheduler_switches", schedulerSwitches);
            m.put("scheduler_mismatches", schedulerMismatches);
            return m;
        });
    }

    @Override
    public UnitChannel open(SessionPlan plan, AggregationPort aggregation, SessionEvents events) {
        if (stopped) {
            throw new IllegalStateException("unit " + id + " is stopping");
        }
        long quota = plan.quotaBytes();
        long r = reserved.addAndGet(quota);
        if (r > capacity) {
            reserved.addAndGet(-quota);
            throw new IllegalStateException("unit " + id + ": the buffer pool cannot reserve " + quota
                + " bytes for session " + plan.id() + " (" + (r - quota) + " of " + capacity + " reserved)");
        }
        UnitSession s = new UnitSession(this, plan, events);
        if (sessions.putIfAbsent(plan.id(), s) != null) {
            reserved.addAndGet(-quota);
            throw new IllegalStateException("unit " + id + " already serves session " + plan.id());
        }
        try {
            s.output = aggregation.attach(plan.id(), id, s);
        } catch (RuntimeException e) {
            sessions.remove(plan.id());
            reserved.addAndGet(-quota);
            throw e;
        }
        execute(() -> bindProgram(s));
        if (isolation(plan, programs.get(plan.program())) == Isolation.PROCESS) {
            try { // a sandbox that cannot start refuses the session, with the reason
                s.started.get(SandboxRunner.START_TIMEOUT_MS + 5_000, TimeUnit.MILLISECONDS);
            } catch (ExecutionException | TimeoutException e) {
                abort(s);
                throw new IllegalStateException("unit " + id + ": the sandbox of program " + plan.program()
                    + " did not start: " + (e instanceof TimeoutException ? "timeout" : e.getCause().getMessage()), e);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                abort(s);
                throw new IllegalStateException("interrupted waiting for the sandbox", e);
            }
        }
        return s;
    }

    /** Undoes an open whose program could not start: nothing has reached the session yet. */
    private void abort(UnitSession s) {
        execute(() -> {
            s.closing = true;
            if (s.sandbox != null) {
                s.sandbox.close();
            }
            checkClosed(s);
        });
    }

    /**
     * @return where the session's program runs: as the plan says, else in a process for an upload and in-process
     *     for a program an administrator installed
     */
    static Isolation isolation(SessionPlan plan, ProgramFactory f) {
        return plan.execution().isolation().orElse(f == null || f.trusted() ? Isolation.IN_PROCESS : Isolation.PROCESS);
    }

    /**
     * Checks that the unit can run the session: its program is registered here and accepts the session's
     * parameters (a fresh instance's {@link ActiveProgram#validate}).
     */
    @Override
    public void validate(SessionPlan plan) {
        ProgramFactory f = programs.get(plan.program());
        if (f == null) {
            throw new IllegalArgumentException("no active program '" + plan.program() + "' on unit " + id
                + "; registered: " + programs());
        }
        if (isolation(plan, f) == Isolation.PROCESS) {
            if (sandboxes == null || sandboxUnavailable != null) {
                throw new IllegalArgumentException("unit " + id + " cannot run programs in a process: "
                    + (sandboxUnavailable != null ? sandboxUnavailable : "no sandbox runtime"));
            }
            try {
                f.jar(sandboxes.jarDirectory());
            } catch (UnsupportedOperationException | java.io.IOException e) {
                throw new IllegalArgumentException("program " + plan.program() + " cannot run in a process: "
                    + e.getMessage());
            }
            return; // an upload's own validate runs in its sandbox, when the session opens
        }
        ActiveProgram p = f.get();
        try {
            p.validate(plan.parameters());
        } finally {
            f.unget(p);
        }
    }

    @Override
    public void selectScheduler(String name) {
        if (!schedulers.containsKey(name)) {
            throw new IllegalArgumentException("no packet scheduler '" + name + "' on unit " + id + "; registered: "
                + new TreeSet<>(schedulers.keySet()));
        }
        schedulerName = name;
        onLoop(() -> {
            rebindScheduler();
            return null;
        });
    }

    // ---- programs and schedulers come and go (DS, any thread)

    void addProgram(String name, ProgramFactory factory) {
        programs.put(name, factory);
        if (stopped) {
            return;
        }
        execute(() -> {
            for (UnitSession s : sessions.values()) {
                if (s.program == null && s.sandbox == null && s.plan.program().equals(name)) {
                    bindProgram(s);
                }
            }
        });
    }

    /** Returns once no session uses the factory's instances any more. */
    void removeProgram(String name, ProgramFactory factory) {
        programs.remove(name, factory);
        if (stopped) {
            return; // the unit released every instance when it stopped
        }
        onLoop(() -> {
            for (UnitSession s : sessions.values()) {
                if (s.programFactory == factory) {
                    unbindProgram(s);
                    s.programSwaps++;
                    bindProgram(s); // another provider of the same name, if any
                } else if (s.sandbox != null && s.sandbox.program() == factory) {
                    s.sandbox.retire(() -> { // the sandbox answers what it has; the rest waits for the next one
                        s.sandbox = null;
                        s.programSwaps++;
                        bindProgram(s);
                    });
                }
            }
            return null;
        });
    }

    void addScheduler(String name, SchedulerFactory factory) {
        schedulers.put(name, factory);
        if (name.equals(schedulerName) && !stopped) {
            execute(this::rebindScheduler);
        }
    }

    /** Returns once the unit no longer uses the factory's instance. */
    void removeScheduler(String name, SchedulerFactory factory) {
        schedulers.remove(name, factory);
        if (stopped) {
            return;
        }
        onLoop(() -> {
            if (schedulerFactory == factory) {
                rebindScheduler();
            }
            return null;
        });
    }

    // ---- loop

    private void bindProgram(UnitSession s) {
        if (s.program != null || s.sandbox != null || s.closed.isDone()) {
            return;
        }
        ProgramFactory f = programs.get(s.plan.program());
        if (f == null) {
            return; // held until the program is registered
        }
        if (isolation(s.plan, f) == Isolation.PROCESS) {
            s.isolation = Isolation.PROCESS.label();
            if (sandboxes == null || sandboxUnavailable != null) {
                s.started.completeExceptionally(new IllegalStateException(sandboxUnavailable));
                return;
            }
            SandboxRunner r = new SandboxRunner(this, s, f, sandboxes);
            s.sandbox = r;
            r.firstReady.whenComplete((v, e) -> {
                if (e == null) {
                    s.started.complete(null);
                } else {
                    s.started.completeExceptionally(e);
                }
            });
            r.start();
            return;
        }
        s.isolation = Isolation.IN_PROCESS.label();
        try {
            s.program = f.get();
            s.programFactory = f;
        } catch (RuntimeException e) {
            s.programErrors++;
            programErrors++;
            s.lastError = String.valueOf(e);
            LOG.log(Level.WARNING, "unit " + id + ": program " + s.plan.program() + " of session " + s.id
                + " could not be instantiated; its datagrams are held", e);
            return;
        }
        s.started.complete(null);
        Work w;
        while (s.program != null && (w = s.waiting.poll()) != null) {
            run(s, w);
        }
        drainOutputs();
        checkClosed(s);
    }

    private void unbindProgram(UnitSession s) {
        if (s.program != null) {
            try {
                s.programFactory.unget(s.program);
            } catch (RuntimeException e) {
                LOG.log(Level.DEBUG, "unget of a program instance failed", e);
            }
            s.program = null;
            s.programFactory = null;
        }
    }

    private void rebindScheduler() {
        SchedulerFactory f = schedulers.get(schedulerName);
        if (f == schedulerFactory && f != null) {
            return;
        }
        PacketScheduler next;
        String name;
        if (f == null) {
            if (schedulerFactory == null) {
                return; // already on the fallback
            }
            next = new ArrivalOrderScheduler();
            name = ArrivalOrderScheduler.NAME;
        } else {
            next = f.get();
            name = schedulerName;
        }
        for (UnitSession s : sessions.values()) { // hand the queued results over, each session in order
            for (Work w : s.out) {
                next.enqueued(s.id, w.data.readableBytes());
            }
        }
        if (schedulerFactory != null) {
            try {
                schedulerFactory.unget(scheduler);
            } catch (RuntimeException e) {
                LOG.log(Level.DEBUG, "unget of a scheduler failed", e);
            }
        }
        scheduler = next;
        schedulerFactory = f;
        schedulerInUse = name;
        schedulerSwitches++;
        drainOutputs();
    }

    /** Loop: a datagram arrives from the distribution unit. */
    void onInput(Work w) {
        UnitSession s = w.session;
        int len = w.data.readableBytes();
        s.datagramsIn++;
        s.bytesIn += len;
        datagramsIn++;
        bytesIn += len;
        if (w.control) {
            s.controlIn++;
        }
        if (stopped || s.closed.isDone()) { // came after the session (or the unit) was closed: nobody takes it
            s.lostAfterClose++;
            w.data.release();
            w.recycle();
            s.uncharge(len);
            return;
        }
        if (s.sandbox != null) {
            s.sandbox.accept(w);
            return;
        }
        if (s.program == null || !s.waiting.isEmpty()) {
            s.waiting.add(w);
            return;
        }
        run(s, w);
        drainOutputs();
        if (s.closing) {
            checkClosed(s);
        }
    }

    private void run(UnitSession s, Work w) {
        ByteBuf d = w.data;
        int len = d.readableBytes();
        Datagram in = Datagram.wrap(FLOW, w.control, d.nioBuffer(d.readerIndex(), len));
        ctx.begin(s, w.sequence);
        long t0 = System.nanoTime();
        try {
            s.program.process(in, ctx);
        } catch (Throwable t) {
            s.programErrors++;
            programErrors++;
            s.lastError = String.valueOf(t);
            if (s.programErrors == 1 || s.programErrors % 10_000 == 0) {
                LOG.log(t instanceof VirtualMachineError ? Level.ERROR : Level.WARNING, "unit " + id
                    + ": program " + s.plan.program() + " of session " + s.id + " failed ("
                    + s.programErrors + " errors so far)", t);
            }
        } finally {
            long spent = System.nanoTime() - t0;
            if (spent > s.budgetNanos) {
                s.overBudgetCompleted++;
            }
            s.cpuNanos += spent;
            busyNanos += spent;
            ctx.end();
            d.release();
            w.recycle();
            s.uncharge(len);
        }
    }

    /**
     * Loop: sends results to the aggregation unit in scheduler order while the link window has room for the next
     * one (a result larger than the whole window goes alone).
     */
    private void drainOutputs() {
        PacketScheduler sch = scheduler;
        while (true) {
            while (true) {
                Optional<SessionId> next = sch.next();
                if (next.isEmpty()) {
                    return;
                }
                SessionId sid = next.get();
                UnitSession s = sessions.get(sid);
                Work w = s == null ? null : s.out.peek();
                if (w == null) {
                    schedulerMismatches++; // the scheduler names a session with nothing queued: resync
                    sch.dequeued(sid, 0);
                    continue;
                }
                int len = w.data.readableBytes();
                long inFlight = linkInFlight.get();
                if (inFlight > 0 && inFlight + len > linkWindow) {
                    break;
                }
                s.out.poll();
                sch.dequeued(sid, len);
                linkInFlight.addAndGet(len);
                s.atAggregation.addAndGet(len);
                s.datagramsOut++;
                s.bytesOut += len;
                datagramsOut++;
                bytesOut += len;
                ByteBuf data = w.data;
                long seq = w.sequence;
                w.recycle();
                s.output.deliver(seq, data);
            }
            linkBlocked = true;
            if (linkInFlight.get() > 0) {
                return; // the next release schedules a drain
            }
            linkBlocked = false;
        }
    }

    private void drainTask() {
        drainScheduled.set(false);
        linkBlocked = false;
        drainOutputs();
        for (UnitSession s : sessions.values()) {
            if (s.closing) {
                checkClosed(s);
            }
        }
    }

    /** Loop: completes a closing session's close once it has nothing left anywhere. */
    void checkClosed(UnitSession s) {
        if (!s.closing || !s.drained() || s.closed.isDone()) {
            return;
        }
        sessions.remove(s.id, s);
        reserved.addAndGet(-s.quota);
        unbindProgram(s);
        if (s.sandbox != null) {
            s.sandbox.close();
        }
        Map<String, Long> acct = s.snapshot();
        LOG.log(Level.INFO, "unit {0}: session {1} closed: {2}", id, s.id, acct);
        s.closed.complete(null);
    }

    /** Loop: queues a result of the session for the scheduler; {@code data} is owned by the unit from here. */
    void emit(UnitSession s, long sequence, ByteBuf data) {
        int len = data.readableBytes();
        s.charge(len);
        s.out.add(Work.of(s, sequence, data, false));
        scheduler.enqueued(s.id, len);
    }

    void countProgramError() {
        programErrors++;
    }

    MultiThreadIoEventLoopGroup loopGroup() {
        return group;
    }

    ByteBufAllocator allocator() {
        return alloc;
    }

    /** Runs a task on the loop after a delay (nothing once the unit stopped). */
    void schedule(Runnable task, long millis) {
        try {
            loop.schedule(task, millis, TimeUnit.MILLISECONDS);
        } catch (java.util.concurrent.RejectedExecutionException e) {
            LOG.log(Level.DEBUG, "unit stopped; scheduled task dropped", e);
        }
    }

    /** Runs a task on the loop unless the unit has stopped. */
    void executeIfRunning(Runnable task) {
        try {
            loop.execute(task);
        } catch (java.util.concurrent.RejectedExecutionException e) {
            LOG.log(Level.DEBUG, "unit stopped; task dropped", e);
        }
    }

    /** Loop: a session's sandbox answered: results may go on and the session may now be drained. */
    void sandboxProgress(UnitSession s) {
        drainOutputs();
        if (s.closing) {
            checkClosed(s);
        }
    }

    // ---- called from other threads

    void execute(Runnable task) {
        loop.execute(task);
    }

    /** Runs a task on the loop and waits for it (at most 10 s). */
    <T> T onLoop(Callable<T> task) {
        if (loop.inEventLoop()) {
            try {
                return task.call();
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }
        try {
            return loop.submit(task).get(10, TimeUnit.SECONDS);
        } catch (java.util.concurrent.RejectedExecutionException e) {
            throw new IllegalStateException("unit " + id + " has stopped", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted waiting for unit " + id, e);
        } catch (ExecutionException e) {
            throw new IllegalStateException("unit " + id + ": " + e.getCause(), e.getCause());
        } catch (TimeoutException e) {
            throw new IllegalStateException("unit " + id + " did not answer within 10 s", e);
        }
    }

    boolean isStopped() {
        return stopped;
    }

    void poolCharged(long bytes) {
        pool.addAndGet(bytes);
    }

    /** The aggregation unit sent results on: room in the link window. */
    void linkReleased(int bytes, boolean closing) {
        linkInFlight.addAndGet(-bytes);
        if ((linkBlocked || closing) && drainScheduled.compareAndSet(false, true)) {
            loop.execute(drainTask);
        }
    }

    private void sampleCpu() {
        long now = System.nanoTime();
        long busy = busyNanos;
        double c = (double) (busy - sampledBusy) / Math.max(1, now - sampledAt);
        cpu = Math.max(0.0, Math.min(1.0, c));
        sampledBusy = busy;
        sampledAt = now;
        long n = 0;
        for (UnitSession s : sessions.values()) {
            n += s.waiting.size() + s.out.size();
            if (s.sandbox != null) {
                n += s.sandbox.inflight();
                s.sandbox.check(now);
            }
        }
        queued = n;
    }

    /** The program's view of its session while it processes one datagram (loop only, reused). */
    private final class Context implements ProgramContext {
        private UnitSession s;
        private long sequence;

        void begin(UnitSession session, long seq) {
            s = session;
            sequence = seq;
        }

        void end() {
            s = null;
        }

        private UnitSession current() {
            UnitSession c = s;
            if (c == null) {
                throw new IllegalStateException("the program context is valid only while process() runs");
            }
            return c;
        }

        @Override
        public SessionId session() {
            return current().id;
        }

        @Override
        public Map<String, String> parameters() {
            return current().plan.parameters();
        }

        @Override
        public void emit(FlowId flow, ByteBuffer data) {
            UnitSession c = current();
            checkFlow(flow);
            int len = data.remaining();
            if (len > MAX_RESULT) {
                throw new IllegalArgumentException("a result has at most " + MAX_RESULT + " bytes, got " + len);
            }
            ByteBuf copy = alloc.directBuffer(len);
            copy.writeBytes(data.duplicate());
            UnitCore.this.emit(c, sequence, copy);
        }

        @Override
        public Optional<byte[]> state(String key) {
            checkKey(key);
            byte[] v = current().state.get(key);
            return v == null ? Optional.empty() : Optional.of(v.clone());
        }

        @Override
        public void putState(String key, byte[] value) {
            checkKey(key);
            current().putState(key, value == null ? null : value.clone());
        }

        @Override
        public void sendControl(FlowId flow, ByteBuffer data) {
            UnitSession c = current();
            checkFlow(flow);
            int len = data.remaining();
            if (len > MAX_RESULT) {
                throw new IllegalArgumentException("control information has at most " + MAX_RESULT + " bytes, got "
                    + len);
            }
            ByteBuf copy = alloc.directBuffer(len);
            copy.writeBytes(data.duplicate());
            c.controlSent++;
            c.events.control(id, copy);
        }

        /** Sessions have one flow today, flow 0 (multi-flow sessions come with the control unit). */
        private void checkFlow(FlowId flow) {
            if (flow == null || !flow.equals(FLOW)) {
                throw new IllegalArgumentException("session has no flow " + flow + "; its flows: [" + FLOW + "]");
            }
        }

        private void checkKey(String key) {
            if (key == null || key.isEmpty() || key.length() > MAX_KEY_LENGTH) {
                throw new IllegalArgumentException("a state key has 1 to " + MAX_KEY_LENGTH + " characters");
            }
        }
    }
}
