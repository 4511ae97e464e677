package io.pando.artp.impl;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.pando.artp.ErrorCode;
import io.pando.artp.wire.Wire;
import java.net.InetSocketAddress;
import java.util.Arrays;

/**
 * Coverage-guided fuzzing of the ARTP/1 engine with Jazzer. Under plain {@code mvn test} each target replays its
 * seed and crash inputs from {@code src/test/resources/io/pando/artp/impl/ArtpFuzzTestInputs/<target>/}
 * (regression mode); with {@code JAZZER_FUZZ=1} it fuzzes (see test/benchmarks/FUZZING.md).
 *
 * <p>Invariants checked on every input: no exception or error escapes the engine (it must count and drop
 * whatever it cannot use), no buffer is leaked or released twice ({@link FuzzRig} tracks every buffer the
 * engines allocate and every injected packet), {@code receive} leaves the caller's packet as it found it, no
 * counter ever goes down and no gauge is negative, delivered datagrams respect the max datagram size and carry
 * valid control blocks, and {@code closed} is reported at most once per connection.
 */
class ArtpFuzzTest {

    // decodeAnyPacket: the first input byte is a mode, the rest is the packet
    static final int M_FIX_TAG = 0x01;
    static final int M_KEYED = 0x02;
    static final int M_LAYOUT_SHIFT = 2; // two bits: heap, direct, composite, slice with garbage around
    static final int M_DIRECT_ENGINE = 0x10;
    static final int M_TO_CLIENT = 0x20;
    static final int M_STRANGER = 0x40;
    static final int M_TIGHT = 0x80;

    /**
     * One arbitrary packet, given to a server (or client) endpoint that has one established connection: first
     * as it is (an unknown connection, or a handshake packet), then with its destination connection id patched
     * to the established connection and, in {@link #M_FIX_TAG} mode, a correct CRC32C / HMAC tag, so that it
     * reaches the connection's state machine.
     */
    @FuzzTest(maxDuration = "10m")
    void decodeAnyPacket(byte[] data) {
        if (data == null || data.length == 0) {
            return;
        }
        int mode = data[0] & 0xff;
        byte[] packet = Arrays.copyOfRange(data, 1, data.length);
        boolean toClient = (mode & M_TO_CLIENT) != 0;
        try (FuzzRig rig = FuzzRig.established(FuzzRig.preset((mode & M_TIGHT) != 0 ? 1 : 0),
                (mode & M_KEYED) != 0, (mode & M_DIRECT_ENGINE) != 0)) {
            EndpointCore target = toClient ? rig.client : rig.server;
            InetSocketAddress from = (mode & M_STRANGER) != 0 ? FuzzRig.STRANGER
                : toClient ? FuzzRig.SERVER : FuzzRig.CLIENT;
            int layout = mode >> M_LAYOUT_SHIFT & 3;
            rig.inject(target, packet, from, layout);
            rig.check();
            if (packet.length >= Wire.OFF_DCID + 4) {
                byte[] p = packet.clone();
                putInt(p, Wire.OFF_DCID, toClient ? rig.clientConn.localId : rig.serverConn.localId);
                if ((mode & M_FIX_TAG) != 0) {
                    FuzzRig.fixTag(p, toClient ? rig.s2c() : rig.c2s());
                }
                rig.inject(target, p, from, layout);
                rig.check();
            }
            rig.tick(3_000_000);
            rig.deliverAll(64);
            rig.tick(1_000_000_000);
            rig.deliverAll(64);
            rig.check();
        }
    }

    // packetSequences: operations
    static final int OP_TICK = 0;
    static final int OP_RAW = 1;
    static final int OP_DATA = 2;
    static final int OP_ACK = 3;
    static final int OP_CLOSE = 4;
    static final int OP_PING = 5;
    static final int OP_SERVER_SEND = 6;
    static final int OP_CLIENT_SEND = 7;
    static final int OP_AIR = 8;
    static final int OP_APP_CLOSE = 9;
    static final int OP_STATELESS_RESET = 10;
    static final int OP_REPLAY_HANDSHAKE = 11;
    static final int OPS = 12;
    static final int MAX_STEPS = 256;

