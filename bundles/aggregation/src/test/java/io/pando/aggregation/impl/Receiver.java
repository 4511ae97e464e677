package io.pando.aggregation.impl;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.pando.artp.ArtpConfig;
import io.pando.artp.ArtpConnection;
import io.pando.artp.ArtpEndpoint;
import io.pando.artp.ArtpHandler;
import io.pando.artp.ErrorCode;
import io.pando.artp.SessionAcceptor;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;

/** A session destination: an ARTP endpoint on loopback that records every datagram in arrival order. */
final class Receiver implements ArtpHandler, AutoCloseable {

    final ArtpEndpoint endpoint;
    final List<ArtpConnection> connections = new CopyOnWriteArrayList<>();
    final CountDownLatch closed = new CountDownLatch(1);
    volatile ErrorCode closeCode;
    volatile boolean pauseOnConnect;
    private final List<byte[]> received = new ArrayList<>();
    /** Every datagram with its ARTP type, in arrival order. */
    private final List<Arrived> arrived = new ArrayList<>();

    /** A datagram as it arrived: CONTROL or DATA, and its bytes. */
    record Arrived(boolean control, byte[] data) {
    }

    Receiver(ArtpConfig config) {
        endpoint = ArtpEndpoint.builder().config(config).handler(this).acceptor(SessionAcceptor.ANY).start();
    }

    InetSocketAddress address() {
        return endpoint.localAddress();
    }

    @Override
    public void connected(ArtpConnection connection) {
        if (pauseOnConnect) {
            connection.pauseReceiving();
        }
        connections.add(connection);
    }

    @Override
    public void datagram(ArtpConnection connection, ByteBuf datagram, boolean control) {
        byte[] copy = ByteBufUtil.getBytes(datagram);
        datagram.release();
        synchronized (received) {
            received.add(copy);
            arrived.add(new Arrived(control, copy));
        }
    }

    @Override
    public void closed(ArtpConnection connection, ErrorCode code, String reason) {
        closeCode = code;
        closed.countDown();
    }

    List<byte[]> received() {
        synchronized (received) {
            return new ArrayList<>(received);
        }
    }

    List<Arrived> arrived() {
        synchronized (received) {
            return new ArrayList<>(arrived);
        }
    }

    int count() {
        synchronized (received) {
            return received.size();
        }
    }

    /** @return the numbers (first 8 bytes) of the datagrams received, in arrival order */
    List<Long> numbers() {
        List<Long> n = new ArrayList<>();
        for (byte[] b : received()) {
            n.add(ByteBuffer.wrap(b).getLong());
        }
        return n;
    }

    @Override
    public void close() {
        endpoint.close();
    }
}
