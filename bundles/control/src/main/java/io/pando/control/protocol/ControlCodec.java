package io.pando.control.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;
import org.osgi.annotation.versioning.ProviderType;

/**
 * Reads and writes control messages as the control block of a CONTROL datagram (docs/control.md). Stateless and
 * thread-safe. {@link #decode} never keeps or releases the buffer it reads: the caller owns it.
 */
@ProviderType
public final class ControlCodec {

    /** TLV END. */
    public static final int END = 0x0000;
    public static final int MESSAGE = 0x4010;
    public static final int REQUEST_ID = 0x4011;
    public static final int USER = 0x4012;
    public static final int PASSWORD = 0x4013;
    public static final int TOKEN = 0x4014;
    public static final int TOKEN_LIFETIME = 0x4015;
    public static final int PROGRAM = 0x4016;
    public static final int NAME = 0x4017;
    public static final int PARAMETER = 0x4018;
    public static final int DESTINATION = 0x4019;
    public static final int FLOW = 0x401A;
    public static final int CPU_SHARE = 0x401B;
    public static final int MEMORY = 0x401C;
    public static final int CPU_BUDGET = 0x401D;
    public static final int BANDWIDTH = 0x401E;
    public static final int REORDER = 0x401F;
    public static final int DISTRIBUTION = 0x4020;
    public static final int SESSION_ID = 0x4021;
    public static final int INGRESS = 0x4022;
    public static final int SESSION_KEY = 0x4023;
    public static final int REFUSAL = 0x4024;
    public static final int REASON = 0x4025;
    public static final int SESSION = 0x4026;
    public static final int UNIT = 0x4027;
    public static final int COUNTER = 0x4028;
    public static final int STATE = 0x4029;

    /** Largest request (the control endpoint's maximum datagram size). */
    public static final int MAX_REQUEST = 65_535;
    /** Most program parameters. */
    public static final int MAX_PARAMETERS = 64;
    /** Most FLOW fields (flow 0 is the DESTINATION). */
    public static final int MAX_FLOWS = 63;
    /** Most UNIT fields. */
    public static final int MAX_UNITS = 64;
    /** Most COUNTER fields. */
    public static final int MAX_COUNTERS = 256;
    /** Longest REASON in bytes. */
    public static final int MAX_REASON = 1024;

    private static final Pattern NAME_SYNTAX = Pattern.compile("[A-Za-z0-9._-]{1,64}");
    private static final Pattern COUNTER_SYNTAX = Pattern.compile("[a-z0-9_]{1,64}");

    private ControlCodec() {
    }

    /** @return a field type's name, e.g. {@code PROGRAM}, or its hex value */
    public static String fieldName(int type) {
        return switch (type) {
            case END -> "END";
            case MESSAGE -> "MESSAGE";
            case REQUEST_ID -> "REQUEST_ID";
            case USER -> "USER";
            case PASSWORD -> "PASSWORD";
            case TOKEN -> "TOKEN";
            case TOKEN_LIFETIME -> "TOKEN_LIFETIME";
            case PROGRAM -> "PROGRAM";
            case NAME -> "NAME";
            case PARAMETER -> "PARAMETER";
            case DESTINATION -> "DESTINATION";
            case FLOW -> "FLOW";
            case CPU_SHARE -> "CPU_SHARE";
            case MEMORY -> "MEMORY";
            case CPU_BUDGET -> "CPU_BUDGET";
            case BANDWIDTH -> "BANDWIDTH";
            case REORDER -> "REORDER";
            case DISTRIBUTION -> "DISTRIBUTION";
            case SESSION_ID -> "SESSION_ID";
            case INGRESS -> "INGRESS";
            case SESSION_KEY -> "SESSION_KEY";
            case REFUSAL -> "REFUSAL";
            case REASON -> "REASON";
            case SESSION -> "SESSION";
            case UNIT -> "UNIT";
            case COUNTER -> "COUNTER";
            case STATE -> "STATE";
            default -> String.format("0x%04X", type);
        };
    }