    /**
     * A sequence of steps against an established connection: crafted packets from the client's address with a
     * correct tag (DATA / CONTROL with arbitrary datagram id, length and fragment fields; ACKs with arbitrary
     * ranges; CLOSE, CLOSE_ACK, RESET; PING; stateless RESET; replayed handshake packets), arbitrary raw packets,
     * timer ticks over virtual time, application sends on both sides, and delivery, loss, duplication and
     * reordering of the packets the two real endpoints exchange.
     *
     * <p>Input layout (read front to back by {@link FuzzInput}): {@code u8 keyed, u8 preset, u8 direct}, then
     * steps {@code u8 op, operands...}; see the {@code OP_*} cases and {@link ArtpFuzzSeeds}.
     */
    @FuzzTest(maxDuration = "45m")
    void packetSequences(byte[] data) {
        if (data == null) {
            return;
        }
        FuzzInput in = new FuzzInput(data);
        boolean keyed = in.bool();
        int preset = in.u8() % 3;
        boolean direct = in.bool();
        try (FuzzRig rig = FuzzRig.established(FuzzRig.preset(preset), keyed, direct)) {
            Crafter c = new Crafter(rig, in);
            for (int step = 0; step < MAX_STEPS && in.more(); step++) {
                c.step(in.u8() % OPS);
                rig.check();
            }
            rig.tick(1_000_000);
            rig.deliverAll(256);
            rig.check();
        }
    }

    /** Builds the packets of {@link #packetSequences} from the fuzzer's choices. */
    static final class Crafter {
        private final FuzzRig rig;
        private final FuzzInput in;
        private long nextPn = 1_000_000; // above what the real client uses during a short sequence
        private long nextDatagramId;
        private int appSeq;

        Crafter(FuzzRig rig, FuzzInput in) {
            this.rig = rig;
            this.in = in;
        }

        void step(int op) {
            switch (op) {
                case OP_TICK:
                    tick();
                    break;
                case OP_RAW:
                    raw();
                    break;
                case OP_DATA:
                    data();
                    break;
                case OP_ACK:
                    ack();
                    break;
                case OP_CLOSE:
                    closeOrReset();
                    break;
                case OP_PING:
                    send(header(Wire.TYPE_PING, in.bool() ? Wire.FLAG_ACK_NOW : 0));
                    break;
                case OP_SERVER_SEND:
                    appSend(rig.serverConn, rig.cfg.maxDatagramSize);
                    break;
                case OP_CLIENT_SEND:
                    appSend(rig.clientConn, rig.cfg.maxDatagramSize);
                    break;
                case OP_AIR:
                    air();
                    break;
                case OP_APP_CLOSE:
                    appClose();
                    break;
                case OP_STATELESS_RESET:
                    statelessReset();
                    break;
                case OP_REPLAY_HANDSHAKE:
                    replayHandshake();
                    break;
                default:
                    throw new IllegalArgumentException("op " + op);
            }
        }

        private void tick() {
            long dt;
            switch (in.u8() % 3) {
                case 0:
                    dt = in.range(0, 5_000) * 1_000L; // up to 5 ms: ack delay, pacing, loss timer
                    break;
                case 1:
                    dt = in.range(0, 2_000) * 1_000_000L; // up to 2 s: RTO, keep-alive
                    break;
                default:
                    dt = in.range(0, 120) * 1_000_000_000L; // up to 2 min: idle timeout, reassembly timeout
            }
            rig.tick(dt);
        }

        private void raw() {
            byte[] p = in.bytes(in.u16() % 1600);
            int how = in.u8();
            if ((how & 1) != 0 && p.length >= 8) {
                putInt(p, Wire.OFF_DCID, rig.serverConn.localId);
            }
            if ((how & 2) != 0) {
                FuzzRig.fixTag(p, rig.c2s());
            }
            rig.inject(rig.server, p, (how & 4) != 0 ? FuzzRig.STRANGER : FuzzRig.CLIENT, how >> 3);
        }

        private long pn() {
            switch (in.u8() % 4) {
                case 0:
                    return nextPn++;
                case 1:
                    return nextPn - 1 - in.range(0, 16); // a recent one again
                case 2:
                    return in.u64();
                default:
                    return Long.MAX_VALUE - in.range(0, 3);
            }
        }

