package io.pando.artp.impl;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.pando.artp.ArtpConfig;
import io.pando.artp.ArtpCounter;
import io.pando.artp.ConnectionState;
import io.pando.artp.wire.Wire;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;

/**
 * Strict validation found by fuzzing: packets that docs/artp.md says to drop as malformed (trailing bytes, a body
 * where none belongs, non-zero padding) are dropped and counted.
 */
class StrictValidationTest {

    private static byte[] packet(int type, int dcid, long pn, Consumer<ByteBuf> body) {
        ByteBuf b = Unpooled.buffer();
        try {
            b.writeByte(Wire.VERSION).writeByte(type).writeShort(type == Wire.TYPE_PING ? Wire.FLAG_ACK_NOW : 0)
                .writeInt(dcid).writeLong(pn);
            body.accept(b);
            Tagger.crc32c().sign(b);
            return FuzzRig.bytes(b);
        } finally {
            b.release();
        }
    }

    private static long stat(EndpointCore e, ArtpCounter c) {
        return e.stats().get(c);
    }

    /** Section 4.8: CLOSE body length = 4 + reason length exactly, else malformed. */
    @Test
    void closeWithTrailingBytesIsMalformed() {
        try (FuzzRig rig = FuzzRig.established(ArtpConfig.defaults(), false, false)) {
            long before = stat(rig.server, ArtpCounter.MALFORMED);
            rig.inject(rig.server, packet(Wire.TYPE_CLOSE, rig.serverConn.localId, 1,
                b -> b.writeShort(0).writeShort(0).writeInt(0xdeadbeef)), FuzzRig.CLIENT, 0);
            assertEquals(before + 1, stat(rig.server, ArtpCounter.MALFORMED));
            assertEquals(ConnectionState.ESTABLISHED, rig.serverConn.state());
        }
    }

    /** Sections 4 and 4.7: PING has an empty body; a longer one is malformed. */
    @Test
    void pingWithABodyIsMalformed() {
        try (FuzzRig rig = FuzzRig.established(ArtpConfig.defaults(), false, false)) {
            long before = stat(rig.server, ArtpCounter.MALFORMED);
            rig.inject(rig.server, packet(Wire.TYPE_PING, rig.serverConn.localId, 1, b -> b.writeLong(42)),
                FuzzRig.CLIENT, 0);
            assertEquals(before + 1, stat(rig.server, ArtpCounter.MALFORMED));
            assertEquals(0, rig.air.size(), "not acknowledged");
        }
    }

    /** Section 4.1: INIT padding must be all zero. */
    @Test
    void initWithNonZeroPaddingIsMalformed() {
        try (FuzzRig rig = FuzzRig.established(ArtpConfig.defaults(), false, false)) {
            long before = stat(rig.server, ArtpCounter.MALFORMED);
            byte[] init = packet(Wire.TYPE_INIT, 0, 0, b -> {
                b.writeInt(0x1234).writeLong(FuzzRig.SESSION).writeInt(1 << 20).writeShort(1452).writeShort(0)
                    .writeInt(64).writeInt(30_000).writeZero(Wire.NONCE);
                while (b.readableBytes() < Wire.INIT_MIN - Wire.CRC_TAG) {
                    b.writeByte(0xff);
                }
            });
            rig.inject(rig.server, init, FuzzRig.STRANGER, 0);
            assertEquals(before + 1, stat(rig.server, ArtpCounter.MALFORMED));
            assertEquals(0, rig.air.size(), "no INIT_ACK");
        }
    }
}
