package io.pando.remote.impl;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.CorruptedFrameException;
import io.netty.handler.codec.MessageToMessageDecoder;
import io.netty.util.NetUtil;
import io.pando.api.router.Execution;
import io.pando.api.router.Isolation;
import io.pando.api.session.Flow;
import io.pando.api.session.FlowId;
import io.pando.api.session.SessionId;
import io.pando.api.unit.UnitId;
import io.pando.api.unit.UnitLoad;
import io.pando.link.SessionPlan;
import io.pando.remote.impl.ControlMessage.ErrorCode;
import io.pando.remote.impl.ControlMessage.UnitState;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Decodes one control frame (the body that {@link ControlInitializer}'s length-field decoder cut out) into a
 * {@link ControlMessage}. A body it cannot read becomes {@link ControlMessage.Malformed} with the reason, so the
 * receiver can answer it; nothing is thrown for a bad body, the next frame is read normally.
 *
 * <pre>
 * frame    = length:u32 body                      length: bytes of body, 5 .. {@value #MAX_FRAME}
 * body     = type:u8 request_id:u32 fields
 * string   = n:u16 utf-8[n]          strings = n:u16 string*n       address = ip_literal:string port:u16
 * str_map  = n:u16 (string string)*n            long_map = n:u16 (string i64)*n
 *
 * 0x01 HELLO             version:u16 client:string
 * 0x02 LIST_UNITS
 * 0x03 OPEN              unit:string plan aggregation:address
 * 0x04 CLOSE             unit:string session:u64
 * 0x05 SESSION_COUNTERS  unit:string session:u64
 * 0x06 UNIT_COUNTERS     unit:string
 * 0x07 SELECT_SCHEDULER  unit:string scheduler:string
 * 0x08 VALIDATE          unit:string plan
 * 0x40 OK
 * 0x41 ERROR             code:u8 message:string
 * 0x42 UNITS             n:u16 (id:string programs:strings scheduler:string cpu:f64 buffer_used:i64
 *                               buffer_capacity:i64 sessions:u32 queued:i64 at_epoch_ms:i64)*n
 * 0x43 COUNTERS          long_map
 *
 * plan     = session:u64 name:string program:string parameters:str_map destination:address units:strings
 *            quota_bytes:i64 reorder_window_ms:i64 (-1: none)
 *            isolation:u8 (0: the unit chooses, else 1 + Isolation ordinal) cpu_budget_us:i64 memory_mb:u32 cpus:f64
 *            flows:(n:u16 (id:u32 name:string destination:address)*n)   ascending ids, flow 0 among them
 *
 * Version 2 (HELLO) added the plan's flows.
 * </pre>
 */
final class ControlDecoder extends MessageToMessageDecoder<ByteBuf> {

    /** Largest frame body, in bytes. */
    static final int MAX_FRAME = 1 << 20;

    static final int HELLO = 0x01;
    static final int LIST_UNITS = 0x02;
    static final int OPEN = 0x03;
    static final int CLOSE = 0x04;
    static final int SESSION_COUNTERS = 0x05;
    static final int UNIT_COUNTERS = 0x06;
    static final int SELECT_SCHEDULER = 0x07;
    static final int VALIDATE = 0x08;
    static final int OK = 0x40;
    static final int ERROR = 0x41;
    static final int UNITS = 0x42;
    static final int COUNTERS = 0x43;

    ControlDecoder() {
        super(ByteBuf.class);
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf frame, List<Object> out) {
        out.add(decode(frame));
    }

    /**
     * Decodes one frame body; reads it whole whatever happens.
     *
     * @param frame the body: type, request id, fields (not released here)
     * @return the message, or {@link ControlMessage.Malformed}
     */
    static ControlMessage decode(ByteBuf frame) {
        int size = frame.readableBytes();
        if (size < 5) {
            frame.skipBytes(size);
            return new ControlMessage.Malformed(0, "a control frame has at least 5 bytes (type, request id), got "
                + size);
        }
        int type = frame.readUnsignedByte();
        int id = frame.readInt();
        try {
            ControlMessage m = body(type, id, frame);
            if (frame.isReadable()) {
                return new ControlMessage.Malformed(id, frame.readableBytes() + " unexpected bytes after "
                    + name(type));
            }
            return m;
        } catch (CorruptedFrameException | IllegalArgumentException | NullPointerException e) {
            return new ControlMessage.Malformed(id, "bad " + name(type) + ": " + e.getMessage());
        } finally {
            frame.skipBytes(frame.readableBytes());
        }
    }

    private static ControlMessage body(int type, int id, ByteBuf b) {
        return switch (type) {
            case HELLO -> new ControlMessage.Hello(id, b.readUnsignedShort(), string(b));
            case LIST_UNITS -> new ControlMessage.ListUnits(id);
            case OPEN -> new ControlMessage.Open(id, unit(b), plan(b), address(b));
            case CLOSE -> new ControlMessage.Close(id, unit(b), session(b));
            case SESSION_COUNTERS -> new ControlMessage.SessionCounters(id, unit(b), session(b));
            case UNIT_COUNTERS -> new ControlMessage.UnitCounters(id, unit(b));
            case SELECT_SCHEDULER -> new ControlMessage.SelectScheduler(id, unit(b), string(b));
            case VALIDATE -> new ControlMessage.Validate(id, unit(b), plan(b));
            case OK -> new ControlMessage.Ok(id);
            case ERROR -> new ControlMessage.Error(id, ErrorCode.of(u8(b)), string(b));
            case UNITS -> units(id, b);
            case COUNTERS -> new ControlMessage.Counters(id, longMap(b));
            default -> throw new CorruptedFrameException(String.format("unknown message type 0x%02x", type));
        };
    }

    static String name(int type) {
        return switch (type) {
            case HELLO -> "HELLO";
            case LIST_UNITS -> "LIST_UNITS";
            case OPEN -> "OPEN";
            case CLOSE -> "CLOSE";
            case SESSION_COUNTERS -> "SESSION_COUNTERS";
            case UNIT_COUNTERS -> "UNIT_COUNTERS";
            case SELECT_SCHEDULER -> "SELECT_SCHEDULER";
            case VALIDATE -> "VALIDATE";
            case OK -> "OK";
            case ERROR -> "ERROR";
            case UNITS -> "UNITS";
            case COUNTERS -> "COUNTERS";
            default -> String.format("message type 0x%02x", type);
        };
    }

    private static ControlMessage.Units units(int id, ByteBuf b) {
        int n = u16(b);
        List<UnitState> list = new ArrayList<>(Math.min(n, 1024));
        for (int i = 0; i < n; i++) {
            UnitId unit = unit(b);
            Set<String> programs = new LinkedHashSet<>(strings(b));
            String scheduler = string(b);
            need(b, 8 + 8 + 8 + 4 + 8 + 8, "unit load");
            double cpu = b.readDouble();
            long used = b.readLong();
            long capacity = b.readLong();
            long sessions = b.readUnsignedInt();
            long queued = b.readLong();
            long at = b.readLong();
            if (sessions > Integer.MAX_VALUE) {
                throw new CorruptedFrameException("sessions out of range: " + sessions);
            }
            list.add(new UnitState(unit, programs, scheduler,
                new UnitLoad(unit, Instant.ofEpochMilli(at), cpu, used, capacity, (int) sessions, queued)));
        }
        return new ControlMessage.Units(id, list);
    }

    private static SessionPlan plan(ByteBuf b) {
        SessionId id = session(b);
        String name = string(b);
        String program = string(b);
        Map<String, String> parameters = stringMap(b);
        InetSocketAddress destination = address(b);
        List<UnitId> units = new ArrayList<>();
        for (String u : strings(b)) {
            units.add(UnitId.of(u));
        }
        need(b, 16, "quota and reorder window");
        long quota = b.readLong();
        long window = b.readLong();
        if (window < -1) {
            throw new CorruptedFrameException("reorder window must be -1 (none) or >= 0 ms, got " + window);
        }
        need(b, 21, "execution");
        int isolation = b.readUnsignedByte();
        long budget = b.readLong();
        int memory = b.readInt();
        double cpus = b.readDouble();
        if (isolation > Isolation.values().length) {
            throw new CorruptedFrameException("unknown isolation " + isolation);
        }
        Execution execution;
        try {
            execution = new Execution(isolation == 0 ? Optional.empty() : Optional.of(Isolation.values()[isolation - 1]),
                budget, memory, cpus);
        } catch (IllegalArgumentException e) {
            throw new CorruptedFrameException("execution: " + e.getMessage());
        }
        int n = u16(b);
        List<Flow> flows = new ArrayList<>(Math.min(n, 64));
        for (int i = 0; i < n; i++) {
            need(b, 4, "flow id");
            FlowId flow = FlowId.of(b.readUnsignedInt());
            flows.add(new Flow(flow, string(b), address(b)));
        }
        if (flows.isEmpty()) {
            throw new CorruptedFrameException("a plan has at least flow 0");
        }
        return new SessionPlan(id, name, program, parameters, destination, units, quota,
            window < 0 ? Optional.empty() : Optional.of(window), execution, flows);
    }

    // ---- fields

    private static void need(ByteBuf b, int bytes, String what) {
        if (b.readableBytes() < bytes) {
            throw new CorruptedFrameException(what + " truncated: " + bytes + " bytes needed, " + b.readableBytes()
                + " left");
        }
    }

    private static int u8(ByteBuf b) {
        need(b, 1, "u8");
        return b.readUnsignedByte();
    }

    private static int u16(ByteBuf b) {
        need(b, 2, "count");
        return b.readUnsignedShort();
    }

    static String string(ByteBuf b) {
        int n = u16(b);
        need(b, n, "string");
        return b.readCharSequence(n, StandardCharsets.UTF_8).toString();
    }

    private static List<String> strings(ByteBuf b) {
        int n = u16(b);
        List<String> l = new ArrayList<>(Math.min(n, 1024));
        for (int i = 0; i < n; i++) {
            l.add(string(b));
        }
        return l;
    }

    private static Map<String, String> stringMap(ByteBuf b) {
        int n = u16(b);
        Map<String, String> m = new LinkedHashMap<>();
        for (int i = 0; i < n; i++) {
            String k = string(b);
            if (m.put(k, string(b)) != null) {
                throw new CorruptedFrameException("key '" + k + "' appears twice");
            }
        }
        return m;
    }

    private static Map<String, Long> longMap(ByteBuf b) {
        int n = u16(b);
        Map<String, Long> m = new LinkedHashMap<>();
        for (int i = 0; i < n; i++) {
            String k = string(b);
            need(b, 8, "counter value");
            if (m.put(k, b.readLong()) != null) {
                throw new CorruptedFrameException("counter '" + k + "' appears twice");
            }
        }
        return m;
    }

    private static UnitId unit(ByteBuf b) {
        return UnitId.of(string(b));
    }

    private static SessionId session(ByteBuf b) {
        need(b, 8, "session id");
        return new SessionId(b.readLong());
    }

    private static InetSocketAddress address(ByteBuf b) {
        String host = string(b);
        int port = u16(b);
        byte[] ip = NetUtil.createByteArrayFromIpAddressString(host);
        if (ip == null) {
            throw new CorruptedFrameException("an address is an IP literal, got '" + host + "'");
        }
        if (port == 0) {
            throw new CorruptedFrameException("port 0 in address " + host);
        }
        try {
            return new InetSocketAddress(InetAddress.getByAddress(ip), port);
        } catch (UnknownHostException e) { // cannot happen for 4 or 16 bytes
            throw new CorruptedFrameException("bad address " + host, e);
        }
    }
}