        /** A header with the connection's dcid, the KEYED flag of the connection and a chosen pn. */
        private ByteBuf header(int type, int flags) {
            ByteBuf b = Unpooled.buffer(64);
            b.writeByte(Wire.VERSION).writeByte(type).writeShort(flags | (rig.keyed ? Wire.FLAG_KEYED : 0))
                .writeInt(rig.serverConn.localId).writeLong(pn());
            return b;
        }

        /** Tags the packet with the client-to-server key (or a corrupted tag, rarely) and injects it. */
        private void send(ByteBuf b) {
            byte[] p;
            try {
                rig.c2s().sign(b);
                p = FuzzRig.bytes(b);
            } finally {
                b.release();
            }
            int corrupt = in.u8();
            if (corrupt == 0xff && p.length > 0) {
                p[in.range(0, p.length - 1)] ^= 0x10;
            }
            rig.inject(rig.server, p, FuzzRig.CLIENT, corrupt & 3);
        }

        private void data() {
            int type = in.bool() ? Wire.TYPE_CONTROL : Wire.TYPE_DATA;
            ByteBuf b = header(type, in.bool() ? Wire.FLAG_ACK_NOW : 0);
            long id;
            switch (in.u8() % 4) {
                case 0:
                    id = nextDatagramId++;
                    break;
                case 1:
                    id = in.range(0, 80);
                    break;
                case 2:
                    id = in.u64();
                    break;
                default:
                    id = Math.max(0, nextDatagramId - 1 - in.range(0, 3));
            }
            long length;
            switch (in.u8() % 4) {
                case 0:
                    length = in.range(0, 1400);
                    break;
                case 1:
                    length = in.range(0, 70_000);
                    break;
                case 2:
                    length = in.u32() & 0xffffffffL;
                    break;
                default:
                    length = 0;
            }
            int maxPayload = rig.cfg.maxPacketSize - Wire.dataOverhead(rig.keyed);
            int count;
            switch (in.u8() % 3) {
                case 0:
                    count = (int) Math.max(1, Math.min(65535, (length + maxPayload - 1) / maxPayload));
                    break;
                case 1:
                    count = in.range(1, 64);
                    break;
                default:
                    count = in.u16();
            }
            int index = in.bool() ? in.range(0, Math.max(0, count - 1)) : in.u16();
            long payload;
            if (in.bool() && count > 0) {
                long size = (length + count - 1) / count;
                payload = index < count - 1 ? size : length - (long) (count - 1) * size;
            } else {
                payload = in.range(0, 1500);
            }
            if (payload < 0 || payload > 66_000) {
                payload = in.range(0, 1500);
            }
            b.writeLong(id).writeInt((int) length).writeShort(index).writeShort(count);
            if (in.bool()) {
                b.writeZero((int) payload); // zeros: also a valid (empty) control block
            } else {
                byte[] fill = in.bytes((int) payload);
                b.writeBytes(fill).writeZero((int) payload - fill.length);
            }
            send(b);
        }

        private void ack() {
            ByteBuf b = header(Wire.TYPE_ACK, 0);
            long largest;
            switch (in.u8() % 3) {
                case 0:
                    largest = rig.serverLargestPn;
                    break;
                case 1:
                    largest = rig.serverLargestPn - in.range(0, 8);
                    break;
                default:
                    largest = in.u64();
            }
            b.writeLong(largest).writeInt(in.u32()).writeLong(in.bool() ? in.u64() : in.range(0, 100));
            b.writeLong(in.bool() ? in.u64() : in.range(0, 100_000));
            int k = in.u8() % 40;
            b.writeByte(k);
            b.writeInt(in.bool() ? in.range(0, 16) : in.u32());
            for (int j = 0; j < k; j++) {
                b.writeInt(in.bool() ? in.range(0, 8) : in.u32());
                b.writeInt(in.bool() ? in.range(0, 8) : in.u32());
            }
            int adjust = in.u8();
            if (adjust >= 0xf0) {
                int d = (adjust & 7) - 4; // -4 .. 3 bytes: body too short or too long
                if (d < 0) {
                    b.writerIndex(Math.max(Wire.HEADER, b.writerIndex() + d));
                } else {
                    b.writeZero(d);
                }
            }
            send(b);
        }

