package io.pando.system;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * One test stream through a node: a {@code pando artp recv} process that listens where a session delivers, and a
 * {@code pando artp send} process that sends to the node's ingress with the session id. Start the receiver
 * before creating the session (the router connects to the destination when the session is created).
 */
final class ArtpStream implements AutoCloseable {

    private static final Pattern LISTENING = Pattern.compile("listening on (\\S+)");

    final int count;
    final int port;
    private final KarafNode node;
    private final Path dir;
    private final SystemProcess recv;
    private SystemProcess send;

    private ArtpStream(KarafNode node, Path dir, int port, int count, SystemProcess recv) {
        this.node = node;
        this.dir = dir;
        this.port = port;
        this.count = count;
        this.recv = recv;
    }

    /**
     * Starts a receiver for {@code count} datagrams on 127.0.0.1:{@code port} and waits until it listens.
     *
     * @param aesGcmKey hex key to decrypt every datagram with, or null
     * @param intervalMs receiver rate intervals (--interval-ms), or 0 for none
     */
    static ArtpStream receive(KarafNode node, String label, int port, int count, String aesGcmKey, int intervalMs)
        throws IOException, InterruptedException {
        Path dir = node.work.resolve(label);
        List<String> args = new ArrayList<>(List.of("artp", "recv", "--listen", "127.0.0.1:" + port,
            "--count", Integer.toString(count), "--timeout", "170", "--idle", "20", "--json"));
        if (aesGcmKey != null) {
            args.addAll(List.of("--aes-gcm-key", aesGcmKey));
        }
        if (intervalMs > 0) {
            args.addAll(List.of("--interval-ms", Integer.toString(intervalMs)));
        }
        SystemProcess recv = node.pando("recv", dir, args);
        ArtpStream s = new ArtpStream(node, dir, port, count, recv);
        try {
            recv.await(LISTENING, 30);
        } catch (AssertionError e) {
            s.close();
            throw e;
        }
        return s;
    }

    /**
     * Starts the sender: {@code count} datagrams of {@code size} bytes to the node's ingress for {@code session}.
     *
     * @param rate datagrams per second, or 0 for as fast as ARTP takes them
     */
    void send(String session, int size, int rate) throws IOException {
        send(session, size, rate, null);
    }

    /** {@link #send(String, int, int)} into a keyed session: {@code keyHex} is its 32-byte key in hex. */
    void send(String session, int size, int rate, String keyHex) throws IOException {
        send(KarafNode.LOOPBACK + ":" + node.ingressPort, session, size, rate, keyHex);
    }

    /**
     * {@link #send(String, int, int, String)} to the ingress {@code HOST:PORT} (the one OPENED named, which may be
     * another node's than this stream's).
     */
    void send(String ingress, String session, int size, int rate, String keyHex) throws IOException {
        List<String> args = new ArrayList<>(List.of("artp", "send", "--to", ingress,
            "--session", session, "--count", Integer.toString(count), "--size", Integer.toString(size),
            "--timeout", "150", "--json"));
        if (keyHex != null) {
            args.addAll(List.of("--key", keyHex));
        }
        if (rate > 0) {
            args.addAll(List.of("--rate", Integer.toString(rate)));
        }
        send = node.pando("send", dir, args);
    }

    SystemProcess sender() {
        return send;
    }

    SystemProcess receiver() {
        return recv;
    }

    /** @return the sender's exit status once it ended (waits up to {@code seconds}) */
    int awaitSender(long seconds) throws InterruptedException {
        return send.waitFor(seconds);
    }

    /**
     * Waits for the receiver (after the session was closed, or it stops by count and its linger) and collects
     * what both printed.
     */
    Result finish(long seconds) throws InterruptedException {
        int sendExit = send == null ? -2 : send.waitFor(seconds);
        int recvExit = recv.waitFor(seconds);
        Map<String, Object> s = send == null ? Map.of() : JsonValue.objectOrEmpty(send.lastLine());
        Map<String, Object> r = JsonValue.objectOrEmpty(recv.lastLine());
        return new Result(this, sendExit, recvExit, s, r);
    }

