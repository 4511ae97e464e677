package io.pando.shell.cli;

import io.pando.ee.api.Finding;
import io.pando.ee.api.ProgramVerifier;
import io.pando.ee.api.VerificationReport;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.karaf.shell.api.action.Argument;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.lifecycle.Reference;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.apache.karaf.shell.support.table.ShellTable;

/**
 * {@code pando:program-verify FILE}: checks an active-program bundle the way an upload is checked — archive
 * limits, manifest rules, and every class's bytecode against the allowlist — and prints every reason it would be
 * refused. Changes nothing; the command fails (exit status 1) when the program would be refused.
 */
@Service
@Command(scope = "pando", name = "program-verify", description = "Check an active-program bundle as an upload is "
    + "checked (archive, manifest, bytecode against the allowlist) and print every reason it would be refused; "
    + "changes nothing")
public class ProgramVerifyCommand extends PandoAction {

    @Argument(index = 0, name = "file", required = true, description = "The program bundle (a jar) on this node")
    String file;

    @Reference(optional = true)
    ProgramVerifier verifier;

    @Override
    public Object execute() throws IOException {
        if (verifier == null) {
            throw new IllegalStateException("the program verifier is not running on this node (feature pando-ee)");
        }
        Path path = Path.of(file);
        if (!Files.isRegularFile(path)) {
            throw new IllegalArgumentException("no file " + path.toAbsolutePath());
        }
        VerificationReport report = verifier.verify(path);
        print(System.out, path, report, json);
        if (!report.accepted()) {
            throw new IllegalArgumentException(path.getFileName() + " would be refused: " + report.findings().size()
                + (report.findings().size() == 1 ? " reason" : " reasons"));
        }
        return null;
    }

    static void print(PrintStream out, Path path, VerificationReport report, boolean json) {
        if (json) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("file", path.toString());
            m.put("accepted", report.accepted());
            m.put("symbolic_name", report.symbolicName());
            m.put("version", report.version());
            List<Object> findings = new ArrayList<>();
            for (Finding f : report.findings()) {
                Map<String, Object> fm = new LinkedHashMap<>();
                fm.put("code", f.code().name().toLowerCase(java.util.Locale.ROOT));
                fm.put("where", f.where());
                fm.put("message", f.message());
                findings.add(fm);
            }
            m.put("findings", findings);
            printJson(out, Json.object(m));
            return;
        }
        out.println(path.getFileName() + ": " + (report.symbolicName().isEmpty() ? "?" : report.symbolicName()) + " "
            + report.version() + ": " + (report.accepted() ? "accepted" : "refused, " + report.findings().size()
            + (report.findings().size() == 1 ? " reason" : " reasons")));
        if (!report.accepted()) {
            ShellTable table = new ShellTable();
            table.column("Code");
            table.column("Where");
            table.column("Reason");
            for (Finding f : report.findings()) {
                table.addRow().addContent(f.code().name().toLowerCase(java.util.Locale.ROOT), f.where(), f.message());
            }
            table.print(out);
        }
        out.flush();
    }
}
