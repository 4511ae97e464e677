package io.pando.control.impl;

import io.pando.api.router.SessionKey;
import io.pando.control.protocol.ControlCodec;
import io.pando.control.protocol.ControlMessage;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;

/**
 * The leader's request to a member to open an admitted session on the member's router (docs/control.md, section
 * 12), sent with the cluster's member requests: the owner, the session's name and key, and the user's OPEN (its
 * token zeroed: tokens are the leader's own). Encoded as {@code version (1), owner (UTF), name (UTF), key (32),
 * OPEN length (4), OPEN (the control protocol's encoding)}.
 *
 * @param user the owner
 * @param name the session's name
 * @param key the session's key
 * @param open what the user asked for
 */
record OpenHere(String user, String name, SessionKey key, ControlMessage.Open open) {

    private static final int VERSION = 1;

    static byte[] encode(OpenHere r) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (DataOutputStream out = new DataOutputStream(bytes)) {
            out.writeByte(VERSION);
            out.writeUTF(r.user());
            out.writeUTF(r.name());
            out.write(r.key().bytes());
            byte[] open = ControlCodec.toBytes(r.open());
            out.writeInt(open.length);
            out.write(open);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return bytes.toByteArray();
    }

    /** @throws IllegalArgumentException if the bytes are not such a request */
    static OpenHere decode(byte[] body) {
        try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(body))) {
            int version = in.readUnsignedByte();
            if (version != VERSION) {
                throw new IllegalArgumentException("version " + version + " of the request to open a session here, "
                    + "this node reads " + VERSION);
            }
            String user = in.readUTF();
            String name = in.readUTF();
            byte[] key = in.readNBytes(SessionKey.LENGTH);
            int length = in.readInt();
            if (key.length != SessionKey.LENGTH || length < 0 || length > in.available()) {
                throw new IllegalArgumentException("truncated request to open a session here");
            }
            ControlMessage m = ControlCodec.fromBytes(in.readNBytes(length));
            if (!(m instanceof ControlMessage.Open open)) {
                throw new IllegalArgumentException("not an OPEN: " + m.getClass().getSimpleName());
            }
            SessionKey k = SessionKey.of(key);
            java.util.Arrays.fill(key, (byte) 0);
            return new OpenHere(user, name, k, open);
        } catch (IOException e) {
            throw new IllegalArgumentException("truncated request to open a session here: " + e, e);
        }
    }
}