    // ------------------------------------------------------------------------------------------------ encoding

    /**
     * Encodes a message into a new buffer (control block and END, no application data).
     *
     * @param alloc the allocator
     * @param message the message
     * @return the datagram; the caller owns it
     * @throws IllegalArgumentException if a field breaks its rule (nothing is leaked)
     */
    public static ByteBuf encode(ByteBufAllocator alloc, ControlMessage message) {
        ByteBuf out = alloc.buffer(256);
        try {
            encode(message, out);
            return out;
        } catch (RuntimeException e) {
            out.release();
            throw e;
        }
    }

    /**
     * Appends a message to {@code out}.
     *
     * @throws IllegalArgumentException if a field breaks its rule; {@code out} may then hold part of the message
     */
    public static void encode(ControlMessage message, ByteBuf out) {
        u16(out, MESSAGE, message.type());
        u64(out, REQUEST_ID, message.requestId());
        if (message instanceof ControlMessage.Auth m) {
            text(out, USER, m.user(), 1, 64);
            text(out, PASSWORD, m.password(), 1, 1024);
        } else if (message instanceof ControlMessage.Open m) {
            token(out, TOKEN, m.token());
            name(out, PROGRAM, m.program());
            if (m.name().isPresent()) {
                name(out, NAME, m.name().get());
            }
            if (m.parameters().size() > MAX_PARAMETERS) {
                throw new IllegalArgumentException("at most " + MAX_PARAMETERS + " PARAMETER fields, got "
                    + m.parameters().size());
            }
            for (Map.Entry<String, String> e : m.parameters().entrySet()) {
                checkName("PARAMETER key", e.getKey());
                byte[] k = e.getKey().getBytes(StandardCharsets.US_ASCII);
                byte[] v = utf8("PARAMETER " + e.getKey(), e.getValue(), 0, 4096);
                header(out, PARAMETER, 1 + k.length + v.length);
                out.writeByte(k.length).writeBytes(k).writeBytes(v);
            }
            endpoint(out, DESTINATION, m.destination());
            if (m.flows().size() > MAX_FLOWS) {
                throw new IllegalArgumentException("at most " + MAX_FLOWS + " FLOW fields, got " + m.flows().size());
            }
            for (FlowSpec f : m.flows()) {
                byte[] n = f.name().getBytes(StandardCharsets.US_ASCII);
                byte[] a = f.destination().getAddress().getAddress();
                header(out, FLOW, 5 + n.length + 3 + a.length);
                out.writeInt((int) f.id()).writeByte(n.length).writeBytes(n);
                writeEndpoint(out, f.destination());
            }
            Resources r = m.resources();
            if (r.milliCpus() != 0) {
                u32(out, CPU_SHARE, r.milliCpus());
            }
            if (r.memoryMb() != 0) {
                u32(out, MEMORY, r.memoryMb());
            }
            if (r.cpuBudgetMicros() != 0) {
                u32(out, CPU_BUDGET, r.cpuBudgetMicros());
            }
            if (r.bandwidthBps() != 0) {
                u64(out, BANDWIDTH, r.bandwidthBps());
            }
            if (r.reorderMillis() >= 0) {
                u32(out, REORDER, r.reorderMillis());
            }
            distribution(out, m.distribution());
        } else if (message instanceof ControlMessage.Close m) {
            token(out, TOKEN, m.token());
            sessionId(out, m.sessionId());
        } else if (message instanceof ControlMessage.ListSessions m) {
            token(out, TOKEN, m.token());
        } else if (message instanceof ControlMessage.Authed m) {
            text(out, USER, m.user(), 1, 64);
            token(out, TOKEN, m.token());
            if (m.lifetimeSeconds() < 0 || m.lifetimeSeconds() > 0xFFFF_FFFFL) {
                throw new IllegalArgumentException("TOKEN_LIFETIME is a u32, got " + m.lifetimeSeconds());
            }
            u32(out, TOKEN_LIFETIME, (int) m.lifetimeSeconds());
        } else if (message instanceof ControlMessage.Opened m) {
            sessionId(out, m.sessionId());
            name(out, NAME, m.name());
            endpoint(out, INGRESS, m.ingress());
            units(out, m.units());
            if (m.sessionKey().isPresent()) {
                token(out, SESSION_KEY, m.sessionKey().get());
            }
        } else if (message instanceof ControlMessage.Closed m) {
            sessionId(out, m.sessionId());
            int n = 0;
            for (Map.Entry<String, Long> e : m.counters().entrySet()) {
                if (++n > MAX_COUNTERS || !COUNTER_SYNTAX.matcher(e.getKey()).matches()) {
                    continue; // counters are information: skip what does not fit rather than fail the close
                }
                byte[] k = e.getKey().getBytes(StandardCharsets.US_ASCII);
                header(out, COUNTER, 1 + k.length + 8);
                out.writeByte(k.length).writeBytes(k).writeLong(e.getValue());
            }
        } else if (message instanceof ControlMessage.ListResult m) {
            for (SessionSummary s : m.sessions()) {
                int at = out.writerIndex();
                out.writeShort(SESSION).writeShort(0);
                sessionId(out, s.sessionId());
                name(out, NAME, s.name());
                name(out, PROGRAM, s.program());
                text(out, STATE, s.state(), 1, 32);
                endpoint(out, INGRESS, s.ingress());
                units(out, s.units());
                u32(out, CPU_SHARE, s.milliCpus());
                if (s.bandwidthBps() != 0) {
                    u64(out, BANDWIDTH, s.bandwidthBps());
                }
                distribution(out, s.distribution());
                int length = out.writerIndex() - at - 4;
                if (length > 0xFFFF) {
                    throw new IllegalArgumentException("a SESSION field exceeds 65535 bytes");
                }
                out.setShort(at + 2, length);
            }
        } else if (message instanceof ControlMessage.Refused m) {
            u16(out, REFUSAL, m.wireCode());
            String reason = m.reason().isEmpty() ? "refused" : m.reason();
            text(out, REASON, truncate(reason, MAX_REASON), 1, MAX_REASON);
        }
        out.writeShort(END).writeShort(0);
    }

