package io.pando.artp.impl;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.FixedRecvByteBufAllocator;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollChannelOption;
import io.netty.channel.epoll.EpollDatagramChannel;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.SegmentedDatagramPacket;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.DatagramPacket;
import io.netty.channel.socket.nio.NioDatagramChannel;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.netty.util.concurrent.Future;
import io.pando.artp.ArtpConfig;
import io.pando.artp.ArtpConnection;
import io.pando.artp.ArtpEndpoint;
import io.pando.artp.ArtpException;
import io.pando.artp.ArtpHandler;
import io.pando.artp.ArtpStats;
import io.pando.artp.ErrorCode;
import io.pando.artp.SessionAcceptor;
import java.net.InetSocketAddress;
import java.security.SecureRandom;
import java.util.Collection;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * An {@link ArtpEndpoint} on a Netty datagram channel: native epoll (with recvmmsg batching) when available,
 * NIO otherwise. One event loop runs the socket and the protocol engine, so the packet path takes no lock.
 */
public final class NettyEndpoint implements ArtpEndpoint, Host, EndpointCore.Flushable {

    private static final int RECV_BATCH = 32;
    private static final int FLUSH_EVERY_READS = 16;
    private int readsSinceFlush;

    private final EventLoopGroup group;
    private final Channel channel;
    private final EventLoop loop;
    private final EndpointCore core;
    private final ByteBufAllocator alloc = PooledByteBufAllocator.DEFAULT;
    private final String transport;
    /** The fine tick while a connection's timers need it, else the coarse one. On the loop. */
    private ScheduledFuture<?> ticker;
    private boolean coarse;
    private int quietTicks;
    private final long coarseTickNanos;
    private long ticks;
    private long coarseTicks;
    private long modeChanges;
    private boolean unflushed;
    private static final int MAX_SEGMENTS = 64;
    private static final int MAX_GSO_BYTES = 65000;
    private final boolean gso;
    private ByteBuf batch;
    private InetSocketAddress batchTo;
    private int batchSegment;
    private int batchCount;
    private int batchLimit;

    private NettyEndpoint(InetSocketAddress bind, ArtpConfig cfg, ArtpHandler handler, SessionAcceptor acceptor) {
        boolean epoll = cfg.preferEpoll && Epoll.isAvailable();
        IoHandlerFactory io = epoll ? EpollIoHandler.newFactory() : NioIoHandler.newFactory();
        this.transport = epoll ? "epoll" : "nio";
        this.gso = epoll && cfg.segmentationOffload && SegmentedDatagramPacket.isSupported();
        this.group = new MultiThreadIoEventLoopGroup(1, new DefaultThreadFactory("artp-" + bind.getPort(), true), io);
        this.loop = group.next();
        this.core = new EndpointCore(this, cfg, handler, acceptor, new SecureRandom());
        Bootstrap b = new Bootstrap().group(loop)
            .channel(epoll ? EpollDatagramChannel.class : NioDatagramChannel.class)
            .option(ChannelOption.SO_RCVBUF, cfg.socketBufferBytes)
            .option(ChannelOption.SO_SNDBUF, cfg.socketBufferBytes)
            .option(ChannelOption.ALLOCATOR, alloc)
            .option(ChannelOption.WRITE_BUFFER_WATER_MARK, new WriteBufferWaterMark(1 << 20, 4 << 20))
            .option(ChannelOption.RCVBUF_ALLOCATOR, new FixedRecvByteBufAllocator(
                epoll ? cfg.maxPacketSize * RECV_BATCH : cfg.maxPacketSize).maxMessagesPerRead(RECV_BATCH))
            .handler(new InboundHandler());
        if (epoll) {
            b.option(EpollChannelOption.MAX_DATAGRAM_PAYLOAD_SIZE, cfg.maxPacketSize);
        }
        try {
            this.channel = b.bind(bind).syncUninterruptibly().channel();
        } catch (Exception e) { // Netty rethrows the channel's IOException unchecked
            group.shutdownGracefully(0, 0, TimeUnit.MILLISECONDS);
            throw new ArtpException(ErrorCode.INTERNAL_ERROR, "cannot bind ARTP endpoint to " + bind + ": " + e, e);
        }
        int rcvbuf = channel.config().getOption(ChannelOption.SO_RCVBUF);
        loop.submit(() -> core.fitWindowToSocket(rcvbuf)).syncUninterruptibly();
        this.coarseTickNanos = Math.max(FINE_TICK_NANOS, Math.min(MAX_COARSE_TICK_NANOS, cfg.keepAliveNanos / 4));
        loop.submit(() -> {
            ticker = loop.scheduleAtFixedRate(this::tick, FINE_TICK_NANOS, FINE_TICK_NANOS, TimeUnit.NANOSECONDS);
        }).syncUninterruptibly();
    }

