package io.pando.ee.api;

import java.util.Objects;
import org.osgi.annotation.versioning.ProviderType;

/**
 * One reason a program bundle is rejected.
 *
 * @param code what kind of problem
 * @param where where it is: an archive entry ({@code io/x/Evil.class}), a manifest header
 *        ({@code MANIFEST.MF Import-Package}), a class ({@code io.x.Evil}) or a member
 *        ({@code io.x.Evil.run()V}); {@code "jar"} for the archive as a whole
 * @param message a sentence for the uploader, for example
 *        {@code io.x.Evil.run()V calls java.lang.System.exit(I)V: not allowed (process control)}
 */
@ProviderType
public record Finding(Code code, String where, String message) {

    /** The kinds of problem. New kinds may be added in minor versions. */
    public enum Code {
        /** The bytes are not a zip/jar archive at all. */
        NOT_A_JAR,
        /** The archive is truncated or otherwise unreadable, or has duplicate entries. */
        CORRUPT_ARCHIVE,
        /** The jar, or the sum of its uncompressed entries, exceeds a limit; or the declared size is wrong. */
        TOO_LARGE,
        /** More entries than allowed. */
        TOO_MANY_ENTRIES,
        /** An entry inflates more than the allowed ratio. */
        COMPRESSION_RATIO,
        /** An entry name is absolute, contains {@code ..} or a backslash, or is otherwise unsafe. */
        UNSAFE_ENTRY_NAME,
        /** An entry a program may not contain: nested jar, native library, module-info, multi-release class. */
        FORBIDDEN_ENTRY,
        /** No {@code META-INF/MANIFEST.MF}. */
        MISSING_MANIFEST,
        /** A required manifest header is missing or malformed. */
        BAD_MANIFEST,
        /** A manifest header a program may not use (Require-Bundle, Bundle-Activator, ...). */
        FORBIDDEN_HEADER,
        /** Import-Package names a package outside the program API and the allowlisted JDK packages. */
        FORBIDDEN_IMPORT,
        /** Export-Package names a package the bundle does not contain, or an API or JDK package. */
        FORBIDDEN_EXPORT,
        /** A class in a package of the program API, of the JDK, or in no package. */
        FORBIDDEN_PACKAGE,
        /** A class file that cannot be parsed, or whose name does not match its entry. */
        BAD_CLASS,
        /** Bytecode references a class or member outside the allowlist. */
        FORBIDDEN_REFERENCE,
        /** An invokedynamic or dynamic constant with a bootstrap method other than lambdas, string concatenation
         *  and record methods. */
        FORBIDDEN_BOOTSTRAP,
        /** A class overrides {@code finalize()}. */
        FINALIZER
    }

    /**
     * @throws NullPointerException if an argument is null
     */
    public Finding {
        Objects.requireNonNull(code, "code");
        Objects.requireNonNull(where, "where");
        Objects.requireNonNull(message, "message");
    }

    @Override
    public String toString() {
        return code + " " + where + ": " + message;
    }
}