    /** @return {@code s} cut to at most {@code maxBytes} of UTF-8, on a character boundary, with "..." if cut */
    static String truncate(String s, int maxBytes) {
        String clean = s.replaceAll("\\p{Cntrl}", " ");
        if (clean.getBytes(StandardCharsets.UTF_8).length <= maxBytes) {
            return clean;
        }
        StringBuilder b = new StringBuilder();
        int bytes = 0;
        for (int i = 0; i < clean.length(); ) {
            int cp = clean.codePointAt(i);
            int n = new String(Character.toChars(cp)).getBytes(StandardCharsets.UTF_8).length;
            if (bytes + n > maxBytes - 3) {
                break;
            }
            b.appendCodePoint(cp);
            bytes += n;
            i += Character.charCount(cp);
        }
        return b.append("...").toString();
    }

    private static void header(ByteBuf out, int type, int length) {
        if (length > 0xFFFF) {
            throw new IllegalArgumentException(fieldName(type) + " exceeds 65535 bytes: " + length);
        }
        out.writeShort(type).writeShort(length);
    }

    private static void u16(ByteBuf out, int type, int v) {
        header(out, type, 2);
        out.writeShort(v);
    }

    private static void u32(ByteBuf out, int type, int v) {
        header(out, type, 4);
        out.writeInt(v);
    }

    private static void u64(ByteBuf out, int type, long v) {
        header(out, type, 8);
        out.writeLong(v);
    }

    private static void sessionId(ByteBuf out, long id) {
        if (id == 0) {
            throw new IllegalArgumentException("SESSION_ID 0 is reserved for the control session");
        }
        u64(out, SESSION_ID, id);
    }

