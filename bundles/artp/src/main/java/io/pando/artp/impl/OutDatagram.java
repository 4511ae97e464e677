package io.pando.artp.impl;

import io.netty.buffer.ByteBuf;

/**
 * A datagram being sent: its bytes (owned until every fragment is acknowledged), its id and fragment geometry,
 * and which fragments the peer has acknowledged. Pooled per connection; {@link #id} tells a recycled instance
 * from the one a stale reference meant.
 */
final class OutDatagram {
    ByteBuf data;
    long id;
    int type;
    int length;
    int count;
    int fragmentSize;
    int nextFragment;
    int ackedCount;
    long[] acked = new long[1];

    void init(ByteBuf data, long id, int type, int maxPayload) {
        this.data = data;
        this.id = id;
        this.type = type;
        this.length = data.readableBytes();
        this.count = length == 0 ? 1 : (length + maxPayload - 1) / maxPayload;
        this.fragmentSize = length == 0 ? 0 : (length + count - 1) / count;
        this.nextFragment = 0;
        this.ackedCount = 0;
        int words = (count + 63) >>> 6;
        if (acked.length < words) {
            acked = new long[words];
        } else {
            java.util.Arrays.fill(acked, 0, words, 0L);
        }
    }

    int fragmentOffset(int index) {
        return index * fragmentSize;
    }

    int fragmentLength(int index) {
        return index < count - 1 ? fragmentSize : length - (count - 1) * fragmentSize;
    }

    boolean isAcked(int index) {
        return (acked[index >>> 6] & (1L << index)) != 0;
    }

    /** @return true when this acknowledgement completed the datagram */
    boolean ack(int index) {
        long bit = 1L << index;
        int w = index >>> 6;
        if ((acked[w] & bit) != 0) {
            return false;
        }
        acked[w] |= bit;
        return ++ackedCount == count;
    }

    boolean complete() {
        return ackedCount == count;
    }

    void clear() {
        data = null;
        id = -1;
    }
}
