package io.pando.ee.sandbox;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.ByteBuffer;
import java.util.concurrent.locks.LockSupport;

/**
 * Watches the worker thread while it is inside the program. A daemon thread that sleeps while no batch is being
 * processed and otherwise samples, every half millisecond, the CPU time the worker spent on the datagram in process:
 * <ul>
 * <li>beyond the CPU budget: sends OVER_BUDGET (seq, CPU ns) and halts the JVM;</li>
 * <li>in process for longer than the blocked limit while using less than 1/20 of a CPU: sends BLOCKED (seq, wall
 * ns) and halts. The limit is max(1 s, 100 × budget), 5 s without a budget.</li>
 * </ul>
 * The report is written under the connection's write lock, after checking that the same datagram is still in
 * process, so it never interleaves with a RESULTS frame.
 *
 * <p>The worker publishes the datagram in process through volatile fields and a generation counter, odd while in
 * process (a seqlock: the watchdog discards a sample if the generation moved while it read).
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

    private final ThreadMXBean threads = ManagementFactory.getThreadMXBean();
    private final Thread worker;
    private final long budgetNanos;
    private final long blockedNanos;
    private final FrameChannel channel;
    private final Thread thread;

    private volatile int generation;
    private volatile long seq;
    private volatile long startCpu;
    private volatile long startWall;
    private volatile boolean busy;
    private volatile long entered;

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

    /** @return the worker's CPU time so far (ns); called by the worker */
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

    /** The worker enters the program for datagram {@code s}; {@code cpu} is its CPU time now. */
    void enter(long s, long cpu) {
        seq = s;
        startCpu = cpu;
        startWall = System.nanoTime();
        entered++; // written by the worker only
        generation++; // odd: in process
    }

    /** The worker left the program. */
    void exit() {
        generation++; // even: between datagrams
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
            int g = generation;
            if ((g & 1) == 0) {
                continue;
            }
            long s = seq;
            long c0 = startCpu;
            long w0 = startWall;
            long now = threads.getThreadCpuTime(id);
            long wall = System.nanoTime() - w0;
            if (generation != g || now < 0) {
                continue; // moved on, or the worker is gone
            }
            long cpu = now - c0;
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

    private void report(int g, int type, long s, long nanos, int status, String why) {
        synchronized (channel.writeLock()) {
            if (generation != g) {
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
