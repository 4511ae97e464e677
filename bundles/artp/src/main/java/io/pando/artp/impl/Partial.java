package io.pando.artp.impl;

import io.netty.buffer.ByteBuf;

/** A datagram being reassembled: one buffer of its full length and a bitmap of the fragments already in. */
final class Partial {
    long id;
    int type;
    int length;
    int count;
    int fragmentSize;
    int received;
    long firstAt;
    ByteBuf buffer;
    long[] got = new long[1];

    void init(long id, int type, int length, int count, ByteBuf buffer, long now) {
        this.id = id;
        this.type = type;
        this.length = length;
        this.count = count;
        this.fragmentSize = (length + count - 1) / count;
        this.received = 0;
        this.firstAt = now;
        this.buffer = buffer;
        int words = (count + 63) >>> 6;
        if (got.length < words) {
            got = new long[words];
        } else {
            java.util.Arrays.fill(got, 0, words, 0L);
        }
    }

    boolean has(int index) {
        return (got[index >>> 6] & (1L << index)) != 0;
    }

    /** @return true when this fragment completed the datagram */
    boolean mark(int index) {
        got[index >>> 6] |= 1L << index;
        return ++received == count;
    }
}