    /** What the two processes reported. */
    record Result(ArtpStream stream, int sendExit, int recvExit, Map<String, Object> send, Map<String, Object> recv) {

        String context() {
            return (stream.send == null ? "" : stream.send.describe()) + stream.recv.describe()
                + "\nfiles in " + stream.dir;
        }

        /**
         * Asserts what every stream must show: both processes ended well, every datagram sent arrived exactly
         * once and intact, and neither reported a leaked buffer.
         */
        void assertDeliveredExactlyOnce() {
            String ctx = context();
            assertFalse(stream.send.err().contains("LEAK:"), "send leaked buffers" + ctx);
            assertFalse(stream.recv.err().contains("LEAK:"), "recv leaked buffers" + ctx);
            assertEquals(0, sendExit, "send exit status" + ctx);
            assertEquals(stream.count, JsonValue.num(send, "sent"), "sent" + ctx);
            assertEquals(stream.count, JsonValue.num(recv, "received"), "received (lost = sent - received)" + ctx);
            assertEquals(0, JsonValue.num(recv, "duplicates"), "duplicates" + ctx);
            assertEquals(0, JsonValue.num(recv, "corrupt"), "corrupt" + ctx);
            assertEquals(0, recvExit, "recv exit status" + ctx);
        }

        /**
         * @param binMs the receiver's {@code --interval-ms}
         * @return the longest run of bins without an arrival that began once {@code fromArrival} datagrams had
         *     arrived and before {@code toArrival} had, ended by a later arrival, in ms (the whole stream's:
         *     {@link StreamRecovery#longestGapMs})
         */
        long longestGapMs(int binMs, long fromArrival, long toArrival) {
            long arrived = 0;
            long longest = 0;
            long run = 0;
            boolean inWindow = false;
            for (Object o : JsonValue.list(recv, "intervals")) {
                long n = ((Number) o).longValue();
                if (n == 0) {
                    if (run == 0) {
                        inWindow = arrived >= fromArrival && arrived < toArrival;
                    }
                    run++;
                } else {
                    if (inWindow) {
                        longest = Math.max(longest, run);
                    }
                    run = 0;
                    arrived += n;
                }
            }
            return longest * binMs;
        }

        /**
         * @param binMs the receiver's {@code --interval-ms}
         * @return seconds from the first arrival to the bin in which the {@code arrival}-th datagram arrived (the
         *     last bin's if fewer arrived)
         */
        double secondsAt(int binMs, long arrival) {
            List<Object> bins = JsonValue.list(recv, "intervals");
            long arrived = 0;
            for (int i = 0; i < bins.size(); i++) {
                arrived += ((Number) bins.get(i)).longValue();
                if (arrived >= arrival) {
                    return i * binMs / 1000.0;
                }
            }
            return Math.max(0, bins.size() - 1) * binMs / 1000.0;
        }

        /**
         * Asserts what a receiver without a sender of its own must show (the datagrams came from another stream's
         * sender): every datagram arrived exactly once and intact, no leaked buffer.
         */
        void assertReceivedExactlyOnce() {
            String ctx = context();
            assertFalse(stream.recv.err().contains("LEAK:"), "recv leaked buffers" + ctx);
            assertEquals(stream.count, JsonValue.num(recv, "received"), "received" + ctx);
            assertEquals(0, JsonValue.num(recv, "duplicates"), "duplicates" + ctx);
            assertEquals(0, JsonValue.num(recv, "corrupt"), "corrupt" + ctx);
            assertEquals(0, recvExit, "recv exit status" + ctx);
        }
    }

    @Override
    public void close() {
        if (send != null) {
            send.close();
        }
        recv.close();
    }
}
