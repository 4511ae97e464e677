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
import io.pando.link.SessionHandover;
import io.pando.link.SessionPlan;
import io.pando.link.UnitChannel;
import io.pando.link.UnitPort;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.nio.ByteBuffer;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
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
 * <p><b>Timers.</b> A program's timers belong to its session on this unit, whichever execution environment runs
 * it: they wait in one heap per unit, watched by one task on the loop; an expired timer is <em>due</em> until the
 * program can be called ({@link ActiveProgram#onTimer}, like a datagram: same budget, errors counted the same,
 * results through the same scheduler path, carrying the sequence of the last datagram processed). They outlive a
 * program swap and a sandbox restart, and are discarded (counted) when the session closes.
 *
 * <p><b>Migration.</b> A session that leaves ({@link UnitSession#handOver()}) stops taking datagrams; once the
 * program has processed (or, in a sandbox, answered) everything delivered before, its state, timers and last
 * sequence are exported, the program stops, and the session closes once its results have left. A session that
 * arrives ({@link #openForHandover}) holds its datagrams in the queue the unit uses while a program is absent, charged
 * to its quota, until {@link UnitSession#takeOver} installs the state; then the program starts (a sandbox gets the
 * state and timers in its INIT) and processes them in order.
 *
 * <p><b>Link window.</b> At most {@code linkWindow} bytes of results are at the aggregation unit and not yet
 * sent on; beyond that results wait in the unit, where the scheduler decides which session's goes next.
 */
final class UnitCore implements UnitPort {

    private static final Logger LOG = System.getLogger(UnitCore.class.getName());
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
    private final TimerHeap timerHeap = new TimerHeap();
    private final Runnable timerTask = this::onTimers;
    /** Sessions with an acknowledgement to tell (loop); the queue grows once and is reused. */
    private final java.util.ArrayDeque<UnitSession> ackReady = new java.util.ArrayDeque<>();
    private final Runnable ackFlush = this::flushAcknowledgements;
    private boolean ackFlushScheduled;
    private volatile boolean linkBlocked;
    private volatile String schedulerName;
    private volatile String schedulerInUse = ArrivalOrderScheduler.NAME;
    private volatile double cpu;
    private volatile long queued;
    private volatile boolean stopped;
    private final SandboxHost sandboxes;
    private final String sandboxUnavailable;

    // loop
    /**
     * The sessions that may hold queued work or run a sandbox: listed when they get either, unlisted by
     * {@link #sampleCpu} once they have neither. The periodic sample walks these, not every session, so an idle
     * session costs the unit nothing between datagrams.
     */
    private final ArrayList<UnitSession> busySessions = new ArrayList<>();
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
    private long timerOrder;
    /** Whether a timer task is scheduled, and for when (nanoTime). */
    private boolean timerArmed;
    private long timerArmedFor;
    private long timersSet;
    private long timersFired;
    private long timersCancelled;
    private long timersDiscarded;

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
        discardTimers(s);
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
            long set = 0;
            for (UnitSession s : sessions.values()) {
                set += s.timers.size();
            }
            m.put("timers", set);
            m.put("timers_set", timersSet);
            m.put("timers_fired", timersFired);
            m.put("timers_cancelled", timersCancelled);
            m.put("timers_discarded", timersDiscarded);
            return m;
        });
    }

    @Override
    public UnitChannel open(SessionPlan plan, AggregationPort aggregation, SessionEvents events) {
        return open(plan, aggregation, events, false);
    }

    @Override
    public boolean migrates() {
        return true;
    }

    @Override
    public UnitChannel openForHandover(SessionPlan plan, AggregationPort aggregation, SessionEvents events) {
        return open(plan, aggregation, events, true);
    }

    private UnitSession open(SessionPlan plan, AggregationPort aggregation, SessionEvents events, boolean handover) {
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
        s.awaitingHandover = handover;
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
        if (handover) {
            return s; // the program starts with the state it kept on the unit it leaves (takeOver)
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
            discardTimers(s);
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
                        listBusy(s); // what the sandbox left waits for the next binding
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
        if (s.program != null || s.sandbox != null || s.closed.isDone() || s.awaitingHandover || s.handedOver) {
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
            listBusy(s);
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
        fireDue(s);
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
        if (s.handedOver) { // the session left for another unit: the distribution unit sends nothing here any more
            s.lateAfterHandover++;
            w.data.release();
            w.recycle();
            s.uncharge(len);
            return;
        }
        if (s.awaitingHandover) {
            s.heldForHandover++; // waits below, with those held before, until the state arrives
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
            listBusy(s);
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
        if (w.timer) { // an expiry a sandbox did not answer, and the program runs in-process now
            long timer = d.getLong(d.readerIndex());
            d.release();
            w.recycle();
            s.uncharge(len);
            runTimer(s, timer);
            return;
        }
        Datagram in = Datagram.wrap(w.flow, w.control, d.nioBuffer(d.readerIndex(), len));
        ctx.begin(s, w.sequence);
        if (w.sequence != UnitChannel.NO_SEQUENCE) {
            s.lastSequence = w.sequence;
        }
        long seq = w.control ? UnitChannel.NO_SEQUENCE : w.sequence;
        long t0 = System.nanoTime();
        try {
            s.program.process(in, ctx);
        } catch (Throwable t) {
            programFailed(s, t);
        } finally {
            spent(s, t0);
            d.release();
            w.recycle();
            s.uncharge(len);
        }
        s.processed(seq);
    }

    /** Calls the program for an expired timer, as {@link #run} does for a datagram. */
    private void runTimer(UnitSession s, long timer) {
        ctx.begin(s, s.lastSequence);
        long t0 = System.nanoTime();
        try {
            s.program.onTimer(timer, ctx);
        } catch (Throwable t) {
            programFailed(s, t);
        } finally {
            spent(s, t0);
        }
    }

    private void programFailed(UnitSession s, Throwable t) {
        s.programErrors++;
        programErrors++;
        s.lastError = String.valueOf(t);
        if (s.programErrors == 1 || s.programErrors % 10_000 == 0) {
            LOG.log(t instanceof VirtualMachineError ? Level.ERROR : Level.WARNING, "unit " + id
                + ": program " + s.plan.program() + " of session " + s.id + " failed ("
                + s.programErrors + " errors so far)", t);
        }
    }

    private void spent(UnitSession s, long t0) {
        long spent = System.nanoTime() - t0;
        if (spent > s.budgetNanos) {
            s.overBudgetCompleted++;
        }
        s.cpuNanos += spent;
        busyNanos += spent;
        ctx.end();
    }

    // ---- timers (loop)

    /**
     * Sets or moves a timer of the session.
     *
     * @throws IllegalArgumentException if the delay is outside [0, MAX_TIMER_DELAY_MICROS]
     * @throws IllegalStateException if the timer is new and the session has MAX_TIMERS set
     */
    void setTimer(UnitSession s, long timer, long delayMicros) {
        if (delayMicros < 0 || delayMicros > ProgramContext.MAX_TIMER_DELAY_MICROS) {
            throw new IllegalArgumentException("a timer's delay is in [0, " + ProgramContext.MAX_TIMER_DELAY_MICROS
                + "] µs, got " + delayMicros);
        }
        SessionTimers ts = s.timers;
        Timer t = ts.get(timer);
        if (t == null) {
            if (ts.size() >= ProgramContext.MAX_TIMERS) {
                throw new IllegalStateException("at most " + ProgramContext.MAX_TIMERS + " timers may be set at one "
                    + "time; session " + s.id + " has " + ts.size() + " (cancel one, or move one by setting its id "
                    + "again)");
            }
            t = ts.add(timer);
        } else if (t.due) {
            ts.unlinkDue(t);
        } else {
            timerHeap.remove(t);
        }
        t.deadline = System.nanoTime() + delayMicros * 1000;
        t.order = ++timerOrder;
        timerHeap.add(t);
        ts.set++;
        timersSet++;
        armTimers();
    }

    /** Cancels a timer of the session; nothing if it is not set. */
    void cancelTimer(UnitSession s, long timer) {
        Timer t = s.timers.get(timer);
        if (t == null) {
            return;
        }
        if (t.heapIndex >= 0) {
            timerHeap.remove(t);
        }
        s.timers.remove(t);
        s.timers.cancelled++;
        timersCancelled++;
    }

    /** Takes the session's first due timer for the program: it is no longer set. @return its id */
    long takeDue(UnitSession s) {
        Timer t = s.timers.firstDue();
        long timer = t.id;
        s.timers.remove(t);
        s.timers.fired++;
        timersFired++;
        return timer;
    }

    /** The session closes (or the unit stops): its timers are discarded and counted. */
    private void discardTimers(UnitSession s) {
        timersDiscarded += s.timers.clear(timerHeap);
    }

    /** Schedules the timer task for the earliest deadline unless one is scheduled for it or earlier. */
    private void armTimers() {
        Timer head = timerHeap.peek();
        if (head == null || timerArmed && head.deadline - timerArmedFor >= 0) {
            return;
        }
        timerArmed = true;
        timerArmedFor = head.deadline;
        try {
            loop.schedule(timerTask, Math.max(0, head.deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
        } catch (java.util.concurrent.RejectedExecutionException e) {
            LOG.log(Level.DEBUG, "unit stopped; timer task dropped", e);
        }
    }

    /** Loop: timers whose deadline passed become due; their programs are called when they can be. */
    private void onTimers() {
        timerArmed = false;
        long now = System.nanoTime();
        Timer t;
        while ((t = timerHeap.peek()) != null && t.deadline - now <= 0) {
            timerHeap.poll();
            UnitSession s = t.session;
            s.timers.markDue(t);
            if (s.sandbox != null) {
                s.sandbox.pump();
            } else {
                fireDue(s);
            }
        }
        armTimers();
    }

    /**
     * Loop: calls an in-process program for its due timers, if it is bound and has no datagrams waiting (else they
     * fire once those are processed).
     */
    private void fireDue(UnitSession s) {
        if (s.sandbox != null || s.timers.dueCount() == 0) {
            return;
        }
        boolean ran = false;
        while (s.program != null && s.waiting.isEmpty() && s.timers.dueCount() > 0) {
            runTimer(s, takeDue(s));
            ran = true;
        }
        if (ran) {
            drainOutputs();
            if (s.closing) {
                checkClosed(s);
            }
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
                long flow = w.flow.value();
                w.recycle();
                s.output.deliver(seq, flow, data);
                s.handed++;
                s.checkAcknowledged();
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

    // ---- migration (loop)

    /** Loop: the session leaves this unit; {@code f} completes with its state once the program is done. */
    void handOver(UnitSession s, CompletableFuture<SessionHandover> f) {
        if (s.handover != null || s.closed.isDone()) {
            f.completeExceptionally(new IllegalStateException("unit " + id + ": session " + s.id
                + (s.handover != null ? " is already being handed over" : " is closed")));
            return;
        }
        s.handover = f;
        s.closing = true;
        checkClosed(s);
    }

    /**
     * Loop: exports a leaving session's state once the program processed (or its sandbox answered) everything
     * delivered before, and stops the program; its results still go out before the session closes.
     */
    private void checkHandover(UnitSession s) {
        CompletableFuture<SessionHandover> f = s.handover;
        if (f == null || s.handedOver || s.awaitingHandover || !s.waiting.isEmpty()
            || s.sandbox != null && (!s.sandbox.idle() || s.timers.dueCount() > 0)) {
            return;
        }
        long now = System.nanoTime();
        Map<Long, Long> timers = new HashMap<>();
        for (long t : s.timers.ids()) {
            Timer timer = s.timers.get(t);
            timers.put(t, timer.due ? 0L : Math.max(0, (timer.deadline - now) / 1000));
        }
        int n = s.timers.clear(timerHeap);
        s.timers.discarded -= n; // they go on elsewhere
        s.timersHandedOver += n;
        SessionHandover h = new SessionHandover(new HashMap<>(s.state), timers,
            s.datagramsIn == 0 ? UnitChannel.NO_SEQUENCE : s.lastSequence);
        s.handedOver = true;
        unbindProgram(s);
        if (s.sandbox != null) {
            s.sandbox.close();
        }
        LOG.log(Level.INFO, "unit {0}: session {1} handed over ({2} state bytes, {3} timers)", id, s.id,
            s.stateBytes, n);
        f.complete(h);
    }

    /** Loop: an arriving session gets the state its program kept elsewhere and starts on what it held. */
    void takeOver(UnitSession s, SessionHandover h) {
        if (!s.awaitingHandover) {
            throw new IllegalStateException("unit " + id + ": session " + s.id + " is not waiting for a hand-over");
        }
        long bytes = h.stateBytes();
        if (bytes > MAX_STATE_BYTES) {
            throw new IllegalArgumentException("unit " + id + ": session state is limited to " + MAX_STATE_BYTES
                + " bytes, the hand-over has " + bytes);
        }
        s.state.clear();
        s.state.putAll(h.state());
        s.stateBytes = bytes;
        if (h.lastSequence() != UnitChannel.NO_SEQUENCE) {
            s.lastSequence = h.lastSequence();
        }
        for (Map.Entry<Long, Long> t : h.timerDelaysMicros().entrySet()) {
            setTimer(s, t.getKey(), Math.min(t.getValue(), ProgramContext.MAX_TIMER_DELAY_MICROS));
            s.timersTakenOver++;
        }
        s.awaitingHandover = false;
        bindProgram(s);
    }

    /** Loop: completes a closing session's close once it has nothing left anywhere. */
    void checkClosed(UnitSession s) {
        checkHandover(s);
        if (!s.closing || !s.drained() || s.closed.isDone()) {
            return;
        }
        sessions.remove(s.id, s);
        reserved.addAndGet(-s.quota);
        discardTimers(s);
        unbindProgram(s);
        if (s.sandbox != null) {
            s.sandbox.close();
        }
        Map<String, Long> acct = s.snapshot();
        LOG.log(Level.INFO, "unit {0}: session {1} closed: {2}", id, s.id, acct);
        s.closed.complete(null);
    }

    /**
     * Loop: queues a result of the session for the scheduler; {@code data} is owned by the unit from here.
     *
     * @param flow one of the session's flow ids
     */
    void emit(UnitSession s, long sequence, FlowId flow, ByteBuf data) {
        int len = data.readableBytes();
        s.charge(len);
        s.out.add(Work.of(s, sequence, flow, data, false));
        s.emitted++;
        listBusy(s);
        scheduler.enqueued(s.id, len);
    }

    /**
     * Loop: the session has an acknowledgement to tell; it is told once the tasks already queued on the loop ran
     * (the datagrams that came in a burst are acknowledged together, by the last of them).
     */
    void acknowledgeLater(UnitSession s) {
        ackReady.add(s);
        if (!ackFlushScheduled) {
            ackFlushScheduled = true;
            try {
                loop.execute(ackFlush);
            } catch (java.util.concurrent.RejectedExecutionException e) { // the unit stopped: nothing to tell
                ackFlushScheduled = false;
            }
        }
    }

    /** Loop: tells each session's newest acknowledgement to its aggregation channel. */
    private void flushAcknowledgements() {
        ackFlushScheduled = false;
        UnitSession s;
        while ((s = ackReady.poll()) != null) {
            s.ackQueued = false;
            if (s.output != null && s.readyAck != UnitChannel.NO_SEQUENCE) {
                s.acknowledgements++;
                s.output.processed(s.readyAck);
            }
        }
    }

    /** Loop: the session holds queued work or runs a sandbox: {@link #sampleCpu} looks at it until it does not. */
    private void listBusy(UnitSession s) {
        if (!s.listedBusy) {
            s.listedBusy = true;
            busySessions.add(s);
        }
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
        int keep = 0;
        for (int i = 0, size = busySessions.size(); i < size; i++) {
            UnitSession s = busySessions.get(i);
            long q = s.waiting.size() + s.out.size();
            if (s.sandbox != null) {
                q += s.sandbox.inflight();
                s.sandbox.check(now);
            }
            n += q;
            if ((q > 0 || s.sandbox != null) && sessions.get(s.id) == s) {
                busySessions.set(keep++, s);
            } else {
                s.listedBusy = false;
            }
        }
        busySessions.subList(keep, busySessions.size()).clear();
        queued = n;
    }

    /** The program's view of its session while it processes one datagram (loop only, reused). */
    private final class Context implements ProgramContext {
        private UnitSession s;
        private long sequence;

        /** @param seq the sequence results carry */
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
                throw new IllegalStateException("the program context is valid only while process() or onTimer() runs");
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
            FlowId f = checkFlow(c, flow);
            int len = data.remaining();
            if (len > MAX_RESULT) {
                throw new IllegalArgumentException("a result has at most " + MAX_RESULT + " bytes, got " + len);
            }
            ByteBuf copy = alloc.directBuffer(len);
            copy.writeBytes(data.duplicate());
            UnitCore.this.emit(c, sequence, f, copy);
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
            checkFlow(c, flow);
            int len = data.remaining();
            if (len > MAX_RESULT) {
                throw new IllegalArgumentException("control information has at most " + MAX_RESULT + " bytes, got "
                    + len);
            }
            ByteBuf copy = alloc.directBuffer(len);
            copy.writeBytes(data.duplicate());
            c.controlSent++;
            c.events.control(id, flow.value(), copy);
        }

        @Override
        public java.util.List<FlowId> flows() {
            return current().flows;
        }

        @Override
        public void setTimer(long timer, long delayMicros) {
            UnitCore.this.setTimer(current(), timer, delayMicros);
        }

        @Override
        public void cancelTimer(long timer) {
            UnitCore.this.cancelTimer(current(), timer);
        }

        /** @return the session's own id of {@code flow} */
        private FlowId checkFlow(UnitSession c, FlowId flow) {
            FlowId f = flow == null ? null : c.flowId(flow.value());
            if (f == null) {
                throw new IllegalArgumentException("session " + c.id + " has no flow " + flow + "; its flows: "
                    + c.flowList());
            }
            return f;
        }

        private void checkKey(String key) {
            if (key == null || key.isEmpty() || key.length() > MAX_KEY_LENGTH) {
                throw new IllegalArgumentException("a state key has 1 to " + MAX_KEY_LENGTH + " characters");
            }
        }
    }
}
