package io.pando.artp.impl;

import static io.pando.artp.impl.ArtpFuzzTest.*;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.pando.artp.wire.Wire;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;

/**
 * Writes the seed inputs of {@link ArtpFuzzTest} (committed under
 * {@code src/test/resources/io/pando/artp/impl/ArtpFuzzTestInputs/}). Not a test; run it after changing the
 * input layout of a fuzz target:
 *
 * <pre>
 * java -cp target/test-classes:target/classes:$(cat cp.txt) io.pando.artp.impl.ArtpFuzzSeeds \
 *     src/test/resources/io/pando/artp/impl/ArtpFuzzTestInputs
 * </pre>
 */
public final class ArtpFuzzSeeds {

    private ArtpFuzzSeeds() {
    }

    public static void main(String[] args) throws IOException {
        Path root = Paths.get(args.length > 0 ? args[0]
            : "src/test/resources/io/pando/artp/impl/ArtpFuzzTestInputs");
        Path any = Files.createDirectories(root.resolve("decodeAnyPacket"));
        Path seq = Files.createDirectories(root.resolve("packetSequences"));

        // ---- decodeAnyPacket: mode byte + packet (dcid and tag are patched when M_FIX_TAG is set)
        write(any, "init", 0, init());
        write(any, "data-single", M_FIX_TAG, data(Wire.TYPE_DATA, 1, 0, 100, 0, 1, 100));
        write(any, "data-fragment-composite", M_FIX_TAG | 2 << M_LAYOUT_SHIFT, data(Wire.TYPE_DATA, 2, 0, 3000, 0,
            3, 1000));
        write(any, "data-slice-direct", M_FIX_TAG | 3 << M_LAYOUT_SHIFT | M_DIRECT_ENGINE,
            data(Wire.TYPE_DATA, 3, 5, 10, 0, 1, 10));
        write(any, "control-end-block", M_FIX_TAG, data(Wire.TYPE_CONTROL, 4, 0, 8, 0, 1, 8));
        write(any, "ack-worked-example", M_FIX_TAG, hex("01 07 00 00 0a 0b 0c 0d 00 00 00 00 00 00 00 2a"
            + "00 00 00 00 00 00 00 14 00 00 05 dc 00 00 00 00 00 00 00 07 00 00 00 00 00 00 00 47"
            + "02 00 00 00 05 00 00 00 03 00 00 00 02 00 00 00 01 00 00 00 04 ce 9b 50 e3"));
        write(any, "ack-own-packet", M_FIX_TAG, packet(Wire.TYPE_ACK, 0, 5, b -> b.writeLong(1).writeInt(100)
            .writeLong(0).writeLong(8192).writeByte(0).writeInt(0)));
        write(any, "ping-vector", 0, hex("01 08 00 02 11 22 33 44 00 00 00 00 00 00 00 01 6d af f5 31"));
        write(any, "ping-fixed", M_FIX_TAG, hex("01 08 00 02 11 22 33 44 00 00 00 00 00 00 00 01 6d af f5 31"));
        write(any, "close", M_FIX_TAG, packet(Wire.TYPE_CLOSE, 0, 6, b -> b.writeShort(0).writeShort(3)
            .writeBytes(new byte[] {'b', 'y', 'e'})));
        write(any, "reset", M_FIX_TAG, packet(Wire.TYPE_RESET, 0, 7, b -> b.writeShort(6).writeShort(0)));
        write(any, "stateless-reset", 0, packet(Wire.TYPE_RESET, 0x01020304, 0, b -> b.writeShort(7)
            .writeShort(0)));
        write(any, "cookie-echo-forged", 0, packet(Wire.TYPE_COOKIE_ECHO, 0x5555, 0,
            b -> b.writeShort(CookieJar.LENGTH).writeZero(CookieJar.LENGTH)));
        write(any, "keyed-ping", M_KEYED | M_FIX_TAG, keyed(packet(Wire.TYPE_PING, 0, 9, b -> { })));
        write(any, "to-client-init-ack", M_TO_CLIENT | M_FIX_TAG, packet(Wire.TYPE_INIT_ACK, 0, 0,
            b -> b.writeInt(77).writeInt(1 << 20).writeShort(1452).writeShort(0).writeInt(64).writeInt(30_000)
                .writeZero(Wire.NONCE).writeShort(4).writeInt(0)));
        write(any, "from-stranger", M_STRANGER | M_FIX_TAG, data(Wire.TYPE_DATA, 1, 0, 12, 0, 1, 12));
        write(any, "truncated", 0, new byte[] {1, 5, 0});
        write(any, "bad-version", M_FIX_TAG, hex("02 08 00 02 11 22 33 44 00 00 00 00 00 00 00 01 00 00 00 00"));
        write(any, "tight-flow-control", M_TIGHT | M_FIX_TAG, data(Wire.TYPE_DATA, 1, 40, 12, 0, 1, 12));

        // ---- packetSequences: u8 keyed, u8 preset, u8 direct, then ops (see ArtpFuzzTest.Crafter)
        Seq s = new Seq(false, 0, false);
        s.dataSingle(0, 200).ack(0).tick0(3_000).air(8).ack(0).tick1(600).air(8);
        write(seq, "data-ack-tick", s.bytes());

        s = new Seq(false, 0, true);
        s.fragment(0, 3000, 3, 0).fragment(0, 3000, 3, 2).fragment(0, 3000, 3, 1).air(8);
        write(seq, "reassembly", s.bytes());

        s = new Seq(false, 0, false);
        s.serverSend(8000).air(31).tick1(10).air(31).tick1(600).air(31).ack(1);
        write(seq, "server-send-rto", s.bytes());

        s = new Seq(false, 0, false);
        s.clientSend(5000).air(31).appClose(1).air(31).tick1(50).air(31).tick1(50).air(31);
        write(seq, "orderly-close", s.bytes());

        s = new Seq(true, 0, false);
        s.dataSingle(0, 64).dataSingle(1, 64).ack(0).serverSend(100).air(31).ping().closeFrame();
        write(seq, "keyed", s.bytes());

        s = new Seq(false, 1, false);
        s.dataSingle(40, 12).fragment(1, 30_000, 22, 0).fragment(2, 30_000, 22, 0).tick2(10).air(16);
        write(seq, "tight-flow-reassembly", s.bytes());

        s = new Seq(false, 2, false);
        s.serverSend(2000).air(31).statelessReset().air(8).replay();
        write(seq, "small-packets-reset", s.bytes());
    }

