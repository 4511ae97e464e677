package io.pando.test.system;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.util.HashMap;
import java.util.Map;

/**
 * A bidirectional impairing UDP proxy for connection-oriented protocols, used when the C reference tool
 * (udp-ref {@code proxy}) is not available. Same semantics: clients send to the listen address; each client
 * address gets its own upstream socket to the destination so that replies return; both directions drop
 * ({@code loss} %), hold back ({@code reorder} %, released after {@code gap} further datagrams in either
 * direction or after 50 ms without traffic) and duplicate ({@code dup} %) datagrams, driven by one seeded
 * xorshift64 generator, so a seed reproduces the same decisions for the same traffic.
 */
final class ImpairingProxy implements AutoCloseable {

    private static final int MAX_HELD = 64;
    private static final int MAX_CLIENTS = 64;

    private final InetSocketAddress destination;
    private final double loss;
    private final double reorder;
    private final int gap;
    private final double dup;
    private long rng;
    private final Selector selector;
    private final DatagramChannel listen;
    private final Map<SocketAddress, DatagramChannel> upstream = new HashMap<>();
    private final Held[] held = new Held[MAX_HELD];
    private final long[][] stats = new long[2][4]; // [direction][fwd, drop, reord, dup]
    private final Thread thread;
    private volatile boolean running = true;

    private static final class Held {
        DatagramChannel channel;
        SocketAddress to;
        ByteBuffer data;
        int due;
    }

    ImpairingProxy(InetSocketAddress listenAt, InetSocketAddress destination, double loss, double reorder, int gap,
        double dup, long seed) throws IOException {
        this.destination = destination;
        this.loss = loss;
        this.reorder = reorder;
        this.gap = Math.max(1, gap);
        this.dup = dup;
        this.rng = seed | 1;
        this.selector = Selector.open();
        this.listen = DatagramChannel.open().bind(listenAt);
        listen.configureBlocking(false);
        listen.register(selector, SelectionKey.OP_READ);
        thread = new Thread(this::loop, "impairing-proxy");
        thread.setDaemon(true);
        thread.start();
    }

    InetSocketAddress localAddress() throws IOException {
        return (InetSocketAddress) listen.getLocalAddress();
    }

    private double rnd() {
        rng ^= rng << 13;
        rng ^= rng >>> 7;
        rng ^= rng << 17;
        return (rng >>> 11) / (double) (1L << 53);
    }

    private void loop() {
        ByteBuffer buf = ByteBuffer.allocateDirect(65536);
        try {
            while (running) {
                int n = selector.select(50);
                if (n == 0) {
                    flushHeld();
                    continue;
                }
                for (SelectionKey key : selector.selectedKeys()) {
                    DatagramChannel ch = (DatagramChannel) key.channel();
                    while (true) {
                        buf.clear();
                        SocketAddress from = ch.receive(buf);
                        if (from == null) {
                            break;
                        }
                        buf.flip();
                        if (ch == listen) {
                            DatagramChannel up = upstream.get(from);
                            if (up == null && upstream.size() < MAX_CLIENTS) {
                                up = DatagramChannel.open().bind(new InetSocketAddress(destination.getAddress(), 0));
                                up.configureBlocking(false);
                                up.register(selector, SelectionKey.OP_READ, from);
                                upstream.put(from, up);
                            }
                            if (up != null) {
                                pass(0, up, destination, buf);
                            }
                        } else {
                            pass(1, listen, (SocketAddress) key.attachment(), buf);
                        }
                    }
                }
                selector.selectedKeys().clear();
            }
            flushHeld();
        } catch (IOException e) {
            if (running) {
                throw new UncheckedIOException(e);
            }
        }
    }

    private void tick() throws IOException {
        for (Held h : held) {
            if (h != null && h.data != null && --h.due <= 0) {
                h.channel.send(h.data, h.to);
                h.data = null;
            }
        }
    }

    private void pass(int dir, DatagramChannel ch, SocketAddress to, ByteBuffer data) throws IOException {
        tick();
        if (loss > 0 && rnd() * 100 < loss) {
            stats[dir][1]++;
            return;
        }
        if (reorder > 0 && data.remaining() <= 2048 && rnd() * 100 < reorder) {
            for (int i = 0; i < MAX_HELD; i++) {
                if (held[i] == null) {
                    held[i] = new Held();
                }
                if (held[i].data == null) {
                    Held h = held[i];
                    h.channel = ch;
                    h.to = to;
                    h.due = gap;
                    h.data = ByteBuffer.allocate(data.remaining()).put(data).flip();
                    stats[dir][2]++;
                    return;
                }
            }
        }
        ch.send(data.duplicate(), to);
        stats[dir][0]++;
        if (dup > 0 && rnd() * 100 < dup) {
            ch.send(data.duplicate(), to);
            stats[dir][3]++;
        }
    }

    private void flushHeld() throws IOException {
        for (Held h : held) {
            if (h != null && h.data != null) {
                h.channel.send(h.data, h.to);
                h.data = null;
            }
        }
    }

    String summary() {
        return String.format("proxy clients=%d to_server fwd=%d drop=%d reord=%d dup=%d | to_client fwd=%d drop=%d reord=%d dup=%d",
            upstream.size(), stats[0][0], stats[0][1], stats[0][2], stats[0][3],
            stats[1][0], stats[1][1], stats[1][2], stats[1][3]);
    }

    @Override
    public void close() throws IOException, InterruptedException {
        running = false;
        selector.wakeup();
        thread.join(2000);
        for (DatagramChannel ch : upstream.values()) {
            ch.close();
        }
        listen.close();
        selector.close();
    }
}
