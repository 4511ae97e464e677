package io.pando.artp.impl;

import io.netty.buffer.ByteBuf;
import io.pando.artp.wire.Wire;
import java.net.InetSocketAddress;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * Mints and opens the state cookies of the stateless handshake (docs/artp.md, "Handshake"): the responder keeps
 * no state between INIT and COOKIE_ECHO, so a flood of INITs cannot exhaust its memory. The MAC secret rotates;
 * the previous secret stays valid for one period.
 */
final class CookieJar {

    static final int FORMAT = 1;
    /** format, issued, responder id, initiator id, session, maxDgram, maxPkt, window, idle, 2 nonces. */
    static final int BODY = 1 + 8 + 4 + 4 + 8 + 4 + 2 + 4 + 4 + Wire.NONCE + Wire.NONCE;
    static final int MAC = 16;
    static final int LENGTH = BODY + MAC;

    private final SecureRandom random;
    private final long rotateNanos;
    private final long lifetimeNanos;
    private Mac current;
    private Mac previous;
    private long rotatedAt;
    private final byte[] macOut = new byte[32];

    CookieJar(SecureRandom random, long rotateNanos, long lifetimeNanos, long now) {
        this.random = random;
        this.rotateNanos = rotateNanos;
        this.lifetimeNanos = lifetimeNanos;
        this.current = newMac();
        this.rotatedAt = now;
    }

    private Mac newMac() {
        byte[] secret = new byte[32];
        random.nextBytes(secret);
        try {
            Mac m = Mac.getInstance("HmacSHA256");
            m.init(new SecretKeySpec(secret, "HmacSHA256"));
            return m;
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    private void rotate(long now) {
        if (now - rotatedAt >= rotateNanos) {
            previous = current;
            current = newMac();
            rotatedAt = now;
        }
    }

    /** Decoded cookie contents. */
    static final class Contents {
        long issuedMillis;
        int responderId;
        int initiatorId;
        long sessionId;
        int maxDatagram;
        int maxPacket;
        int window;
        int idleMillis;
        final byte[] clientNonce = new byte[Wire.NONCE];
        final byte[] serverNonce = new byte[Wire.NONCE];
    }

    /** Writes a cookie for these contents to {@code out}. */
    void mint(ByteBuf out, Contents c, InetSocketAddress peer, long now, long wallMillis) {
        rotate(now);
        int start = out.writerIndex();
        out.writeByte(FORMAT).writeLong(wallMillis).writeInt(c.responderId).writeInt(c.initiatorId)
            .writeLong(c.sessionId).writeInt(c.maxDatagram).writeShort(c.maxPacket).writeInt(c.window)
            .writeInt(c.idleMillis).writeBytes(c.clientNonce).writeBytes(c.serverNonce);
        mac(current, out, start, peer);
        out.writeBytes(macOut, 0, MAC);
    }

    /**
     * @param cookie the cookie bytes (reader index at the start, exactly {@link #LENGTH} readable)
     * @return whether the cookie is authentic, for this peer and fresh; fills {@code into} when it is
     */
    boolean open(ByteBuf cookie, InetSocketAddress peer, long now, long wallMillis, Contents into) {
        if (cookie.readableBytes() != LENGTH) {
            return false;
        }
        rotate(now);
        int start = cookie.readerIndex();
        if (!macMatches(current, cookie, start, peer) && (previous == null || !macMatches(previous, cookie, start, peer))) {
            return false;
        }
        if (cookie.getUnsignedByte(start) != FORMAT) {
            return false;
        }
        into.issuedMillis = cookie.getLong(start + 1);
        long age = wallMillis - into.issuedMillis;
        if (age < -1000 || age * 1_000_000L > lifetimeNanos) {
            return false;
        }
        int i = start + 9;
        into.responderId = cookie.getInt(i);
        into.initiatorId = cookie.getInt(i + 4);
        into.sessionId = cookie.getLong(i + 8);
        into.maxDatagram = cookie.getInt(i + 16);
        into.maxPacket = cookie.getUnsignedShort(i + 20);
        into.window = cookie.getInt(i + 22);
        into.idleMillis = cookie.getInt(i + 26);
        cookie.getBytes(i + 30, into.clientNonce);
        cookie.getBytes(i + 30 + Wire.NONCE, into.serverNonce);
        return true;
    }

    private boolean macMatches(Mac m, ByteBuf cookie, int start, InetSocketAddress peer) {
        // compute over the body in a scratch copy-free way
        ByteBuf body = cookie.slice(start, BODY);
        macInto(m, body, peer);
        int diff = 0;
        for (int k = 0; k < MAC; k++) {
            diff |= macOut[k] ^ cookie.getByte(start + BODY + k);
        }
        return diff == 0;
    }

    private void mac(Mac m, ByteBuf out, int start, InetSocketAddress peer) {
        macInto(m, out.slice(start, BODY), peer);
    }

    private void macInto(Mac m, ByteBuf body, InetSocketAddress peer) {
        byte[] b = new byte[BODY];
        body.getBytes(body.readerIndex(), b);
        m.update(b);
        m.update(peer.getAddress().getAddress());
        m.update((byte) (peer.getPort() >>> 8));
        m.update((byte) peer.getPort());
        try {
            m.doFinal(macOut, 0);
        } catch (javax.crypto.ShortBufferException e) {
            throw new IllegalStateException(e);
        }
    }
}
