package io.pando.ep.aesgcm.impl;

import io.pando.api.program.ActiveProgram;
import io.pando.api.program.Datagram;
import io.pando.api.program.ProgramContext;
import io.pando.ep.aesgcm.codec.AesGcmCodec;
import java.nio.ByteBuffer;
import java.security.GeneralSecurityException;
import javax.crypto.AEADBadTagException;
import javax.crypto.Cipher;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.ServiceScope;

/**
 * {@code aes-gcm-decrypt}: the reverse of {@code aes-gcm-encrypt}. Every data datagram must be
 * {@code nonce || ciphertext || tag} (format: {@link AesGcmCodec}) encrypted with the session parameter
 * {@code key} for this session; the plaintext is emitted on the datagram's flow. A datagram that does not
 * authenticate (altered, truncated, another key or another session) throws {@link AEADBadTagException}: it is
 * dropped and counted as a program error, and nothing of it is emitted. Control datagrams pass through unchanged.
 *
 * <p>This program does not detect replays: GCM authenticates each datagram on its own, so a datagram sent twice
 * decrypts twice.
 *
 * <p><b>Threading and memory:</b> as {@code aes-gcm-encrypt}: one instance per session and unit, one thread at
 * a time, and the nonce, associated data and output buffer are reused.
 */
@Component(name = "io.pando.ep.aesgcm.decrypt", service = ActiveProgram.class, scope = ServiceScope.PROTOTYPE,
    configurationPolicy = ConfigurationPolicy.IGNORE, property = "name=" + AesGcmDecryptProgram.NAME)
public final class AesGcmDecryptProgram implements ActiveProgram {

    /** The program's name: the {@code name} service property sessions refer to. */
    public static final String NAME = "aes-gcm-decrypt";

    private final KeyedCipher keyed = new KeyedCipher(NAME);
    private final byte[] nonce = new byte[AesGcmCodec.NONCE_LENGTH];

    /** Refuses a session without a well-formed key, before it is created. */
    @Override
    public void validate(java.util.Map<String, String> parameters) {
        java.util.Arrays.fill(KeyedCipher.keyBytes(NAME, parameters), (byte) 0);
    }

    @Override
    public void process(Datagram in, ProgramContext ctx) throws GeneralSecurityException {
        if (in.isControl()) {
            ctx.emit(in.flow(), in.data());
            return;
        }
        int length = in.length();
        if (length < AesGcmCodec.OVERHEAD) {
            throw new AEADBadTagException(NAME + ": an encrypted datagram has at least " + AesGcmCodec.OVERHEAD
                + " bytes (nonce and tag), got " + length);
        }
        ByteBuffer data = in.data();
        data.get(nonce);
        Cipher cipher = keyed.init(ctx, Cipher.DECRYPT_MODE, nonce);
        ByteBuffer out = keyed.output(length - AesGcmCodec.OVERHEAD);
        cipher.doFinal(data, out);
        out.flip();
        ctx.emit(in.flow(), out);
    }

    /** @return the output buffer's capacity; for tests */
    int outputCapacity() {
        return keyed.outputCapacity();
    }
}