    private static void token(ByteBuf out, int type, byte[] token) {
        if (token.length != ControlMessage.TOKEN_LENGTH) {
            throw new IllegalArgumentException(fieldName(type) + " has " + ControlMessage.TOKEN_LENGTH
                + " bytes, got " + token.length);
        }
        header(out, type, token.length);
        out.writeBytes(token);
    }

    private static void text(ByteBuf out, int type, String s, int min, int max) {
        byte[] b = utf8(fieldName(type), s, min, max);
        header(out, type, b.length);
        out.writeBytes(b);
    }

    private static void name(ByteBuf out, int type, String s) {
        checkName(fieldName(type), s);
        text(out, type, s, 1, 64);
    }

    private static void units(ByteBuf out, List<String> units) {
        if (units.size() > MAX_UNITS) {
            throw new IllegalArgumentException("at most " + MAX_UNITS + " UNIT fields, got " + units.size());
        }
        for (String u : units) {
            text(out, UNIT, u, 1, 64);
        }
    }

    private static void distribution(ByteBuf out, Distribution d) {
        header(out, DISTRIBUTION, 3);
        out.writeByte(d.mode() == Distribution.Mode.ONE ? 1 : 2).writeShort(d.units());
    }

    private static void checkName(String field, String s) {
        if (s == null || !NAME_SYNTAX.matcher(s).matches()) {
            throw new IllegalArgumentException(field + " has 1 to 64 characters [A-Za-z0-9._-], got '" + s + "'");
        }
    }

    private static byte[] utf8(String field, String s, int min, int max) {
        if (s == null) {
            throw new IllegalArgumentException(field + " missing");
        }
        if (s.chars().anyMatch(c -> c < 0x20 || c == 0x7F)) {
            throw new IllegalArgumentException(field + " contains a control character");
        }
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        if (b.length < min || b.length > max) {
            throw new IllegalArgumentException(field + " has " + min + " to " + max + " bytes of UTF-8, got " + b.length);
        }
        return b;
    }

    private static void endpoint(ByteBuf out, int type, InetSocketAddress a) {
        if (a.isUnresolved() || a.getPort() == 0) {
            throw new IllegalArgumentException(fieldName(type) + " needs a resolved address and a port, got " + a);
        }
        header(out, type, 3 + a.getAddress().getAddress().length);
        writeEndpoint(out, a);
    }

    private static void writeEndpoint(ByteBuf out, InetSocketAddress a) {
        if (a.isUnresolved() || a.getPort() == 0) {
            throw new IllegalArgumentException("an endpoint needs a resolved address and a port, got " + a);
        }
        byte[] addr = a.getAddress().getAddress();
        out.writeByte(addr.length == 4 ? 4 : 6).writeBytes(addr).writeShort(a.getPort());
    }

    // ------------------------------------------------------------------------------------------------ decoding

    /** The fields of a message, in order, as slices of the datagram (valid while it is). */
    private record Field(int type, ByteBuf value) {
    }

    /**
     * Decodes one message from the readable bytes of {@code datagram} (a CONTROL datagram's payload). Moves no index.
     *
     * @return the message
     * @throws ControlProtocolException naming the field and the rule it breaks, with the request id if it was read
     */
    public static ControlMessage decode(ByteBuf datagram) {
        List<Field> fields = fields(datagram);
        if (fields.isEmpty() || fields.get(0).type != MESSAGE) {
            throw malformed(0, "the first field must be MESSAGE");
        }
        int type = fixed(0, fields.get(0), 2).getUnsignedShort(0);
        if (fields.size() < 2 || fields.get(1).type != REQUEST_ID) {
            throw malformed(0, "the second field must be REQUEST_ID");
        }
        long id = fixed(0, fields.get(1), 8).getLong(0);
        Reader r = new Reader(id, fields.subList(2, fields.size()));
        ControlMessage m = switch (type) {
            case ControlMessage.Auth.TYPE -> auth(r);
            case ControlMessage.Open.TYPE -> open(r);
            case ControlMessage.Close.TYPE -> new ControlMessage.Close(id, r.token(r.one(TOKEN, true)),
                r.sessionId(r.one(SESSION_ID, true)));
            case ControlMessage.ListSessions.TYPE -> new ControlMessage.ListSessions(id, r.token(r.one(TOKEN, true)));
            case ControlMessage.Authed.TYPE -> new ControlMessage.Authed(id, r.text(r.one(USER, true), 1, 64),
                r.token(r.one(TOKEN, true)), r.u32(r.one(TOKEN_LIFETIME, true)));
            case ControlMessage.Opened.TYPE -> opened(r);
            case ControlMessage.Closed.TYPE -> closed(r);
            case ControlMessage.ListResult.TYPE -> listResult(r);
            case ControlMessage.Refused.TYPE -> refused(r);
            default -> throw new ControlProtocolException(id, RefusalCode.UNKNOWN_MESSAGE,
                String.format("unknown MESSAGE type 0x%04X", type));
        };
        r.finish();
        return m;
    }

