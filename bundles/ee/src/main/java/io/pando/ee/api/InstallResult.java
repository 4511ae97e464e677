package io.pando.ee.api;

import java.util.Objects;
import java.util.Optional;
import org.osgi.annotation.versioning.ProviderType;

/**
 * What {@link ProgramStore#install} did.
 *
 * @param report the verification report; if it is refused, nothing was installed and {@code program} is empty
 * @param program the installed program, present if and only if the report was accepted
 * @param replacedVersion the version this install replaced (an upgrade), or empty for a new name
 */
@ProviderType
public record InstallResult(VerificationReport report, Optional<StoredProgram> program,
    Optional<String> replacedVersion) {

    /**
     * @throws IllegalArgumentException if a program is given for a refused report, or none for an accepted one
     */
    public InstallResult {
        Objects.requireNonNull(report, "report");
        Objects.requireNonNull(program, "program");
        Objects.requireNonNull(replacedVersion, "replacedVersion");
        if (report.accepted() != program.isPresent()) {
            throw new IllegalArgumentException("an install result has a program if and only if it was accepted");
        }
    }

    /**
     * @param report a refused report
     * @return the result of an install that verification refused
     */
    public static InstallResult refused(VerificationReport report) {
        return new InstallResult(report, Optional.empty(), Optional.empty());
    }

    /** @return true if the program was installed */
    public boolean installed() {
        return program.isPresent();
    }
}
