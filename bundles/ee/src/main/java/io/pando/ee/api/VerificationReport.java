package io.pando.ee.api;

import java.util.List;
import java.util.Objects;
import org.osgi.annotation.versioning.ProviderType;

/**
 * The outcome of verifying one program bundle: accepted if and only if there are no findings.
 *
 * @param accepted true if the bundle may be installed
 * @param symbolicName the bundle's {@code Bundle-SymbolicName} (without directives), or empty if it could not be
 *        read
 * @param version the bundle's {@code Bundle-Version} as written, or empty if it could not be read
 * @param findings every reason for rejection, in the order found (archive, manifest, then classes by entry
 *        name); empty if accepted
 */
@ProviderType
public record VerificationReport(boolean accepted, String symbolicName, String version, List<Finding> findings) {

    /**
     * @throws IllegalArgumentException if {@code accepted} does not match whether there are findings
     */
    public VerificationReport {
        Objects.requireNonNull(symbolicName, "symbolicName");
        Objects.requireNonNull(version, "version");
        findings = List.copyOf(findings);
        if (accepted != findings.isEmpty()) {
            throw new IllegalArgumentException("a report is accepted if and only if it has no findings");
        }
    }

    /**
     * @param symbolicName the bundle's symbolic name, or empty
     * @param version the bundle's version, or empty
     * @param findings the findings; none means accepted
     * @return a report, accepted if {@code findings} is empty
     */
    public static VerificationReport of(String symbolicName, String version, List<Finding> findings) {
        return new VerificationReport(findings.isEmpty(), symbolicName, version, findings);
    }

    /** @return true if some finding has this code */
    public boolean has(Finding.Code code) {
        return findings.stream().anyMatch(f -> f.code() == code);
    }

    /**
     * @return the report as text for a console: one line with the verdict, then one line per finding
     */
    public String describe() {
        StringBuilder b = new StringBuilder();
        String bundle = symbolicName.isEmpty() ? "program bundle" : symbolicName + " " + version;
        if (accepted) {
            b.append(bundle).append(": accepted");
        } else {
            b.append(bundle).append(": rejected, ").append(findings.size())
                .append(findings.size() == 1 ? " reason" : " reasons");
            for (Finding f : findings) {
                b.append(System.lineSeparator()).append("  ").append(f.code()).append("  ").append(f.message());
            }
        }
        return b.toString();
    }
}
