package io.pando.remote.impl;

import io.netty.buffer.ByteBuf;
import io.netty.channel.DefaultEventLoop;
import io.netty.channel.EventLoop;
import io.pando.artp.ArtpConnection;
import io.pando.artp.ArtpStats;
import io.pando.artp.ArtpCounter;
import io.pando.artp.ConnectionState;
import io.pando.artp.ErrorCode;
import java.net.InetSocketAddress;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/** An accepted ARTP connection without a network, for feeding a handler datagrams in a chosen order. */
final class FakeConnection implements ArtpConnection {

    final EventLoop loop;
    final long session;
    volatile Object attachment;
    volatile boolean paused;
    volatile ErrorCode resetCode;
    volatile String resetReason;

    FakeConnection(EventLoop loop, long session) {
        this.loop = loop;
        this.session = session;
    }

    static EventLoop loop() {
        return new DefaultEventLoop();
    }

    @Override
    public long sessionId() {
        return session;
    }

    @Override
    public int localId() {
        return 1;
    }

    @Override
    public int remoteId() {
        return 2;
    }

    @Override
    public InetSocketAddress remoteAddress() {
        return new InetSocketAddress("127.0.0.1", 9);
    }

    @Override
    public boolean isKeyed() {
        return false;
    }

    @Override
    public ConnectionState state() {
        return resetCode == null ? ConnectionState.ESTABLISHED : ConnectionState.CLOSED;
    }

    @Override
    public EventLoop eventLoop() {
        return loop;
    }

    @Override
    public void send(ByteBuf datagram) {
        datagram.release();
        throw new IllegalStateException("a fake connection sends nothing");
    }

    @Override
    public void sendControl(ByteBuf datagram) {
        send(datagram);
    }

    @Override
    public boolean isWritable() {
        return true;
    }

    @Override
    public long pendingBytes() {
        return 0;
    }

    @Override
    public CompletionStage<Void> close() {
        return CompletableFuture.completedFuture(null);
    }

    @Override
    public void reset(ErrorCode code, String reason) {
        resetCode = code;
        resetReason = reason;
    }

    @Override
    public ArtpStats stats() {
        return new ArtpStats(new long[ArtpCounter.values().length]);
    }

    @Override
    public Object attachment() {
        return attachment;
    }

    @Override
    public void attach(Object attachment) {
        this.attachment = attachment;
    }

    @Override
    public void pauseReceiving() {
        paused = true;
    }

    @Override
    public void resumeReceiving() {
        paused = false;
    }

    @Override
    public boolean isReceivingPaused() {
        return paused;
    }
}