    /** The engine's timer resolution while a connection has a timer milliseconds away. */
    private static final long FINE_TICK_NANOS = 1_000_000L;
    /**
     * The tick while every connection is quiet (or there is none): only keep-alives (seconds apart; a quarter of
     * the keep-alive interval at most) and idle timeouts (at least 1 s) are pending then. An idle endpoint wakes
     * its thread 20 times a second instead of 1,000.
     */
    private static final long MAX_COARSE_TICK_NANOS = 50_000_000L;
    /** Fine ticks without work before the tick turns coarse. */
    private static final int QUIET_TICKS_BEFORE_COARSE = 100;

    /** Binds and starts an endpoint; see {@link ArtpEndpoint.Builder#start()}. */
    public static ArtpEndpoint start(InetSocketAddress bind, ArtpConfig cfg, ArtpHandler handler,
            SessionAcceptor acceptor) {
        return new NettyEndpoint(bind, cfg, handler, acceptor);
    }

    private void tick() {
        ticks++;
        boolean busy = core.onTick(System.nanoTime());
        flush();
        if (busy) {
            quietTicks = 0;
            if (coarse) {
                activity();
            }
        } else if (coarse) {
            coarseTicks++;
        } else if (++quietTicks >= QUIET_TICKS_BEFORE_COARSE && !loop.isShuttingDown()) {
            coarse = true;
            modeChanges++;
            ticker.cancel(false);
            ticker = loop.scheduleAtFixedRate(this::tick, coarseTickNanos, coarseTickNanos, TimeUnit.NANOSECONDS);
        }
    }

    @Override
    public void activity() {
        if (coarse && !loop.isShuttingDown()) {
            coarse = false;
            quietTicks = 0;
            modeChanges++;
            ticker.cancel(false);
            ticker = loop.scheduleAtFixedRate(this::tick, FINE_TICK_NANOS, FINE_TICK_NANOS, TimeUnit.NANOSECONDS);
        }
    }

    private final class InboundHandler extends ChannelInboundHandlerAdapter {
        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (msg instanceof DatagramPacket) {
                DatagramPacket dp = (DatagramPacket) msg;
                activity();
                try {
                    core.receive(dp.content(), dp.sender(), System.nanoTime());
                    if (++readsSinceFlush == FLUSH_EVERY_READS) {
                        // long read bursts: acknowledge and send as we go, not only when the socket is drained
                        readsSinceFlush = 0;
                        core.flushAll();
                    }
                } catch (RuntimeException e) {
                    internalError(e);
                } finally {
                    dp.release();
                }
            } else {
                io.netty.util.ReferenceCountUtil.release(msg);
            }
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) {
            readsSinceFlush = 0;
            core.flushAll();
        }

        @Override
        public void channelWritabilityChanged(ChannelHandlerContext ctx) {
            if (ctx.channel().isWritable()) {
                core.flushAll();
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            // ICMP errors (port unreachable) and similar: the protocol's timers deal with an unreachable peer
        }
    }

    private long internalErrors;

    /** A bug, not bad input (bad input is counted, never thrown): keep serving, say so in the log. */
    private void internalError(RuntimeException e) {
        if (internalErrors++ % 1000 == 0) {
            java.util.logging.Logger.getLogger(NettyEndpoint.class.getName()).log(java.util.logging.Level.SEVERE,
                "ARTP engine failed on a packet (" + internalErrors + " so far); the endpoint keeps running", e);
        }
    }

    // ------------------------------------------------------------------ Host

    @Override
    public long nanoTime() {
        return System.nanoTime();
    }