    private static List<Field> fields(ByteBuf d) {
        int i = d.readerIndex();
        int limit = d.writerIndex();
        List<Field> fields = new ArrayList<>();
        long id = 0;
        while (true) {
            if (limit - i < 4) {
                throw malformed(id, "the control block ends without END (truncated field header at byte "
                    + (i - d.readerIndex()) + ")");
            }
            int type = d.getUnsignedShort(i);
            int length = d.getUnsignedShort(i + 2);
            i += 4;
            if (type == END) {
                if (length != 0) {
                    throw malformed(id, "END has length " + length + ", must be 0");
                }
                if (i != limit) {
                    throw malformed(id, (limit - i) + " bytes of application data after END; control messages have none");
                }
                return fields;
            }
            if (limit - i < length) {
                throw malformed(id, fieldName(type) + " of length " + length + " runs past the end of the datagram ("
                    + (limit - i) + " bytes left)");
            }
            ByteBuf value = d.slice(i, length);
            if (fields.size() == 1 && type == REQUEST_ID && length == 8) {
                id = value.getLong(0);
            }
            fields.add(new Field(type, value));
            i += length;
        }
    }

    private static ControlProtocolException malformed(long id, String message) {
        return new ControlProtocolException(id, RefusalCode.MALFORMED, message);
    }

    private static ByteBuf fixed(long id, Field f, int length) {
        if (f.value.readableBytes() != length) {
            throw malformed(id, fieldName(f.type) + " has length " + length + ", got " + f.value.readableBytes());
        }
        return f.value;
    }

    /** Takes fields by type, checking repetition, then that nothing else is left. */
    private static final class Reader {
        final long id;
        final List<Field> fields;
        final boolean[] used;

        Reader(long id, List<Field> fields) {
            this.id = id;
            this.fields = fields;
            this.used = new boolean[fields.size()];
        }

        ControlProtocolException bad(String message) {
            return malformed(id, message);
        }

        Field one(int type, boolean required) {
            Field found = null;
            for (int i = 0; i < fields.size(); i++) {
                if (fields.get(i).type == type) {
                    if (found != null) {
                        throw bad(fieldName(type) + " is given more than once");
                    }
                    found = fields.get(i);
                    used[i] = true;
                }
            }
            if (found == null && required) {
                throw bad(fieldName(type) + " is missing");
            }
            return found;
        }

        List<Field> all(int type, int max) {
            List<Field> out = new ArrayList<>();
            for (int i = 0; i < fields.size(); i++) {
                if (fields.get(i).type == type) {
                    used[i] = true;
                    out.add(fields.get(i));
                }
            }
            if (out.size() > max) {
                throw bad("at most " + max + " " + fieldName(type) + " fields, got " + out.size());
            }
            return out;
        }

        void finish() {
            for (int i = 0; i < fields.size(); i++) {
                if (!used[i]) {
                    int t = fields.get(i).type;
                    throw bad(t >= 0x4010 && t <= 0x4029 ? fieldName(t) + " is not allowed in this message"
                        : "unknown field type " + fieldName(t));
                }
            }
        }