    private static void write(Path dir, String name, int mode, byte[] packet) throws IOException {
        byte[] b = new byte[packet.length + 1];
        b[0] = (byte) mode;
        System.arraycopy(packet, 0, b, 1, packet.length);
        write(dir, name, b);
    }

    private static void write(Path dir, String name, byte[] b) throws IOException {
        Files.write(dir.resolve(name), b);
    }

    private static byte[] hex(String s) {
        String h = s.replace(" ", "");
        byte[] b = new byte[h.length() / 2];
        for (int i = 0; i < b.length; i++) {
            b[i] = (byte) Integer.parseInt(h.substring(2 * i, 2 * i + 2), 16);
        }
        return b;
    }

    private static byte[] packet(int type, int dcid, long pn, java.util.function.Consumer<ByteBuf> body) {
        ByteBuf b = Unpooled.buffer();
        try {
            b.writeByte(Wire.VERSION).writeByte(type).writeShort(0).writeInt(dcid).writeLong(pn);
            body.accept(b);
            Tagger.crc32c().sign(b);
            return FuzzRig.bytes(b);
        } finally {
            b.release();
        }
    }

    /** Sets KEYED and grows the 4-byte tag to 16 bytes (the fuzz target recomputes it). */
    private static byte[] keyed(byte[] p) {
        byte[] k = java.util.Arrays.copyOf(p, p.length + 12);
        k[Wire.OFF_FLAGS + 1] |= Wire.FLAG_KEYED;
        return k;
    }

    private static byte[] init() {
        return packet(Wire.TYPE_INIT, 0, 0, b -> {
            b.writeInt(0x0badcafe).writeLong(FuzzRig.SESSION).writeInt(1 << 20).writeShort(1452).writeShort(0)
                .writeInt(64).writeInt(30_000).writeZero(Wire.NONCE);
            b.writeZero(Wire.INIT_MIN - Wire.CRC_TAG - b.readableBytes());
        });
    }

    private static byte[] data(int type, long pn, long id, int length, int index, int count, int payload) {
        return packet(type, 0, pn, b -> {
            b.writeLong(id).writeInt(length).writeShort(index).writeShort(count);
            for (int i = 0; i < payload; i++) {
                b.writeByte(type == Wire.TYPE_CONTROL ? 0 : i);
            }
        });
    }

