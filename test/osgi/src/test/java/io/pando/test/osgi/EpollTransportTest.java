package io.pando.test.osgi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollDatagramChannel;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.socket.DatagramPacket;
import io.netty.util.ResourceLeakDetector;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.osgi.framework.Bundle;
import org.osgi.framework.FrameworkUtil;

/**
 * Netty's native epoll transport works inside the framework: the native fragment attached to
 * io.netty.transport-classes-epoll, the library loaded, and a real UDP datagram goes through an epoll channel.
 */
class EpollTransportTest {

    private static final InetSocketAddress LOOPBACK = new InetSocketAddress("127.0.0.1", 0);

    private EventLoopGroup group;

    @BeforeEach
    void startGroup() {
        group = new MultiThreadIoEventLoopGroup(1, EpollIoHandler.newFactory());
    }

    @AfterEach
    void stopGroup() throws InterruptedException {
        assertTrue(group.shutdownGracefully(0, 2, TimeUnit.SECONDS).await(10, TimeUnit.SECONDS),
            "event loop group terminated");
    }

    @Test
    void epollIsAvailableInsideTheFramework() {
        Throwable cause = Epoll.unavailabilityCause();
        if (cause != null) {
            cause.printStackTrace();
        }
        assertTrue(Epoll.isAvailable(), () -> "epoll unavailable in the framework: " + cause);

        Bundle epollClasses = FrameworkUtil.getBundle(Epoll.class);
        assertNotNull(epollClasses, "Epoll is loaded from a bundle, not the class path");
        assertEquals("io.netty.transport-classes-epoll", epollClasses.getSymbolicName());
    }

    @Test
    void testsRunWithParanoidLeakDetection() {
        assertEquals(ResourceLeakDetector.Level.PARANOID, ResourceLeakDetector.getLevel());
    }

    @Test
    void epollDatagramChannelSendsAndReceivesOnLoopback() throws Exception {
        assertTrue(Epoll.isAvailable(), () -> "epoll unavailable in the framework: " + Epoll.unavailabilityCause());

        CompletableFuture<String> received = new CompletableFuture<>();
        CompletableFuture<InetSocketAddress> sender = new CompletableFuture<>();
        Channel receiver = new Bootstrap()
            .group(group)
            .channel(EpollDatagramChannel.class)
            .handler(new SimpleChannelInboundHandler<DatagramPacket>() {
                @Override
                protected void channelRead0(ChannelHandlerContext ctx, DatagramPacket packet) {
                    // SimpleChannelInboundHandler releases the packet after this returns.
                    sender.complete(packet.sender());
                    received.complete(packet.content().toString(StandardCharsets.UTF_8));
                }

                @Override
                public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
                    received.completeExceptionally(cause);
                }
            })
            .bind(LOOPBACK).sync().channel();
        Channel client = new Bootstrap()
            .group(group)
            .channel(EpollDatagramChannel.class)
            .handler(new SimpleChannelInboundHandler<DatagramPacket>() {
                @Override
                protected void channelRead0(ChannelHandlerContext ctx, DatagramPacket packet) {
                    // nothing is sent to the client
                }
            })
            .bind(LOOPBACK).sync().channel();
        try {
            assertInstanceOf(EpollDatagramChannel.class, receiver);
            InetSocketAddress to = (InetSocketAddress) receiver.localAddress();
            ByteBuf payload = Unpooled.copiedBuffer("pando over epoll", StandardCharsets.UTF_8);
            client.writeAndFlush(new DatagramPacket(payload, to)).sync();

            assertEquals("pando over epoll", received.get(10, TimeUnit.SECONDS));
            assertEquals(client.localAddress(), sender.get(1, TimeUnit.SECONDS));
        } finally {
            client.close().sync();
            receiver.close().sync();
        }
    }
}
