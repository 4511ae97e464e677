package io.pando.shell.cli;

import io.pando.ee.api.InstallResult;
import io.pando.ee.api.ProgramStoreException;
import io.pando.ee.api.StoredProgram;
import io.pando.ee.api.VerificationReport;
import java.io.PrintStream;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;
import org.apache.karaf.shell.api.action.Argument;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.Option;
import org.apache.karaf.shell.api.action.lifecycle.Service;

/**
 * {@code pando:program-install [--name N] FILE|URL}: verifies an active-program bundle (as
 * {@code pando:program-verify} does), and if it is accepted installs and starts it in the program store; a name
 * that is stored with another version is upgraded. Prints the verification report; on a refusal every reason, and
 * the command fails (exit status 1). Nothing is changed by a refused or failed install.
 */
@Service
@Command(scope = "pando", name = "program-install", description = "Verify an active-program bundle (a file on this "
    + "node, or a file:, http: or https: URL) and install it in the program store; upgrades a stored program of "
    + "the same name to another version")
public class ProgramInstallCommand extends StoreAction {

    /** A URL scheme of two or more characters (so that C:\x.jar stays a file). */
    private static final Pattern URL = Pattern.compile("^[A-Za-z][A-Za-z0-9+.-]+:.*");

    @Option(name = "--name", description = "The program's name in the store (1-64 characters of A-Z a-z 0-9 . _ -); "
        + "default: the bundle's symbolic name")
    String name;

    @Argument(index = 0, name = "source", required = true, description = "The program bundle: a jar on this node, "
        + "or a file:, http: or https: URL")
    String source;

    @Override
    public Object execute() throws ProgramStoreException {
        InstallResult result;
        if (URL.matcher(source).matches()) {
            URI uri;
            try {
                uri = new URI(source);
            } catch (URISyntaxException e) {
                throw new IllegalArgumentException("not a URL: '" + source + "': " + e.getMessage(), e);
            }
            result = store().install(uri, Optional.ofNullable(name));
        } else {
            result = store().install(Path.of(source), Optional.ofNullable(name));
        }
        print(System.out, source, result, json);
        if (!result.installed()) {
            throw new IllegalArgumentException(source + " refused: " + ProgramView.reasons(result.report()) + ": "
                + ProgramView.firstReasons(result.report(), 3));
        }
        return null;
    }

    static void print(PrintStream out, String source, InstallResult result, boolean json) {
        VerificationReport report = result.report();
        if (json) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("source", source);
            m.put("accepted", report.accepted());
            m.put("symbolic_name", report.symbolicName());
            m.put("version", report.version());
            m.put("findings", ProgramView.findings(report));
            m.put("installed", result.program().map(ProgramView::toJson).orElse(null));
            m.put("replaced_version", result.replacedVersion().orElse(null));
            printJson(out, Json.object(m));
            return;
        }
        out.println(source + ": " + (report.symbolicName().isEmpty() ? "?" : report.symbolicName()) + " "
            + report.version() + ": " + (report.accepted() ? "accepted" : "refused, " + ProgramView.reasons(report)));
        ProgramView.printFindings(out, report);
        if (result.installed()) {
            StoredProgram p = result.program().get();
            out.println((result.replacedVersion().isPresent() ? "upgraded " + p.name() + " "
                + result.replacedVersion().get() + " -> " + p.version() : "installed " + p.name() + " " + p.version())
                + " as bundle " + p.bundleId() + " (" + p.state().toLowerCase(java.util.Locale.ROOT) + "), programs: "
                + String.join(", ", p.programs()));
        }
        out.flush();
    }
}
