package io.pando.remote.impl;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandler.Sharable;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.EncoderException;
import io.netty.handler.codec.MessageToByteEncoder;
import io.netty.util.NetUtil;
import io.pando.api.router.Execution;
import io.pando.api.session.Flow;
import io.pando.link.SessionPlan;
import io.pando.remote.impl.ControlMessage.UnitState;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Collection;
import java.util.Map;

/**
 * Encodes a {@link ControlMessage} as one length-prefixed frame (layout in {@link ControlDecoder}). Stateless,
 * so one instance serves every pipeline.
 */
@Sharable
final class ControlEncoder extends MessageToByteEncoder<ControlMessage> {

    static final ControlEncoder INSTANCE = new ControlEncoder();

    /** Error messages longer than this are cut (a message is for people, not a payload). */
    static final int MAX_ERROR_MESSAGE = 4096;

    private ControlEncoder() {
        super(ControlMessage.class);
    }

    @Override
    protected void encode(ChannelHandlerContext ctx, ControlMessage msg, ByteBuf out) {
        encode(msg, out);
    }

    /**
     * Writes the whole frame, length first.
     *
     * @throws EncoderException if the message cannot be represented (a string over 65535 bytes, an unresolved
     *     address, a frame over {@link ControlDecoder#MAX_FRAME}); nothing is written then
     */
    static void encode(ControlMessage msg, ByteBuf out) {
        int start = out.writerIndex();
        try {
            out.writeInt(0);
            body(msg, out);
        } catch (RuntimeException e) {
            out.writerIndex(start);
            throw e instanceof EncoderException ee ? ee : new EncoderException("cannot encode " + msg + ": " + e, e);
        }
        int length = out.writerIndex() - start - 4;
        if (length > ControlDecoder.MAX_FRAME) {
            out.writerIndex(start);
            throw new EncoderException("control frame of " + length + " bytes exceeds " + ControlDecoder.MAX_FRAME);
        }
        out.setInt(start, length);
    }

    private static void body(ControlMessage msg, ByteBuf out) {
        if (msg instanceof ControlMessage.Hello m) {
            head(out, ControlDecoder.HELLO, m.requestId());
            out.writeShort(m.version());
            string(out, m.client());
        } else if (msg instanceof ControlMessage.ListUnits m) {
            head(out, ControlDecoder.LIST_UNITS, m.requestId());
        } else if (msg instanceof ControlMessage.Open m) {
            head(out, ControlDecoder.OPEN, m.requestId());
            string(out, m.unit().value());
            plan(out, m.plan());
            address(out, m.aggregation());
        } else if (msg instanceof ControlMessage.Close m) {
            head(out, ControlDecoder.CLOSE, m.requestId());
            string(out, m.unit().value());
            out.writeLong(m.session().value());
        } else if (msg instanceof ControlMessage.SessionCounters m) {
            head(out, ControlDecoder.SESSION_COUNTERS, m.requestId());
            string(out, m.unit().value());
            out.writeLong(m.session().value());
        } else if (msg instanceof ControlMessage.UnitCounters m) {
            head(out, ControlDecoder.UNIT_COUNTERS, m.requestId());
            string(out, m.unit().value());
        } else if (msg instanceof ControlMessage.SelectScheduler m) {
            head(out, ControlDecoder.SELECT_SCHEDULER, m.requestId());
            string(out, m.unit().value());
            string(out, m.scheduler());
        } else if (msg instanceof ControlMessage.Validate m) {
            head(out, ControlDecoder.VALIDATE, m.requestId());
            string(out, m.unit().value());
            plan(out, m.plan());
        } else if (msg instanceof ControlMessage.Ok m) {
            head(out, ControlDecoder.OK, m.requestId());
        } else if (msg instanceof ControlMessage.Error m) {
            head(out, ControlDecoder.ERROR, m.requestId());
            out.writeByte(m.code().wire);
            String text = m.message();
            string(out, text.length() > MAX_ERROR_MESSAGE ? text.substring(0, MAX_ERROR_MESSAGE) + "..." : text);
        } else if (msg instanceof ControlMessage.Units m) {
            head(out, ControlDecoder.UNITS, m.requestId());
            count(out, m.units().size());
            for (UnitState u : m.units()) {
                string(out, u.id().value());
                strings(out, u.programs());
                string(out, u.scheduler());
                out.writeDouble(u.load().cpu());
                out.writeLong(u.load().bufferUsed());
                out.writeLong(u.load().bufferCapacity());
                out.writeInt(u.load().sessions());
                out.writeLong(u.load().queuedDatagrams());
                out.writeLong(u.load().at().toEpochMilli());
            }
        } else if (msg instanceof ControlMessage.Counters m) {
            head(out, ControlDecoder.COUNTERS, m.requestId());
            count(out, m.counters().size());
            for (Map.Entry<String, Long> e : m.counters().entrySet()) {
                string(out, e.getKey());
                out.writeLong(e.getValue());
            }
        } else {
            throw new EncoderException("not a wire message: " + msg);
        }
    }

    private static void head(ByteBuf out, int type, int requestId) {
        out.writeByte(type);
        out.writeInt(requestId);
    }

    private static void plan(ByteBuf out, SessionPlan p) {
        out.writeLong(p.id().value());
        string(out, p.name());
        string(out, p.program());
        count(out, p.parameters().size());
        for (Map.Entry<String, String> e : p.parameters().entrySet()) {
            string(out, e.getKey());
            string(out, e.getValue());
        }
        address(out, p.destination());
        count(out, p.units().size());
        p.units().forEach(u -> string(out, u.value()));
        out.writeLong(p.quotaBytes());
        out.writeLong(p.reorderWindowMillis().orElse(-1L));
        Execution x = p.execution();
        out.writeByte(x.isolation().map(i -> i.ordinal() + 1).orElse(0));
        out.writeLong(x.cpuBudgetMicros());
        out.writeInt(x.memoryMb());
        out.writeDouble(x.cpus());
        count(out, p.flows().size());
        for (Flow f : p.flows()) {
            out.writeInt((int) f.id().value());
            string(out, f.name());
            address(out, f.destination());
        }
    }

    private static void address(ByteBuf out, InetSocketAddress a) {
        if (a.getAddress() == null) {
            throw new EncoderException("address " + a + " is not resolved");
        }
        string(out, NetUtil.toAddressString(a.getAddress()));
        out.writeShort(a.getPort());
    }

    private static void count(ByteBuf out, int n) {
        if (n > 0xFFFF) {
            throw new EncoderException("at most 65535 entries, got " + n);
        }
        out.writeShort(n);
    }

    private static void strings(ByteBuf out, Collection<String> l) {
        count(out, l.size());
        l.forEach(s -> string(out, s));
    }

    static void string(ByteBuf out, String s) {
        int lengthAt = out.writerIndex();
        out.writeShort(0);
        int n = out.writeCharSequence(s, StandardCharsets.UTF_8);
        if (n > 0xFFFF) {
            throw new EncoderException("a string has at most 65535 UTF-8 bytes, got " + n);
        }
        out.setShort(lengthAt, n);
    }
}
