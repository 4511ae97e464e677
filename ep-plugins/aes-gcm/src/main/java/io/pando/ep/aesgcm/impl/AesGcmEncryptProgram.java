package io.pando.ep.aesgcm.impl;

import io.pando.api.program.ActiveProgram;
import io.pando.api.program.Datagram;
import io.pando.api.program.ProgramContext;
import io.pando.ep.aesgcm.codec.AesGcmCodec;
import java.nio.ByteBuffer;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import javax.crypto.Cipher;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.ServiceScope;

/**
 * {@code aes-gcm-encrypt}: encrypts every data datagram of its session with AES-GCM and emits
 * {@code nonce || ciphertext || tag} on the datagram's flow (format: {@link AesGcmCodec}). The key is the
 * session parameter {@code key} (hex); the session id is authenticated as associated data. Control datagrams pass
 * through unchanged.
 *
 * <p><b>Nonces</b> never repeat within an instance: a random 4-byte salt, drawn once when the instance is
 * created, followed by an 8-byte counter. When the counter is used up (2<sup>64</sup> datagrams) the instance
 * refuses to encrypt. Instances of one session (several units, or a new instance after a migration) draw
 * independent salts; two of them share a salt with probability about n<sup>2</sup>/2<sup>33</sup> for n
 * instances under one key, so rotate the key (a new session) long before thousands of instances used it.
 *
 * <p><b>Threading and memory:</b> one instance per session and unit, called by one thread at a time. Per
 * datagram it allocates only what the JCA API forces (the {@code GCMParameterSpec} and the router's view of the
 * input); the nonce, associated data and output buffer are reused.
 */
@Component(name = "io.pando.ep.aesgcm.encrypt", service = ActiveProgram.class, scope = ServiceScope.PROTOTYPE,
    configurationPolicy = ConfigurationPolicy.IGNORE, property = "name=" + AesGcmEncryptProgram.NAME)
public final class AesGcmEncryptProgram implements ActiveProgram {

    /** The program's name: the {@code name} service property sessions refer to. */
    public static final String NAME = "aes-gcm-encrypt";

    private final KeyedCipher keyed = new KeyedCipher(NAME);
    private final byte[] nonce = new byte[AesGcmCodec.NONCE_LENGTH];
    private long counter;
    private boolean exhausted;

    /** Creates an instance with a fresh random salt (DS calls this once per session and unit). */
    public AesGcmEncryptProgram() {
        this(new SecureRandom().nextInt(), 0);
    }

    AesGcmEncryptProgram(int salt, long firstCounter) {
        for (int i = 0; i < AesGcmCodec.SALT_LENGTH; i++) {
            nonce[i] = (byte) (salt >>> (24 - 8 * i));
        }
        this.counter = firstCounter;
    }

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
        Cipher cipher = keyed.init(ctx, Cipher.ENCRYPT_MODE, nextNonce());
        ByteBuffer out = keyed.output(AesGcmCodec.OVERHEAD + in.length());
        out.put(nonce);
        cipher.doFinal(in.data(), out);
        out.flip();
        ctx.emit(in.flow(), out);
    }

    /** Takes the next counter value, for good: a value is never handed out twice, even if encryption fails. */
    private byte[] nextNonce() {
        if (exhausted) {
            throw new IllegalStateException(NAME + ": the nonce counter of this instance is used up (2^64 "
                + "datagrams); restart the session to get a new instance and salt");
        }
        long c = counter;
        if (c == -1L) {
            exhausted = true;
        } else {
            counter = c + 1;
        }
        for (int i = 0; i < 8; i++) {
            nonce[AesGcmCodec.SALT_LENGTH + i] = (byte) (c >>> (56 - 8 * i));
        }
        return nonce;
    }

    /** @return the output buffer's capacity; for tests */
    int outputCapacity() {
        return keyed.outputCapacity();
    }
}
