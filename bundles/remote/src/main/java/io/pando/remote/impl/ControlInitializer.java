package io.pando.remote.impl;

import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.codec.LengthFieldBasedFrameDecoder;
import java.util.function.Supplier;

/**
 * Builds the pipeline of a control connection, on both sides: frames cut by their 4-byte length, decoded to
 * {@link ControlMessage}s, encoded back, and the side's handler.
 */
final class ControlInitializer extends ChannelInitializer<Channel> {

    private final Supplier<ChannelHandler> handler;

    /** @param handler makes the connection's handler (one per connection) */
    ControlInitializer(Supplier<ChannelHandler> handler) {
        this.handler = handler;
    }

    @Override
    protected void initChannel(Channel ch) {
        ChannelPipeline p = ch.pipeline();
        p.addLast("frames", frameDecoder());
        p.addLast("decoder", new ControlDecoder());
        p.addLast("encoder", ControlEncoder.INSTANCE);
        p.addLast("handler", handler.get());
    }

    /** @return the decoder that cuts frames: u32 length, then that many bytes (at most 1 MiB) */
    static LengthFieldBasedFrameDecoder frameDecoder() {
        return new LengthFieldBasedFrameDecoder(ControlDecoder.MAX_FRAME, 0, 4, 0, 4, true);
    }
}