        long u64(Field f) {
            return fixed(id, f, 8).getLong(0);
        }

        long u32(Field f) {
            return fixed(id, f, 4).getUnsignedInt(0);
        }

        long range(Field f, long min, long max) {
            long v = u32(f);
            if (v < min || v > max) {
                throw bad(fieldName(f.type) + " is in [" + min + ", " + max + "], got " + v);
            }
            return v;
        }

        long sessionId(Field f) {
            long v = u64(f);
            if (v == 0) {
                throw bad("SESSION_ID 0 is the control session, not an active session");
            }
            return v;
        }

        byte[] token(Field f) {
            byte[] b = new byte[ControlMessage.TOKEN_LENGTH];
            fixed(id, f, b.length).getBytes(0, b);
            return b;
        }

        String text(Field f, int min, int max) {
            return text(fieldName(f.type), f.value, min, max);
        }

        String text(String what, ByteBuf value, int min, int max) {
            int n = value.readableBytes();
            if (n < min || n > max) {
                throw bad(what + " has " + min + " to " + max + " bytes, got " + n);
            }
            String s;
            try {
                s = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(value.nioBuffer(value.readerIndex(), n)).toString();
            } catch (CharacterCodingException e) {
                throw bad(what + " is not valid UTF-8");
            }
            if (s.chars().anyMatch(c -> c < 0x20 || c == 0x7F)) {
                throw bad(what + " contains a control character");
            }
            return s;
        }

        String name(Field f) {
            String s = text(f, 1, 64);
            if (!NAME_SYNTAX.matcher(s).matches()) {
                throw bad(fieldName(f.type) + " has 1 to 64 characters [A-Za-z0-9._-], got '" + s + "'");
            }
            return s;
        }

        InetSocketAddress endpoint(String what, ByteBuf v) {
            if (v.readableBytes() < 1) {
                throw bad(what + " is empty");
            }
            int family = v.getUnsignedByte(v.readerIndex());
            int addrLength = family == 4 ? 4 : family == 6 ? 16 : -1;
            if (addrLength < 0) {
                throw bad(what + ": address family is 4 or 6, got " + family);
            }
            if (v.readableBytes() != 1 + addrLength + 2) {
                throw bad(what + ": an IPv" + family + " endpoint has " + (3 + addrLength) + " bytes, got "
                    + v.readableBytes());
            }
            byte[] addr = new byte[addrLength];
            v.getBytes(v.readerIndex() + 1, addr);
            int port = v.getUnsignedShort(v.readerIndex() + 1 + addrLength);
            if (port == 0) {
                throw bad(what + ": port 0 is not a destination");
            }
            try {
                InetAddress a = InetAddress.getByAddress(addr);
                if (family == 6 && a instanceof Inet4Address) {
                    throw bad(what + ": an IPv4-mapped address must be sent as family 4");
                }
                return new InetSocketAddress(a, port);
            } catch (UnknownHostException e) {
                throw bad(what + ": bad address");
            }
        }

        Distribution distribution(Field f) {
            ByteBuf v = fixed(id, f, 3);
            int mode = v.getUnsignedByte(0);
            int k = v.getUnsignedShort(1);
            try {
                return switch (mode) {
                    case 1 -> new Distribution(Distribution.Mode.ONE, k);
                    case 2 -> new Distribution(Distribution.Mode.SPREAD, k);
                    default -> throw bad("DISTRIBUTION mode is 1 (ONE) or 2 (SPREAD), got " + mode);
                };
            } catch (IllegalArgumentException e) {
                throw bad(e.getMessage());
            }
        }

        List<String> units() {
            List<String> units = new ArrayList<>();
            for (Field f : all(UNIT, MAX_UNITS)) {
                units.add(text(f, 1, 64));
            }
            return units;
        }
    }

