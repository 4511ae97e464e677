package io.pando.artp.impl;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.pando.artp.ArtpConfig;
import io.pando.artp.ArtpHandler;
import io.pando.artp.SessionAcceptor;
import java.net.InetSocketAddress;
import java.security.SecureRandom;
import java.util.HashMap;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.Random;
import java.util.function.BooleanSupplier;

/**
 * A deterministic, seeded, single-threaded network in virtual time: packets between endpoints are lost,
 * duplicated, delayed with jitter (which reorders them) and reordered on purpose, all from one seed. Drives the
 * real protocol engine ({@link EndpointCore}) without sockets or threads.
 */
final class SimNetwork {

    /** Impairments, applied independently to every packet in both directions. */
    static final class Impairment {
        double loss;
        double duplicate;
        double reorder;
        long reorderExtraNanos = 3_000_000;
        long delayNanos = 1_000_000;
        long jitterNanos;

        Impairment loss(double p) {
            loss = p;
            return this;
        }

        Impairment duplicate(double p) {
            duplicate = p;
            return this;
        }

        Impairment reorder(double p, long extraNanos) {
            reorder = p;
            reorderExtraNanos = extraNanos;
            return this;
        }

        Impairment delay(long nanos, long jitter) {
            delayNanos = nanos;
            jitterNanos = jitter;
            return this;
        }
    }

    private static final class Event implements Comparable<Event> {
        final long at;
        final long seq;
        final Runnable task;

        Event(long at, long seq, Runnable task) {
            this.at = at;
            this.seq = seq;
            this.task = task;
        }

        @Override
        public int compareTo(Event o) {
            return at != o.at ? Long.compare(at, o.at) : Long.compare(seq, o.seq);
        }
    }

    final Random random;
    final Impairment impairment;
    private final PriorityQueue<Event> events = new PriorityQueue<>();
    private final Map<InetSocketAddress, SimHost> hosts = new HashMap<>();
    private long now = 1_000_000_000L;
    private long seq;
    long packetsSent;
    long packetsDropped;
    long packetsDuplicated;
    long packetsReordered;

    SimNetwork(long seed, Impairment impairment) {
        this.random = new Random(seed);
        this.impairment = impairment;
    }

    long now() {
        return now;
    }

    void schedule(long at, Runnable task) {
        events.add(new Event(at, seq++, task));
    }

    /** Adds an endpoint at {@code 10.0.0.n:port}. */
    EndpointCore endpoint(int n, ArtpConfig cfg, ArtpHandler handler, SessionAcceptor acceptor) {
        InetSocketAddress address = new InetSocketAddress("10.0.0." + n, 7000 + n);
        SimHost host = new SimHost(address);
        SecureRandom rnd;
        try {
            rnd = SecureRandom.getInstance("SHA1PRNG");
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        rnd.setSeed(random.nextLong());
        host.core = new EndpointCore(host, cfg, handler, acceptor, rnd);
        hosts.put(address, host);
        host.scheduleTick();
        return host.core;
    }

    InetSocketAddress address(EndpointCore core) {
        return ((SimHost) core.host).address;
    }

    /** Runs events until {@code done} holds or virtual time passes {@code limitNanos} from now. */
    boolean runUntil(BooleanSupplier done, long limitNanos) {
        long end = now + limitNanos;
        while (!done.getAsBoolean()) {
            Event e = events.poll();
            if (e == null || e.at > end) {
                if (e != null) {
                    events.add(e);
                }
                now = end;
                return done.getAsBoolean();
            }
            now = Math.max(now, e.at);
            e.task.run();
        }
        return true;
    }

    /** Releases packets still in the air (end of test, for leak detection). */
    void drain() {
        while (!events.isEmpty()) {
            Event e = events.poll();
            if (e.task instanceof Arrival) {
                ((Arrival) e.task).packet.release();
            }
        }
    }

    private final class Arrival implements Runnable {
        final ByteBuf packet;
        final InetSocketAddress from;
        final SimHost to;

        Arrival(ByteBuf packet, InetSocketAddress from, SimHost to) {
            this.packet = packet;
            this.from = from;
            this.to = to;
        }

        @Override
        public void run() {
            try {
                to.core.receive(packet, from, now);
            } finally {
                packet.release();
            }
            to.core.flushAll();
        }
    }

    private void carry(ByteBuf packet, InetSocketAddress from, InetSocketAddress to) {
        packetsSent++;
        SimHost dst = hosts.get(to);
        if (dst == null || random.nextDouble() < impairment.loss) {
            packetsDropped++;
            packet.release();
            return;
        }
        int copies = 1;
        if (random.nextDouble() < impairment.duplicate) {
            copies = 2;
            packetsDuplicated++;
        }
        for (int i = 0; i < copies; i++) {
            long delay = impairment.delayNanos;
            if (impairment.jitterNanos > 0) {
                delay += (long) (random.nextDouble() * impairment.jitterNanos);
            }
            if (random.nextDouble() < impairment.reorder) {
                delay += impairment.reorderExtraNanos;
                packetsReordered++;
            }
            ByteBuf copy = i == copies - 1 ? packet : packet.copy();
            schedule(now + delay, new Arrival(copy, from, dst));
        }
    }

    private final class SimHost extends SingleThreadHost {
        final InetSocketAddress address;
        EndpointCore core;

        SimHost(InetSocketAddress address) {
            this.address = address;
        }

        void scheduleTick() {
            schedule(now + 1_000_000, () -> {
                core.onTick(now);
                scheduleTick();
            });
        }

        @Override
        public long nanoTime() {
            return now;
        }

        @Override
        public long wallMillis() {
            return now / 1_000_000;
        }

        @Override
        public ByteBuf allocate(int size) {
            return PooledByteBufAllocator.DEFAULT.directBuffer(size);
        }

        @Override
        public void transmit(ByteBuf packet, InetSocketAddress to) {
            carry(packet, address, to);
        }

        @Override
        public void execute(Runnable task) {
            schedule(now, task);
        }
    }
}
