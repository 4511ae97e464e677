package io.pando.cluster.impl;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A TCP relay in front of one cluster member, through which the other members reach it (the member's public
 * address), and which can cut the member off from some of them: connections whose source address is blocked are
 * closed, and new ones refused. Members bind to distinct loopback addresses (127.0.0.x), and the engine binds its
 * outgoing connections to the member's address, so the source address says which member is calling.
 */
final class PartitionProxy implements AutoCloseable {

    private final ServerSocket server;
    private final InetSocketAddress target;
    private final Set<InetAddress> blocked = ConcurrentHashMap.newKeySet();
    private final Set<Link> links = ConcurrentHashMap.newKeySet();

    /** A relayed connection: the caller's socket and ours to the member. */
    private record Link(Socket from, Socket to) {
        void close() {
            closeQuietly(from);
            closeQuietly(to);
        }
    }

    /**
     * @param listen the public address to listen on
     * @param target the member's own address
     */
    PartitionProxy(InetSocketAddress listen, InetSocketAddress target) throws IOException {
        this.target = target;
        server = new ServerSocket();
        server.setReuseAddress(true);
        server.bind(listen, 50);
        Thread t = new Thread(this::accept, "partition-proxy-" + listen.getPort());
        t.setDaemon(true);
        t.start();
    }

    /** Cuts off the members at these addresses: closes their connections and refuses new ones. */
    void block(Set<InetAddress> sources) {
        blocked.addAll(sources);
        for (Link l : links) {
            if (blocked.contains(l.from.getInetAddress())) {
                links.remove(l);
                l.close();
            }
        }
    }

    /** Lets everyone through again. */
    void heal() {
        blocked.clear();
    }

    private void accept() {
        while (!server.isClosed()) {
            Socket from;
            try {
                from = server.accept();
            } catch (IOException e) {
                return; // closed
            }
            if (blocked.contains(from.getInetAddress())) {
                closeQuietly(from);
                continue;
            }
            try {
                Socket to = new Socket();
                to.connect(target, 2_000);
                Link link = new Link(from, to);
                links.add(link);
                pump(link, from, to);
                pump(link, to, from);
            } catch (IOException e) {
                closeQuietly(from);
            }
        }
    }

    private void pump(Link link, Socket in, Socket out) {
        Thread t = new Thread(() -> {
            byte[] buf = new byte[16 * 1024];
            try (InputStream i = in.getInputStream(); OutputStream o = out.getOutputStream()) {
                int n;
                while ((n = i.read(buf)) >= 0) {
                    o.write(buf, 0, n);
                    o.flush();
                }
            } catch (IOException e) {
                // closed on either side
            } finally {
                links.remove(link);
                link.close();
            }
        }, "partition-proxy-pump");
        t.setDaemon(true);
        t.start();
    }

    @Override
    public void close() {
        closeQuietly(server);
        for (Link l : links) {
            l.close();
        }
        links.clear();
    }

    private static void closeQuietly(AutoCloseable c) {
        try {
            c.close();
        } catch (Exception ignored) {
            // closing
        }
    }
}
