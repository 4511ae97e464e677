package io.pando.artp.impl;

import io.netty.buffer.ByteBuf;
import io.pando.artp.wire.Wire;
import java.nio.ByteBuffer;
import java.security.GeneralSecurityException;
import java.util.zip.CRC32C;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * Computes and checks the integrity tag that ends every ARTP packet: CRC32C (RFC 3720 App. B.4) when unkeyed,
 * HMAC-SHA-256 truncated to 128 bits (RFC 2104, RFC 4868 §2.1.1) when keyed. One instance per direction and
 * thread; reuses its state, allocates nothing per packet.
 */
final class Tagger {

    private final CRC32C crc;
    private final Mac mac;
    private final byte[] macOut;

    private Tagger(CRC32C crc, Mac mac) {
        this.crc = crc;
        this.mac = mac;
        this.macOut = mac == null ? null : new byte[32];
    }

    static Tagger crc32c() {
        return new Tagger(new CRC32C(), null);
    }

    /** @param key 32-byte HMAC key */
    static Tagger hmac(byte[] key) {
        try {
            Mac m = Mac.getInstance("HmacSHA256");
            m.init(new SecretKeySpec(key, "HmacSHA256"));
            return new Tagger(null, m);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 unavailable", e);
        }
    }

    boolean keyed() {
        return mac != null;
    }

    int length() {
        return mac != null ? Wire.HMAC_TAG : Wire.CRC_TAG;
    }

    /** Appends the tag computed over the packet's readable bytes. */
    void sign(ByteBuf packet) {
        int from = packet.readerIndex();
        int len = packet.readableBytes();
        if (mac == null) {
            packet.writeInt((int) crc(packet, from, len));
        } else {
            hmac(packet, from, len);
            packet.writeBytes(macOut, 0, Wire.HMAC_TAG);
        }
    }

    /** @return whether the tag at the end of the packet's readable bytes matches the bytes before it */
    boolean verify(ByteBuf packet) {
        int from = packet.readerIndex();
        int tag = length();
        int len = packet.readableBytes() - tag;
        if (len < Wire.HEADER) {
            return false;
        }
        if (mac == null) {
            return (int) crc(packet, from, len) == packet.getInt(from + len);
        }
        hmac(packet, from, len);
        int diff = 0;
        for (int i = 0; i < Wire.HMAC_TAG; i++) {
            diff |= macOut[i] ^ packet.getByte(from + len + i);
        }
        return diff == 0;
    }

    private long crc(ByteBuf buf, int from, int len) {
        crc.reset();
        if (buf.hasArray()) {
            crc.update(buf.array(), buf.arrayOffset() + from, len);
        } else if (buf.nioBufferCount() == 1) {
            ByteBuffer nio = buf.internalNioBuffer(from, len);
            crc.update(nio);
        } else {
            for (ByteBuffer nio : buf.nioBuffers(from, len)) {
                crc.update(nio);
            }
        }
        return crc.getValue();
    }

    private void hmac(ByteBuf buf, int from, int len) {
        if (buf.hasArray()) {
            mac.update(buf.array(), buf.arrayOffset() + from, len);
        } else if (buf.nioBufferCount() == 1) {
            mac.update(buf.internalNioBuffer(from, len));
        } else {
            for (ByteBuffer nio : buf.nioBuffers(from, len)) {
                mac.update(nio);
            }
        }
        try {
            mac.doFinal(macOut, 0);
        } catch (javax.crypto.ShortBufferException e) {
            throw new IllegalStateException(e);
        }
    }
}
