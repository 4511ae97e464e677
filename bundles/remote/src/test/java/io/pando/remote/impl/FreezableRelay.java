package io.pando.remote.impl;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketAddress;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A unit node's control (TCP) and data (UDP) ports behind a relay that can stop forwarding, as a stopped process
 * does (SIGSTOP): what comes while frozen waits (in the relay's threads and the kernel's socket buffers) and goes on
 * when thawed; nothing comes back meanwhile. One data client (the distribution node's single data endpoint).
 */
final class FreezableRelay implements AutoCloseable {

    private final InetSocketAddress control;
    private final InetSocketAddress data;
    private final ServerSocket controlFront;
    private final DatagramSocket dataFront;
    private final DatagramSocket dataBack;
    private final List<AutoCloseable> open = new CopyOnWriteArrayList<>();
    private volatile SocketAddress dataClient;
    private boolean frozen;
    private volatile boolean closed;

    /** Relays to a unit node's control and data addresses. */
    FreezableRelay(InetSocketAddress controlTarget, InetSocketAddress dataTarget) throws IOException {
        InetAddress lo = InetAddress.getLoopbackAddress();
        controlFront = new ServerSocket(0, 50, lo);
        dataFront = new DatagramSocket(new InetSocketAddress(lo, 0));
        dataBack = new DatagramSocket(new InetSocketAddress(lo, 0));
        open.addAll(List.of(controlFront, dataFront, dataBack));
        control = (InetSocketAddress) controlFront.getLocalSocketAddress();
        data = (InetSocketAddress) dataFront.getLocalSocketAddress();
        start("accept", () -> {
            while (!closed) {
                Socket down = controlFront.accept();
                Socket up = new Socket(controlTarget.getAddress(), controlTarget.getPort());
                open.add(down);
                open.add(up);
                start("control-up", () -> pump(down.getInputStream(), up.getOutputStream(), down, up));
                start("control-down", () -> pump(up.getInputStream(), down.getOutputStream(), down, up));
            }
        });
        start("data-up", () -> {
            byte[] b = new byte[65_536];
            while (!closed) {
                DatagramPacket p = new DatagramPacket(b, b.length);
                dataFront.receive(p);
                dataClient = p.getSocketAddress();
                awaitThaw();
                dataBack.send(new DatagramPacket(b, p.getLength(), dataTarget));
            }
        });
        start("data-down", () -> {
            byte[] b = new byte[65_536];
            while (!closed) {
                DatagramPacket p = new DatagramPacket(b, b.length);
                dataBack.receive(p);
                awaitThaw();
                SocketAddress to = dataClient;
                if (to != null) {
                    dataFront.send(new DatagramPacket(b, p.getLength(), to));
                }
            }
        });
    }

    /** @return the node as its distribution node is told: {@code HOST:CONTROL_PORT/DATA_PORT} of this relay */
    NodeAddress node() {
        return NodeAddress.parse("127.0.0.1:" + control.getPort() + "/" + data.getPort());
    }

    synchronized void freeze() {
        frozen = true;
    }

    synchronized void thaw() {
        frozen = false;
        notifyAll();
    }

    private synchronized void awaitThaw() throws InterruptedException {
        while (frozen && !closed) {
            wait();
        }
    }

    private void pump(InputStream in, OutputStream out, Socket a, Socket b) throws Exception {
        byte[] buf = new byte[16_384];
        try {
            int n;
            while ((n = in.read(buf)) >= 0) {
                awaitThaw();
                out.write(buf, 0, n);
                out.flush();
            }
        } finally {
            a.close();
            b.close();
        }
    }

    private interface Work {
        void run() throws Exception;
    }

    private void start(String name, Work work) {
        Thread t = new Thread(() -> {
            try {
                work.run();
            } catch (Exception e) {
                // the sockets were closed
            }
        }, "relay-" + name);
        t.setDaemon(true);
        t.start();
    }

    @Override
    public void close() throws Exception {
        closed = true;
        thaw();
        for (AutoCloseable c : open) {
            c.close();
        }
    }
}
