package io.pando.ee.sandbox;

import java.io.IOException;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.ByteBuffer;
import java.util.concurrent.locks.LockSupport;

/**
 * Watches the worker thread while it is inside the program. A daemon thread that sleeps while no batch is being
 * processed and otherwise samples, every half millisecond, the CPU time of the worker and which entry it is in:
 * <ul>
 * <li>beyond the CPU budget: sends OVER_BUDGET (seq, CPU ns) and halts the JVM;</li>
 * <li>in process for longer than the blocked limit while using less than 1/20 of a CPU: sends BLOCKED (seq, wall
 * ns) and halts. The limit is max(1 s, 100 × budget), 5 s without a budget.</li>
 * </ul>
 * An entry's CPU and wall time count from the first sample that finds it in process: the worker reads no clock
 * for the watchdog (a read of the thread's CPU clock is a system call, close to a microsecond on a VM, more than
 * an echo program costs). So an overrun is reported within two sample periods (≤ 1 ms) of CPU beyond the budget,
 * and never early.
 * The report is written under the connection's write lock, after checking that the same entry is still in
 * process, so it never interleaves with a RESULTS frame.
 *
 * <p>The worker publishes the entry in process through a generation counter, odd while in process, written with
 * release stores (no fence on the worker's path); the seq is a plain field published by that store (a seqlock:
 * the watchdog discards a sample if the generation moved while it read).
 */
final class Watchdog implements Runnable {

    /** Exit status after OVER_BUDGET. */
    static final int EXIT_OVER_BUDGET = SandboxMain.EXIT_OVER_BUDGET;
    /** Exit status after BLOCKED. */
    static final int EXIT_BLOCKED = SandboxMain.EXIT_BLOCKED;
    private static final long SAMPLE_NANOS = 500_000;
    private static final long BLOCKED_WITHOUT_BUDGET_NANOS = 5_000_000_000L;
    /**
     * The first datagrams of a sandbox pay for its warm-up (class loading, e.g. a crypto provider's set-up, and
     * the interpreter before the JIT compiler has run): their budget is at least {@link #WARMUP_BUDGET_NANOS}.
     */
    static final int WARMUP_DATAGRAMS = 32;
    static final long WARMUP_BUDGET_NANOS = 2_000_000_000L;

    private static final VarHandle GENERATION;

    static {
        try {
            GENERATION = MethodHandles.lookup().findVarHandle(Watchdog.class, "generation", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final ThreadMXBean threads = ManagementFactory.getThreadMXBean();
    private final Thread worker;
    private final long budgetNanos;
    private final long blockedNanos;
    private final FrameChannel channel;
    private final Thread thread;

    /** Entries entered × 2, +1 while in process; written by the worker with release stores (see above). */
    @SuppressWarnings("unused") // through GENERATION
    private long generation;
    /** The seq of the entry in process: written by the worker before the release store that makes it odd. */
    private long seq;
    private volatile boolean busy;

    // the watchdog thread's own: the entry it watches, and its CPU and wall clocks when first seen
    private long watched;
    private long watchedCpu;
    private long watchedWall;

    /**
     * @param worker the thread that calls the program
     * @param budgetMicros the CPU budget per datagram, 0 for none
     * @param channel where reports go
     */
    Watchdog(Thread worker, long budgetMicros, FrameChannel channel) {
        this.worker = worker;
        this.budgetNanos = budgetMicros * 1000;
        this.blockedNanos = budgetMicros == 0 ? BLOCKED_WITHOUT_BUDGET_NANOS
            : Math.max(1_000_000_000L, 100 * budgetNanos);
        this.channel = channel;
        if (threads.isThreadCpuTimeSupported() && !threads.isThreadCpuTimeEnabled()) {
            threads.setThreadCpuTimeEnabled(true);
        }
        this.thread = new Thread(this, "pando-sandbox-watchdog");
        thread.setDaemon(true);
        thread.setPriority(Thread.MAX_PRIORITY);
    }

    void start() {
        thread.start();
    }

    /** @return the wall time after which a datagram using little CPU is reported BLOCKED */
    long blockedNanos() {
        return blockedNanos;
    }

    /** @return the worker's CPU time so far (ns); called by the worker, once per RESULTS frame */
    long cpuNow() {
        return threads.getCurrentThreadCpuTime();
    }

    /** A batch starts: wake up and sample. */
    void batchStarted() {
        busy = true;
        LockSupport.unpark(thread);
    }

    /** The batch is done: sleep until the next one. */
    void batchEnded() {
        busy = false;
    }

    /** The worker enters the program for entry {@code s}. */
    void enter(long s) {
        seq = s;
        GENERATION.setRelease(this, generation + 1); // odd: in process; publishes seq
    }

    /** The worker left the program. */
    void exit() {
        GENERATION.setRelease(this, generation + 1); // even: between entries
        VarHandle.storeStoreFence(); // the next entry's seq is not seen before this
    }

    @Override
    public void run() {
        long id = worker.getId();
        while (true) {
            if (!busy) {
                LockSupport.park(this);
                continue;
            }
            LockSupport.parkNanos(SAMPLE_NANOS);
            long g = (long) GENERATION.getAcquire(this);
            if ((g & 1) == 0) {
                continue;
            }
            long s = seq;
            long now = threads.getThreadCpuTime(id);
            long wallNow = System.nanoTime();
            VarHandle.loadLoadFence(); // seq was read before the generation is checked again
            if ((long) GENERATION.getAcquire(this) != g || now < 0) {
                continue; // moved on, or the worker is gone
            }
            if (g != watched) { // first seen: its CPU and wall time count from here
                watched = g;
                watchedCpu = now;
                watchedWall = wallNow;
                continue;
            }
            long cpu = now - watchedCpu;
            long wall = wallNow - watchedWall;
            long entered = (g + 1) >>> 1;
            long budget = entered <= WARMUP_DATAGRAMS ? Math.max(budgetNanos, WARMUP_BUDGET_NANOS) : budgetNanos;
            if (budgetNanos > 0 && cpu > budget) {
                report(g, Protocol.OVER_BUDGET, s, cpu, EXIT_OVER_BUDGET,
                    "datagram " + s + " over its CPU budget: " + cpu / 1000 + " µs > " + budget / 1000 + " µs");
            } else if (wall > blockedNanos && cpu * 20 < wall) {
                report(g, Protocol.BLOCKED, s, wall, EXIT_BLOCKED,
                    "datagram " + s + " blocked: " + wall / 1_000_000 + " ms in process with " + cpu / 1_000_000
                        + " ms of CPU");
            }
        }
    }

    private void report(long g, int type, long s, long nanos, int status, String why) {
        synchronized (channel.writeLock()) {
            if ((long) GENERATION.getVolatile(this) != g) {
                return; // the datagram finished meanwhile
            }
            ByteBuffer f = ByteBuffer.allocate(4 + 1 + 16);
            f.putInt(1 + 16).put((byte) type).putLong(s).putLong(nanos).flip();
            try {
                channel.write(f);
            } catch (IOException e) {
                System.err.println("pando-sandbox: cannot report to the unit: " + e);
            }
            System.err.println("pando-sandbox: " + why + "; halting");
            System.err.flush();
            Runtime.getRuntime().halt(status);
        }
    }
}