    private static ControlMessage.Auth auth(Reader r) {
        return new ControlMessage.Auth(r.id, r.text(r.one(USER, true), 1, 64), r.text(r.one(PASSWORD, true), 1, 1024));
    }

    private static ControlMessage.Open open(Reader r) {
        byte[] token = r.token(r.one(TOKEN, true));
        String program = r.name(r.one(PROGRAM, true));
        Field nameField = r.one(NAME, false);
        Optional<String> name = nameField == null ? Optional.empty() : Optional.of(r.name(nameField));
        Map<String, String> parameters = new LinkedHashMap<>();
        for (Field f : r.all(PARAMETER, MAX_PARAMETERS)) {
            ByteBuf v = f.value;
            if (v.readableBytes() < 1) {
                throw r.bad("PARAMETER is empty");
            }
            int k = v.getUnsignedByte(0);
            if (k < 1 || k > 64 || v.readableBytes() < 1 + k) {
                throw r.bad("PARAMETER key length is 1 to 64 and within the field, got " + k);
            }
            String key = r.text("PARAMETER key", v.slice(1, k), 1, 64);
            if (!NAME_SYNTAX.matcher(key).matches()) {
                throw r.bad("PARAMETER key has 1 to 64 characters [A-Za-z0-9._-], got '" + key + "'");
            }
            String value = r.text("PARAMETER " + key, v.slice(1 + k, v.readableBytes() - 1 - k), 0, 4096);
            if (parameters.put(key, value) != null) {
                throw r.bad("PARAMETER " + key + " is given twice");
            }
        }
        InetSocketAddress destination = r.endpoint("DESTINATION", r.one(DESTINATION, true).value);
        List<FlowSpec> flows = new ArrayList<>();
        Set<Long> ids = new HashSet<>();
        for (Field f : r.all(FLOW, MAX_FLOWS)) {
            ByteBuf v = f.value;
            if (v.readableBytes() < 6) {
                throw r.bad("FLOW is too short: " + v.readableBytes() + " bytes");
            }
            long flow = v.getUnsignedInt(0);
            int n = v.getUnsignedByte(4);
            if (n < 1 || n > 64 || v.readableBytes() < 5 + n) {
                throw r.bad("FLOW name length is 1 to 64 and within the field, got " + n);
            }
            String flowName = r.text("FLOW name", v.slice(5, n), 1, 64);
            InetSocketAddress to = r.endpoint("FLOW " + flow, v.slice(5 + n, v.readableBytes() - 5 - n));
            if (!ids.add(flow)) {
                throw r.bad("FLOW " + flow + " is given twice");
            }
            try {
                flows.add(new FlowSpec(flow, flowName, to));
            } catch (IllegalArgumentException e) {
                throw r.bad(e.getMessage());
            }
        }
        Field f;
        int cpus = (f = r.one(CPU_SHARE, false)) == null ? 0 : (int) r.range(f, 10, 64_000);
        int memory = (f = r.one(MEMORY, false)) == null ? 0 : (int) r.range(f, 64, 8192);
        int budget = (f = r.one(CPU_BUDGET, false)) == null ? 0 : (int) r.range(f, 100, 10_000_000);
        long bandwidth = 0;
        if ((f = r.one(BANDWIDTH, false)) != null) {
            bandwidth = r.u64(f);
            if (bandwidth <= 0) {
                throw r.bad("BANDWIDTH is in [1, 9223372036854775807] bit/s, got " + Long.toUnsignedString(bandwidth));
            }
        }
        int reorder = (f = r.one(REORDER, false)) == null ? -1 : (int) r.range(f, 0, 10_000);
        Distribution distribution = (f = r.one(DISTRIBUTION, false)) == null ? Distribution.ONE : r.distribution(f);
        return new ControlMessage.Open(r.id, token, program, name, parameters, destination, flows,
            new Resources(cpus, memory, budget, bandwidth, reorder), distribution);
    }

