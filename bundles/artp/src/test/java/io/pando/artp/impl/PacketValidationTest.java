package io.pando.artp.impl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.pando.artp.ArtpConfig;
import io.pando.artp.ArtpConnection;
import io.pando.artp.ArtpCounter;
import io.pando.artp.SessionAcceptor;
import io.pando.artp.wire.Wire;
import java.net.InetSocketAddress;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Decoder validation: every malformed, truncated, forged, replayed or out-of-window packet is counted under its
 * reason and dropped, and nothing it carries is delivered. Packets are crafted byte by byte and fed to the
 * engine of a server that has one established connection.
 */
class PacketValidationTest {

    private SimNetwork net;
    private EndpointCore server;
    private EndpointCore client;
    private Receiver rx;
    private Connection serverSide;
    private InetSocketAddress clientAddress;
    private long pn = 1000;

    @BeforeEach
    void connect() {
        net = new SimNetwork(1, new SimNetwork.Impairment());
        rx = new Receiver();
        ArtpConfig cfg = ArtpConfig.builder().datagramWindow(64).build();
        server = net.endpoint(1, cfg, rx, SessionAcceptor.ANY);
        client = net.endpoint(2, cfg, new Receiver(), SessionAcceptor.NONE);
        clientAddress = net.address(client);
        var f = client.connect(net.address(server), 9, null).toCompletableFuture();
        assertTrue(net.runUntil(() -> f.isDone() && rx.connection != null, 5_000_000_000L));
        serverSide = (Connection) rx.connection;
    }

    @AfterEach
    void drain() {
        server.closeAll(io.pando.artp.ErrorCode.APPLICATION_ABORT, "test over");
        client.closeAll(io.pando.artp.ErrorCode.APPLICATION_ABORT, "test over");
        net.drain();
    }

    private long stat(ArtpCounter c) {
        return server.stats().get(c);
    }

    private void inject(ByteBuf packet) {
        try {
            server.receive(packet, clientAddress, net.now());
        } finally {
            packet.release();
        }
    }

    private ByteBuf packet(int type, int dcid, long number, Consumer<ByteBuf> body) {
        ByteBuf b = Unpooled.buffer();
        b.writeByte(Wire.VERSION).writeByte(type).writeShort(0).writeInt(dcid).writeLong(number);
        body.accept(b);
        Tagger.crc32c().sign(b);
        return b;
    }

    private ByteBuf data(long datagramId, long length, int index, int count, int payload) {
        return packet(Wire.TYPE_DATA, serverSide.localId, pn++, b -> {
            b.writeLong(datagramId).writeInt((int) length).writeShort(index).writeShort(count);
            ByteBuf d = Receiver.datagram(datagramId, Math.max(12, payload));
            b.writeBytes(d, 0, payload);
            d.release();
        });
    }

    private void assertCounted(ArtpCounter counter, ByteBuf packet) {
        long before = stat(counter);
        int delivered = rx.distinct + rx.corrupt;
        inject(packet);
        assertEquals(before + 1, stat(counter), counter.key());
        assertEquals(delivered, rx.distinct + rx.corrupt, "nothing delivered");
    }

    @Test
    void truncatedPackets() {
        assertCounted(ArtpCounter.TRUNCATED, Unpooled.wrappedBuffer(new byte[] {1, 5, 0}));
        assertCounted(ArtpCounter.TRUNCATED, Unpooled.wrappedBuffer(new byte[19]));
    }

    @Test
    void badVersionTypeAndFlags() {
        ByteBuf v = data(0, 100, 0, 1, 100);
        v.setByte(0, 2);
        assertCounted(ArtpCounter.BAD_VERSION, v);
        ByteBuf t = data(0, 100, 0, 1, 100);
        t.setByte(1, 0x7f);
        assertCounted(ArtpCounter.BAD_TYPE, t);
        ByteBuf f = data(0, 100, 0, 1, 100);
        f.setShort(2, 0x0100);
        assertCounted(ArtpCounter.BAD_FLAGS, f);
    }

    @Test
    void corruptedBytesFailTheChecksum() {
        ByteBuf p = data(0, 100, 0, 1, 100);
        p.setByte(60, p.getByte(60) ^ 1);
        assertCounted(ArtpCounter.BAD_CHECKSUM, p);
    }

    @Test
    void keyedFlagOnAnUnkeyedConnectionIsAnAuthenticationFailure() {
        ByteBuf p = packet(Wire.TYPE_PING, serverSide.localId, pn++, b -> { });
        p.setShort(2, Wire.FLAG_KEYED);
        p.writeZero(12); // room for a (bogus) 16-byte tag
        assertCounted(ArtpCounter.AUTH_FAILED, p);
    }

    @Test
    void unknownConnectionAndForeignSource() {
        assertCounted(ArtpCounter.UNKNOWN_CONNECTION, packet(Wire.TYPE_PING, serverSide.localId + 1, 5, b -> { }));
        ByteBuf fromElsewhere = data(0, 100, 0, 1, 100);
        long before = stat(ArtpCounter.UNKNOWN_CONNECTION);
        server.receive(fromElsewhere, new InetSocketAddress("10.9.9.9", 1), net.now());
        fromElsewhere.release();
        assertEquals(before + 1, stat(ArtpCounter.UNKNOWN_CONNECTION));
    }