        private void closeOrReset() {
            int sel = in.u8() % 3;
            int type = sel == 0 ? Wire.TYPE_CLOSE : sel == 1 ? Wire.TYPE_RESET : Wire.TYPE_CLOSE_ACK;
            ByteBuf b = header(type, 0);
            if (type != Wire.TYPE_CLOSE_ACK || in.bool()) {
                int code = in.bool() ? in.range(0, 10) : in.u16();
                byte[] reason = in.bytes(in.range(0, 300));
                int declared = in.bool() ? reason.length : in.u16();
                b.writeShort(code).writeShort(declared).writeBytes(reason);
            }
            send(b);
        }

        private void appSend(Connection c, int max) {
            int size;
            switch (in.u8() % 3) {
                case 0:
                    size = in.range(0, 1400);
                    break;
                case 1:
                    size = in.range(0, 70_000);
                    break;
                default:
                    size = in.range(0, max + 1);
            }
            boolean control = in.bool();
            if (c == null || !c.state().acceptsSends()) {
                return;
            }
            ByteBuf d = rig.appDatagram(size, appSeq++);
            if (control) {
                d.setZero(0, Math.min(4, size)); // an END field first: a valid control block if size >= 4
            }
            try {
                if (control) {
                    c.sendControl(d);
                } else {
                    c.send(d);
                }
            } catch (IllegalArgumentException e) {
                // documented: too large, or not a control block; the datagram was released
                if (d.refCnt() != 0) {
                    throw new AssertionError("rejected datagram not released", e);
                }
            }
            rig.settle();
        }

        private void air() {
            int n = in.u8() % 32;
            for (int i = 0; i < n; i++) {
                int action = in.u8() % 8; // read even when the air is empty: keeps inputs aligned
                if (rig.air.isEmpty()) {
                    continue;
                }
                switch (action) {
                    case 0:
                        rig.dropOne();
                        break;
                    case 1:
                        rig.duplicateFirst();
                        break;
                    case 2:
                        rig.reorderFirst();
                        break;
                    default:
                        rig.deliverOne();
                }
            }
        }

        private void appClose() {
            int sel = in.u8() % 4;
            Connection c = sel % 2 == 0 ? rig.serverConn : rig.clientConn;
            if (sel < 2) {
                c.close();
            } else {
                c.reset(ErrorCode.APPLICATION_ABORT, "fuzz");
            }
            rig.settle();
        }

        /** A RESET UNKNOWN_CONNECTION with pn 0 and the reflected id as dcid (Section 4.9), or a near miss. */
        private void statelessReset() {
            int reflected = in.bool() ? rig.serverConn.remoteId : in.u32();
            ByteBuf b = Unpooled.buffer(64);
            b.writeByte(Wire.VERSION).writeByte(Wire.TYPE_RESET).writeShort(in.bool() ? Wire.FLAG_KEYED : 0)
                .writeInt(reflected).writeLong(in.bool() ? 0 : in.u64());
            byte[] reason = in.bytes(in.range(0, 40));
            b.writeShort(in.bool() ? ErrorCode.UNKNOWN_CONNECTION.code() : in.u16()).writeShort(reason.length)
                .writeBytes(reason);
            byte[] p;
            try {
                Tagger.crc32c().sign(b);
                p = FuzzRig.bytes(b);
            } finally {
                b.release();
            }
            rig.inject(rig.server, p, in.bool() ? FuzzRig.CLIENT : FuzzRig.STRANGER, 0);
        }

        private void replayHandshake() {
            byte[] p = in.bool() ? rig.recordedInit : rig.recordedCookieEcho;
            if (p != null) {
                rig.inject(rig.server, p.clone(), in.bool() ? FuzzRig.CLIENT : FuzzRig.STRANGER, in.u8());
            }
        }
    }

    static void putInt(byte[] p, int at, int v) {
        p[at] = (byte) (v >>> 24);
        p[at + 1] = (byte) (v >>> 16);
        p[at + 2] = (byte) (v >>> 8);
        p[at + 3] = (byte) v;
    }
}