    private static ControlMessage.Opened opened(Reader r) {
        long session = r.sessionId(r.one(SESSION_ID, true));
        String name = r.name(r.one(NAME, true));
        InetSocketAddress ingress = r.endpoint("INGRESS", r.one(INGRESS, true).value);
        List<String> units = r.units();
        if (units.isEmpty()) {
            throw r.bad("OPENED names at least one UNIT");
        }
        Field key = r.one(SESSION_KEY, false);
        return new ControlMessage.Opened(r.id, session, name, ingress, units,
            key == null ? Optional.empty() : Optional.of(r.token(key)));
    }

    private static ControlMessage.Closed closed(Reader r) {
        long session = r.sessionId(r.one(SESSION_ID, true));
        Map<String, Long> counters = new LinkedHashMap<>();
        for (Field f : r.all(COUNTER, MAX_COUNTERS)) {
            ByteBuf v = f.value;
            int n = v.readableBytes() < 1 ? -1 : v.getUnsignedByte(0);
            if (n < 1 || v.readableBytes() != 1 + n + 8) {
                throw r.bad("COUNTER is u8 name length, name, u64 value; got " + v.readableBytes() + " bytes");
            }
            String name = r.text("COUNTER name", v.slice(1, n), 1, 64);
            counters.put(name, v.getLong(1 + n));
        }
        return new ControlMessage.Closed(r.id, session, counters);
    }

    private static ControlMessage.ListResult listResult(Reader r) {
        List<SessionSummary> sessions = new ArrayList<>();
        for (Field f : r.all(SESSION, Integer.MAX_VALUE)) {
            List<Field> inner = new ArrayList<>();
            ByteBuf v = f.value;
            int i = 0;
            while (i < v.readableBytes()) {
                if (v.readableBytes() - i < 4) {
                    throw r.bad("SESSION: truncated field header");
                }
                int type = v.getUnsignedShort(i);
                int length = v.getUnsignedShort(i + 2);
                if (v.readableBytes() - i - 4 < length) {
                    throw r.bad("SESSION: " + fieldName(type) + " runs past the end of the SESSION field");
                }
                inner.add(new Field(type, v.slice(i + 4, length)));
                i += 4 + length;
            }
            Reader s = new Reader(r.id, inner);
            long id = s.sessionId(s.one(SESSION_ID, true));
            String name = s.name(s.one(NAME, true));
            String program = s.name(s.one(PROGRAM, true));
            String state = s.text(s.one(STATE, true), 1, 32);
            InetSocketAddress ingress = s.endpoint("INGRESS", s.one(INGRESS, true).value);
            List<String> units = s.units();
            int cpus = (int) s.range(s.one(CPU_SHARE, true), 0, 64_000);
            Field bw = s.one(BANDWIDTH, false);
            long bandwidth = bw == null ? 0 : s.u64(bw);
            Distribution d = s.distribution(s.one(DISTRIBUTION, true));
            s.finish();
            sessions.add(new SessionSummary(id, name, program, state, ingress, units, cpus, bandwidth, d));
        }
        return new ControlMessage.ListResult(r.id, sessions);
    }

    private static ControlMessage.Refused refused(Reader r) {
        int code = fixed(r.id, r.one(REFUSAL, true), 2).getUnsignedShort(0);
        String reason = r.text(r.one(REASON, true), 1, MAX_REASON);
        return new ControlMessage.Refused(r.id, RefusalCode.of(code), code, reason);
    }

    /** @return the message encoded into an unpooled heap buffer's bytes (for tests and logs) */
    public static byte[] toBytes(ControlMessage m) {
        ByteBuf b = encode(io.netty.buffer.UnpooledByteBufAllocator.DEFAULT, m);
        try {
            byte[] out = new byte[b.readableBytes()];
            b.readBytes(out);
            return out;
        } finally {
            b.release();
        }
    }

    /** @return the message decoded from bytes */
    public static ControlMessage fromBytes(byte[] bytes) {
        return decode(Unpooled.wrappedBuffer(bytes));
    }

}