    @Test
    void fragmentFieldsAreValidated() {
        assertCounted(ArtpCounter.MALFORMED, data(0, 3000, 3, 3, 1000));   // index >= count
        assertCounted(ArtpCounter.MALFORMED, data(0, 3000, 0, 3, 999));    // wrong fragment size
        assertCounted(ArtpCounter.MALFORMED, data(0, 3000, 2, 3, 1001));   // wrong last fragment size
        assertCounted(ArtpCounter.MALFORMED, data(0, 10, 0, 20, 0));       // more fragments than bytes
        assertCounted(ArtpCounter.MALFORMED, data(0, 0, 0, 2, 0));         // empty datagram in 2 fragments
        assertCounted(ArtpCounter.MALFORMED, data(0, 2L << 20, 0, 2000, 1049)); // above max datagram size
        assertCounted(ArtpCounter.MALFORMED, packet(Wire.TYPE_DATA, serverSide.localId, pn++,
            b -> b.writeLong(0).writeInt(5)));                              // body shorter than the data header
    }

    @Test
    void inconsistentFragmentsOfOneDatagram() {
        inject(data(0, 3000, 0, 3, 1000));
        assertCounted(ArtpCounter.MALFORMED, data(0, 3100, 1, 3, 1034)); // length differs from fragment 0
    }

    @Test
    void aReplayedPacketIsDeliveredOnce() {
        ByteBuf p = data(0, 100, 0, 1, 100);
        ByteBuf copy = p.copy();
        inject(p);
        assertEquals(1, rx.distinct);
        assertCounted(ArtpCounter.DUPLICATES, copy);
        assertEquals(1, rx.distinct);
    }

    @Test
    void aRetransmittedFragmentOfADeliveredDatagramIsNotDeliveredAgain() {
        inject(data(0, 100, 0, 1, 100));
        assertCounted(ArtpCounter.DUPLICATE_FRAGMENTS, data(0, 100, 0, 1, 100)); // same datagram, new number
    }

    @Test
    void datagramsBeyondTheCreditAreRefused() {
        assertCounted(ArtpCounter.FLOW_CONTROL, data(64, 100, 0, 1, 100));
    }

    @Test
    void acknowledgementsOfPacketsNeverSentAreInvalid() {
        assertCounted(ArtpCounter.INVALID_ACK, packet(Wire.TYPE_ACK, serverSide.localId, pn++, b ->
            b.writeLong(1_000_000).writeInt(0).writeLong(0).writeLong(100).writeByte(0).writeInt(0)));
        assertCounted(ArtpCounter.INVALID_ACK, packet(Wire.TYPE_ACK, serverSide.localId, pn++, b ->
            b.writeLong(1).writeInt(0).writeLong(0).writeLong(100).writeByte(1).writeInt(0).writeInt(5)
                .writeInt(1)));                                      // a range below packet number 1
        assertCounted(ArtpCounter.MALFORMED, packet(Wire.TYPE_ACK, serverSide.localId, pn++, b ->
            b.writeLong(1)));                                        // truncated body
    }

    @Test
    void forgedCookiesAreRejectedWithoutState() {
        int before = server.connections().size();
        assertCounted(ArtpCounter.COOKIE_INVALID, packet(Wire.TYPE_COOKIE_ECHO, 12345, 0, b -> {
            b.writeShort(CookieJar.LENGTH);
            b.writeZero(CookieJar.LENGTH);
        }));
        assertEquals(before, server.connections().size());
    }

    @Test
    void anInitFloodCreatesNoState() {
        int before = server.connections().size();
        long sentBefore = stat(ArtpCounter.PACKETS_SENT);
        for (int i = 0; i < 10_000; i++) {
            int initiator = i + 1;
            inject(packet(Wire.TYPE_INIT, 0, 0, b -> {
                b.writeInt(initiator).writeLong(9).writeInt(1 << 20).writeShort(1452).writeShort(0).writeInt(64)
                    .writeInt(30_000).writeZero(Wire.NONCE);
                b.writeZero(Wire.INIT_MIN - Wire.CRC_TAG - b.readableBytes());
            }));
        }
        assertEquals(before, server.connections().size(), "no state kept for unanswered INITs");
        assertEquals(sentBefore + 10_000, stat(ArtpCounter.PACKETS_SENT), "each INIT answered by one INIT_ACK");
        assertCounted(ArtpCounter.MALFORMED, packet(Wire.TYPE_INIT, 0, 0, b -> b.writeZero(40))); // not padded
    }

    @Test
    void theConnectionSurvivesAllOfIt() {
        badVersionTypeAndFlags();
        fragmentFieldsAreValidated();
        acknowledgementsOfPacketsNeverSentAreInvalid();
        ArtpConnection c = client.connections().iterator().next();
        c.send(Receiver.datagram(0, 5000));
        assertTrue(net.runUntil(() -> rx.distinct == 1, 5_000_000_000L));
    }
}