    @Override
    public long wallMillis() {
        return System.currentTimeMillis();
    }

    @Override
    public ByteBuf allocate(int size) {
        return alloc.directBuffer(size);
    }

    @Override
    public void transmit(ByteBuf packet, InetSocketAddress to) {
        activity();
        unflushed = true;
        if (!gso) {
            channel.write(new DatagramPacket(packet, to), channel.voidPromise());
            return;
        }
        // UDP generic segmentation offload: consecutive packets to one peer travel through the kernel as one
        // send of equal-sized segments (only the last may be shorter), cutting the per-packet system cost.
        int len = packet.readableBytes();
        if (batch != null && (len > batchSegment || !to.equals(batchTo) || batchCount == batchLimit)) {
            finishBatch();
        }
        if (batch == null) {
            batchLimit = Math.max(1, Math.min(MAX_SEGMENTS, MAX_GSO_BYTES / len));
            batch = alloc.directBuffer(len * batchLimit);
            batchTo = to;
            batchSegment = len;
            batchCount = 0;
        }
        batch.writeBytes(packet);
        packet.release();
        batchCount++;
        if (len < batchSegment) {
            finishBatch();
        }
    }

    private void finishBatch() {
        ByteBuf b = batch;
        if (b == null) {
            return;
        }
        batch = null;
        Object msg = batchCount == 1 ? new DatagramPacket(b, batchTo)
            : new SegmentedDatagramPacket(b, batchSegment, batchTo);
        channel.write(msg, channel.voidPromise());
    }

    @Override
    public boolean canTransmit() {
        return channel.isWritable();
    }

    @Override
    public void flush() {
        if (unflushed) {
            unflushed = false;
            finishBatch();
            channel.flush();
        }
    }

    @Override
    public EventLoop eventLoop() {
        return loop;
    }

    @Override
    public boolean inEventLoop() {
        return loop.inEventLoop();
    }

    @Override
    public void execute(Runnable task) {
        loop.execute(task);
    }

    // ------------------------------------------------------------------ ArtpEndpoint

    @Override
    public InetSocketAddress localAddress() {
        return (InetSocketAddress) channel.localAddress();
    }

    @Override
    public String transport() {
        return transport;
    }

    @Override
    public CompletionStage<ArtpConnection> connect(InetSocketAddress remote, long sessionId, byte[] key) {
        if (remote == null || remote.isUnresolved()) {
            CompletableFuture<ArtpConnection> f = new CompletableFuture<>();
            f.completeExceptionally(new IllegalArgumentException("unresolved peer address " + remote));
            return f;
        }
        if (loop.inEventLoop()) {
            return core.connect(remote, sessionId, key);
        }
        CompletableFuture<ArtpConnection> f = new CompletableFuture<>();
        loop.execute(() -> core.connect(remote, sessionId, key).whenComplete((c, e) -> {
            if (e != null) {
                f.completeExceptionally(e);
            } else {
                f.complete(c);
            }
        }));
        return f;
    }

    @Override
    public Collection<ArtpConnection> connections() {
        return call(core::connections);
    }

    /** @return ticks so far, of them coarse, changes between fine and coarse, and 1 if the tick is coarse now */
    long[] tickCounts() {
        return call(() -> new long[] {ticks, coarseTicks, modeChanges, coarse ? 1 : 0});
    }

    @Override
    public ArtpStats stats() {
        return call(core::stats);
    }

    private <T> T call(java.util.concurrent.Callable<T> c) {
        if (loop.inEventLoop()) {
            try {
                return c.call();
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }
        if (loop.isShuttingDown()) {
            try {
                return c.call();
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }
        Future<T> f = loop.submit(c);
        return f.syncUninterruptibly().getNow();
    }

    @Override
    public void close() {
        if (loop.isShuttingDown()) {
            return;
        }
        try {
            loop.submit(() -> {
                coarse = false; // so that the packets closeAll sends do not start a tick again
                ticker.cancel(false);
                core.closeAll(ErrorCode.APPLICATION_ABORT, "endpoint closed");
                unflushed = true;
                flush();
            }).syncUninterruptibly();
            channel.close().syncUninterruptibly();
        } finally {
            group.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
        }
    }
}
