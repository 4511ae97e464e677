package io.pando.ee.api;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;
import org.osgi.annotation.versioning.ProviderType;

/**
 * Decides whether an uploaded active-program bundle may be installed. Pando implements it (the
 * {@code io.pando.ee} bundle registers one as a service); the program-install command and the execution
 * environments call it. Implementations are thread safe and keep nothing of a verified jar.
 *
 * <p>Verification never loads, links or runs the program's code: the archive is read with bounded memory and
 * every class is parsed as data.
 */
@ProviderType
public interface ProgramVerifier {

    /**
     * Verifies a program bundle read from a stream, for example an upload. At most
     * {@link VerificationLimits#maxJarBytes()} + 1 bytes are read; a longer stream is rejected without reading the
     * rest. The stream is not closed.
     *
     * @param jar the bundle's bytes
     * @param declaredSize the size the uploader announced (for example a Content-Length), or -1 if unknown; a
     *        declared size over the limit is rejected before reading, a size that differs from what was read is
     *        reported
     * @return the report; {@link VerificationReport#accepted()} is false if anything is wrong
     * @throws IOException only if reading {@code jar} or the temporary copy fails; a malformed jar is a report,
     *         not an exception
     */
    VerificationReport verify(InputStream jar, long declaredSize) throws IOException;

    /**
     * Verifies a program bundle in a file.
     *
     * @param jar the bundle
     * @return the report; {@link VerificationReport#accepted()} is false if anything is wrong
     * @throws IOException only if the file cannot be read at all (missing, unreadable)
     */
    VerificationReport verify(Path jar) throws IOException;

    /**
     * @return the size limits this verifier applies; a store stops reading an upload past
     *         {@link VerificationLimits#maxJarBytes()}. The default returns {@link VerificationLimits#DEFAULT}.
     * @since 1.1
     */
    default VerificationLimits limits() {
        return VerificationLimits.DEFAULT;
    }
}
