package io.pando.artp.impl;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.pando.artp.ArtpConnection;
import io.pando.artp.ArtpHandler;
import io.pando.artp.ErrorCode;
import java.util.BitSet;
import java.util.zip.CRC32C;

/** Test handler: checks every datagram's content, counts distinct, duplicate, reordered and corrupt ones. */
class Receiver implements ArtpHandler {
    final BitSet seen = new BitSet();
    int distinct;
    int duplicates;
    int corrupt;
    int reordered;
    long highest = -1;
    int closed;
    ErrorCode closeCode;
    ArtpConnection connection;

    /** A datagram of {@code size} bytes (>= 12): u64 seq, u32 CRC32C of the rest, bytes derived from seq. */
    static ByteBuf datagram(long seq, int size) {
        ByteBuf b = PooledByteBufAllocator.DEFAULT.directBuffer(size);
        b.writeLong(seq).writeInt(0);
        for (int i = 12; i < size; i++) {
            b.writeByte((int) (seq * 31 + i));
        }
        CRC32C crc = new CRC32C();
        crc.update(b.nioBuffer(12, size - 12));
        b.setInt(8, (int) crc.getValue());
        return b;
    }

    static boolean valid(ByteBuf b) {
        if (b.readableBytes() < 12) {
            return false;
        }
        int r = b.readerIndex();
        CRC32C crc = new CRC32C();
        crc.update(b.nioBuffer(r + 12, b.readableBytes() - 12));
        return (int) crc.getValue() == b.getInt(r + 8);
    }

    @Override
    public void connected(ArtpConnection c) {
        connection = c;
    }

    @Override
    public void datagram(ArtpConnection c, ByteBuf d, boolean control) {
        try {
            if (!valid(d)) {
                corrupt++;
                return;
            }
            long seq = d.getLong(d.readerIndex());
            if (seen.get((int) seq)) {
                duplicates++;
                return;
            }
            seen.set((int) seq);
            distinct++;
            if (seq < highest) {
                reordered++;
            }
            highest = Math.max(highest, seq);
        } finally {
            d.release();
        }
    }

    @Override
    public void closed(ArtpConnection c, ErrorCode code, String reason) {
        closed++;
        closeCode = code;
    }
}
