package io.pando.cluster.impl;

import io.pando.api.unit.UnitId;
import io.pando.api.unit.UnitLoad;
import io.pando.cluster.NodeFeatureReport;
import io.pando.cluster.NodeFeatureReport.FeatureState;
import io.pando.cluster.SessionRecord;
import io.pando.cluster.UnitReport;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * The binary form of the records the cluster stores: a session of the directory, a node's feature report and a
 * unit's report. The
 * cluster engine stores them as plain byte arrays, so no class of this bundle is ever serialized or loaded by it,
 * and two equal records always have equal bytes (compare-and-set relies on that).
 *
 * <pre>
 * session: u8 type=1, u8 version=1, utf sessionId, utf owner, utf program, u16 n, n * utf unit,
 *          u16 m, m * (utf name, i64 value) sorted by name, utf placedBy, i64 placedAt seconds, i32 nanos
 *          version=2 (a record with attributes; one without is written as version 1, byte for byte as before):
 *          the same, then u16 a, a * (utf name, utf value) sorted by name
 * report:  u8 type=2, u8 version=1, utf node, i64 seconds, i32 nanos,
 *          u16 n, n * (utf feature, u8 status ordinal, utf message, i64 seconds, i32 nanos) sorted by feature
 * unit:    u8 type=3, u8 version=1, utf memberId, utf member, utf unit, i64 seconds, i32 nanos, f64 cpu,
 *          i64 bufferUsed, i64 bufferCapacity, i32 sessions, i64 queuedDatagrams, utf scheduler,
 *          u16 n, n * utf program sorted
 * </pre>
 *
 * (utf is {@link DataOutputStream#writeUTF}.) Decoding fails with {@link IllegalArgumentException} on anything
 * else: an unknown type or version, a short or overlong input, or values a record rejects.
 */
final class Records {

    static final int SESSION = 1;
    static final int REPORT = 2;
    static final int UNIT = 3;
    static final int VERSION = 1;
    /** The version of a session record with attributes. */
    static final int SESSION_ATTRIBUTES = 2;
    /** Longest failure message kept in a report, in characters. */
    static final int MAX_MESSAGE = 1000;

    private Records() {
    }

    static byte[] encode(SessionRecord r) {
        return write(out -> {
            out.writeByte(SESSION);
            out.writeByte(r.attributes().isEmpty() ? VERSION : SESSION_ATTRIBUTES);
            out.writeUTF(r.sessionId());
            out.writeUTF(r.owner());
            out.writeUTF(r.program());
            out.writeShort(r.units().size());
            for (String u : r.units()) {
                out.writeUTF(u);
            }
            out.writeShort(r.reservations().size());
            for (Map.Entry<String, Long> e : r.reservations().entrySet()) {
                out.writeUTF(e.getKey());
                out.writeLong(e.getValue());
            }
            out.writeUTF(r.placedBy());
            instant(out, r.placedAt());
            if (!r.attributes().isEmpty()) {
                out.writeShort(r.attributes().size());
                for (Map.Entry<String, String> e : r.attributes().entrySet()) {
                    out.writeUTF(e.getKey());
                    out.writeUTF(e.getValue());
                }
            }
        });
    }

    static SessionRecord decodeSession(byte[] bytes) {
        return read(bytes, SESSION, SESSION_ATTRIBUTES, (in, version) -> {
            String id = in.readUTF();
            String owner = in.readUTF();
            String program = in.readUTF();
            int n = in.readUnsignedShort();
            List<String> units = new ArrayList<>(Math.min(n, SessionRecord.MAX_UNITS));
            for (int i = 0; i < n; i++) {
                units.add(in.readUTF());
            }
            int m = in.readUnsignedShort();
            Map<String, Long> reservations = new LinkedHashMap<>();
            for (int i = 0; i < m; i++) {
                String k = in.readUTF();
                if (reservations.put(k, in.readLong()) != null) {
                    throw new IllegalArgumentException("reservation " + k + " appears twice");
                }
            }
            String placedBy = in.readUTF();
            Instant at = instant(in);
            Map<String, String> attributes = new LinkedHashMap<>();
            if (version == SESSION_ATTRIBUTES) {
                int a = in.readUnsignedShort();
                if (a == 0) {
                    throw new IllegalArgumentException("a version 2 session record has attributes");
                }
                for (int i = 0; i < a; i++) {
                    String k = in.readUTF();
                    if (attributes.put(k, in.readUTF()) != null) {
                        throw new IllegalArgumentException("attribute " + k + " appears twice");
                    }
                }
            }
            return new SessionRecord(id, owner, program, units, reservations, placedBy, at, attributes);
        });
    }

    static byte[] encode(NodeFeatureReport r) {
        return write(out -> {
            out.writeByte(REPORT);
            out.writeByte(VERSION);
            out.writeUTF(r.node());
            instant(out, r.at());
            out.writeShort(r.features().size());
            for (Map.Entry<String, FeatureState> e : r.features().entrySet()) {
                FeatureState s = e.getValue();
                out.writeUTF(e.getKey());
                out.writeByte(s.status().ordinal());
                String msg = s.message();
                out.writeUTF(msg.length() > MAX_MESSAGE ? msg.substring(0, MAX_MESSAGE) : msg);
                instant(out, s.at());
            }
        });
    }

    static NodeFeatureReport decodeReport(byte[] bytes) {
        return read(bytes, REPORT, VERSION, (in, version) -> {
            String node = in.readUTF();
            Instant at = instant(in);
            int n = in.readUnsignedShort();
            Map<String, FeatureState> features = new LinkedHashMap<>();
            FeatureState.Status[] statuses = FeatureState.Status.values();
            for (int i = 0; i < n; i++) {
                String f = in.readUTF();
                int s = in.readUnsignedByte();
                if (s >= statuses.length) {
                    throw new IllegalArgumentException("unknown feature status " + s);
                }
                features.put(f, new FeatureState(statuses[s], in.readUTF(), instant(in)));
            }
            return new NodeFeatureReport(node, at, features);
        });
    }

    static byte[] encode(UnitReport r) {
        return write(out -> {
            out.writeByte(UNIT);
            out.writeByte(VERSION);
            out.writeUTF(r.memberId());
            out.writeUTF(r.member());
            UnitLoad l = r.load();
            out.writeUTF(l.unit().value());
            instant(out, l.at());
            out.writeDouble(l.cpu());
            out.writeLong(l.bufferUsed());
            out.writeLong(l.bufferCapacity());
            out.writeInt(l.sessions());
            out.writeLong(l.queuedDatagrams());
            out.writeUTF(r.scheduler());
            out.writeShort(r.programs().size());
            for (String p : r.programs()) {
                out.writeUTF(p);
            }
        });
    }

    static UnitReport decodeUnit(byte[] bytes) {
        return read(bytes, UNIT, VERSION, (in, version) -> {
            String memberId = in.readUTF();
            String member = in.readUTF();
            UnitId unit = UnitId.of(in.readUTF());
            UnitLoad load = new UnitLoad(unit, instant(in), in.readDouble(), in.readLong(), in.readLong(),
                in.readInt(), in.readLong());
            String scheduler = in.readUTF();
            int n = in.readUnsignedShort();
            if (n > UnitReport.MAX_PROGRAMS) {
                throw new IllegalArgumentException(n + " programs, at most " + UnitReport.MAX_PROGRAMS);
            }
            TreeSet<String> programs = new TreeSet<>();
            for (int i = 0; i < n; i++) {
                if (!programs.add(in.readUTF())) {
                    throw new IllegalArgumentException("a program appears twice");
                }
            }
            return new UnitReport(memberId, member, load, scheduler, programs);
        });
    }

    private static void instant(DataOutputStream out, Instant t) throws IOException {
        out.writeLong(t.getEpochSecond());
        out.writeInt(t.getNano());
    }

    private static Instant instant(DataInputStream in) throws IOException {
        long s = in.readLong();
        int nanos = in.readInt();
        try {
            return Instant.ofEpochSecond(s, nanos);
        } catch (RuntimeException e) {
            throw new IllegalArgumentException("bad instant " + s + "s " + nanos + "ns");
        }
    }

    private interface Writer {
        void write(DataOutputStream out) throws IOException;
    }

    private interface Reader<T> {
        T read(DataInputStream in, int version) throws IOException;
    }

    private static byte[] write(Writer w) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream(128);
        try (DataOutputStream out = new DataOutputStream(bytes)) {
            w.write(out);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return bytes.toByteArray();
    }

    private static <T> T read(byte[] bytes, int type, int maxVersion, Reader<T> r) {
        if (bytes == null || bytes.length < 2) {
            throw new IllegalArgumentException("corrupt cluster record: too short");
        }
        if (bytes[0] != type) {
            throw new IllegalArgumentException("corrupt cluster record: type " + bytes[0] + ", expected " + type);
        }
        if (bytes[1] < VERSION || bytes[1] > maxVersion) {
            throw new IllegalArgumentException("cluster record version " + bytes[1] + " is not supported (this node "
                + "reads version " + (maxVersion == VERSION ? "" : VERSION + " to ") + maxVersion + ")");
        }
        DataInputStream in = new DataInputStream(new ByteArrayInputStream(bytes, 2, bytes.length - 2));
        T t;
        int trailing;
        try {
            t = r.read(in, bytes[1]);
            trailing = in.available();
        } catch (EOFException e) {
            throw new IllegalArgumentException("corrupt cluster record: truncated");
        } catch (IOException e) {
            throw new IllegalArgumentException("corrupt cluster record: " + e.getMessage());
        } catch (IllegalArgumentException | NullPointerException e) {
            throw new IllegalArgumentException("corrupt cluster record: " + e.getMessage(), e);
        }
        if (trailing > 0) {
            throw new IllegalArgumentException("corrupt cluster record: " + trailing + " trailing bytes");
        }
        return t;
    }
}