    /** Encodes steps of packetSequences in the order FuzzInput reads them. */
    private static final class Seq {
        private final ByteArrayOutputStream out = new ByteArrayOutputStream();

        Seq(boolean keyed, int preset, boolean direct) {
            u8(keyed ? 1 : 0);
            u8(preset);
            u8(direct ? 1 : 0);
        }

        byte[] bytes() {
            return out.toByteArray();
        }

        Seq u8(int v) {
            out.write(v);
            return this;
        }

        Seq u16(int v) {
            return u8(v >>> 8).u8(v & 0xff);
        }

        Seq u32(int v) {
            return u16(v >>> 16).u16(v & 0xffff);
        }

        Seq range(int lo, int hi, int v) {
            long span = (long) hi - lo + 1;
            int x = v - lo;
            return span <= 256 ? u8(x) : span <= 65536 ? u16(x) : u32(x);
        }

        Seq nextPn() {
            return u8(0);
        }

        Seq cleanTag() {
            return u8(0); // no corruption, heap layout
        }

        /** A single-fragment DATA datagram of {@code len} bytes with the given id, filled with zeros. */
        Seq dataSingle(int id, int len) {
            u8(OP_DATA).u8(0).u8(0).nextPn(); // DATA, no ACK_NOW, next pn
            u8(1).range(0, 80, id); // id from the small range
            u8(0).range(0, 1400, len); // length
            u8(0); // count = minimal (1 for <= one packet)
            u8(1).u8(0); // index from range(0, count-1): 0
            u8(1); // payload length by the rule
            u8(1); // zero fill
            return cleanTag();
        }

        /** Fragment {@code index} of a datagram of {@code len} bytes in {@code count} fragments. */
        Seq fragment(int id, int len, int count, int index) {
            u8(OP_DATA).u8(0).u8(1).nextPn(); // DATA, ACK_NOW
            u8(1).range(0, 80, id);
            u8(1).range(0, 70_000, len);
            u8(1).range(1, 64, count);
            u8(1).range(0, count - 1, index);
            u8(1); // payload by the rule
            u8(1); // zeros
            return cleanTag();
        }

        /** An ACK of the server's largest packet number, no extra ranges. */
        Seq ack(int firstRange) {
            u8(OP_ACK).nextPn();
            u8(0); // largest = server's largest pn
            u32(100); // ack delay
            u8(0).range(0, 100, 0); // delivered point
            u8(0).range(0, 100_000, 8192); // max datagram id
            u8(0); // k = 0
            u8(1).range(0, 16, firstRange);
            u8(0); // no body adjustment
            return cleanTag();
        }

        Seq ping() {
            return u8(OP_PING).u8(1).nextPn().cleanTag();
        }

        Seq closeFrame() {
            u8(OP_CLOSE).u8(0).nextPn();
            u8(1).range(0, 10, 0); // code NO_ERROR
            range(0, 300, 2).u8('o').u8('k');
            u8(1); // declared length = actual
            return cleanTag();
        }

        Seq tick0(int micros) {
            return u8(OP_TICK).u8(0).range(0, 5_000, micros);
        }

        Seq tick1(int millis) {
            return u8(OP_TICK).u8(1).range(0, 2_000, millis);
        }

        Seq tick2(int seconds) {
            return u8(OP_TICK).u8(2).range(0, 120, seconds);
        }

        /** Delivers up to {@code n} packets in the air. */
        Seq air(int n) {
            u8(OP_AIR).u8(n);
            for (int i = 0; i < n; i++) {
                u8(7);
            }
            return this;
        }

        Seq serverSend(int size) {
            return u8(OP_SERVER_SEND).u8(1).range(0, 70_000, size).u8(0);
        }

        Seq clientSend(int size) {
            return u8(OP_CLIENT_SEND).u8(1).range(0, 70_000, size).u8(0);
        }

        Seq appClose(int which) {
            return u8(OP_APP_CLOSE).u8(which);
        }

        Seq statelessReset() {
            u8(OP_STATELESS_RESET).u8(1); // dcid: the id the server sends to (reflected)
            u8(0).u8(1); // unkeyed, pn 0
            range(0, 40, 0); // empty reason
            u8(1); // UNKNOWN_CONNECTION
            return u8(1); // from the client's address
        }

        Seq replay() {
            return u8(OP_REPLAY_HANDSHAKE).u8(0).u8(1).u8(0); // COOKIE_ECHO from the client, heap
        }
    }
}
