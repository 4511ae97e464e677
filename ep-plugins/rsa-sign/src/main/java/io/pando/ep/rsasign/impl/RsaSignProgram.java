package io.pando.ep.rsasign.impl;

import io.pando.api.program.ActiveProgram;
import io.pando.api.program.Datagram;
import io.pando.api.program.ProgramContext;
import io.pando.api.session.SessionId;
import io.pando.ep.rsasign.codec.RsaSignCodec;
import java.nio.ByteBuffer;
import java.security.GeneralSecurityException;
import java.security.Signature;
import java.security.interfaces.RSAPrivateCrtKey;
import java.util.Map;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.ServiceScope;

/**
 * {@code rsa-sign}: appends to every data datagram of its session an RSA signature (SHA256withRSA) over the
 * session id and the payload, and emits {@code payload || signature} on the datagram's flow (format:
 * {@link RsaSignCodec}). The private key is the session parameter {@code private-key}: base64 of PKCS#8 DER, 2048
 * to 4096 bits. Control datagrams pass through unchanged.
 *
 * <p>A signing gateway: the datagrams' receivers check their origin with the public key alone. It is also the
 * example program whose work per datagram is large and fixed (about 1.5 ms of CPU for a 2048-bit key on this
 * project's test machines) while checking it is cheap (about 50 µs), so a stream's processing cost is in the units,
 * not at its ends: the program the scale-out benchmark spreads over CPU-capped unit nodes.
 *
 * <p><b>Threading and memory:</b> one instance per session and unit, called by one thread at a time. The
 * {@link Signature} is initialized once per key (signing leaves it ready for the next datagram); the session
 * prefix and the output buffer are reused. The RSA arithmetic inside the JCA provider allocates its own temporaries.
 */
@Component(name = "io.pando.ep.rsasign", service = ActiveProgram.class, scope = ServiceScope.PROTOTYPE,
    configurationPolicy = ConfigurationPolicy.IGNORE, property = "name=" + RsaSignProgram.NAME)
public final class RsaSignProgram implements ActiveProgram {

    /** The program's name: the {@code name} service property sessions refer to. */
    public static final String NAME = "rsa-sign";
    /** The program parameter that carries the private key. */
    public static final String KEY_PARAMETER = "private-key";

    private static final int INITIAL_CAPACITY = 2048;

    private final Signature signer;
    private final byte[] prefix = new byte[RsaSignCodec.SESSION_LENGTH];
    private String keyText;
    private int signatureLength;
    private SessionId session;
    private ByteBuffer out = ByteBuffer.allocate(INITIAL_CAPACITY);

    /** Creates an instance (DS calls this once per session and unit). */
    public RsaSignProgram() {
        try {
            signer = Signature.getInstance(RsaSignCodec.ALGORITHM);
        } catch (GeneralSecurityException e) {
            // SHA256withRSA is mandatory in every Java SE runtime
            throw new IllegalStateException(NAME + ": " + RsaSignCodec.ALGORITHM + " is not available: " + e, e);
        }
    }

    /** Refuses a session without a well-formed key, before it is created. */
    @Override
    public void validate(Map<String, String> parameters) {
        key(parameters);
    }

    @Override
    public void process(Datagram in, ProgramContext ctx) throws GeneralSecurityException {
        if (in.isControl()) {
            ctx.emit(in.flow(), in.data());
            return;
        }
        String text = ctx.parameters().get(KEY_PARAMETER);
        if (text == null || !text.equals(keyText)) {
            RSAPrivateCrtKey key = key(ctx.parameters());
            signer.initSign(key);
            signatureLength = RsaSignCodec.signatureLength(key);
            keyText = text;
        }
        SessionId s = ctx.session();
        if (!s.equals(session)) {
            RsaSignCodec.sessionPrefix(s.value(), prefix);
            session = s;
        }
        int length = in.length();
        int needed = length + signatureLength;
        if (out.capacity() < needed) {
            out = ByteBuffer.allocate(Math.max(needed, out.capacity() * 2));
        }
        out.clear();
        out.put(in.data());
        signer.update(prefix);
        signer.update(out.array(), out.arrayOffset(), length);
        int n = signer.sign(out.array(), out.arrayOffset() + length, signatureLength);
        out.position(length + n).flip();
        ctx.emit(in.flow(), out);
    }

    private static RSAPrivateCrtKey key(Map<String, String> parameters) {
        String text = parameters.get(KEY_PARAMETER);
        if (text == null) {
            throw new IllegalArgumentException(NAME + ": the session has no parameter '" + KEY_PARAMETER
                + "' (base64 of an RSA private key in PKCS#8 DER, " + RsaSignCodec.MIN_BITS + " to "
                + RsaSignCodec.MAX_BITS + " bits)");
        }
        try {
            return RsaSignCodec.parsePrivateKey(text);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(NAME + ": session parameter '" + KEY_PARAMETER + "': "
                + e.getMessage(), e);
        }
    }

    /** @return the output buffer's capacity; for tests */
    int outputCapacity() {
        return out.capacity();
    }
}
