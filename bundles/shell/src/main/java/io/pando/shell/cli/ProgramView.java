package io.pando.shell.cli;

import io.pando.ee.api.Finding;
import io.pando.ee.api.StoredProgram;
import io.pando.ee.api.VerificationReport;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.apache.karaf.shell.support.table.ShellTable;

/** Prints stored programs and verification reports: table rows, text, JSON fields. */
final class ProgramView {

    private ProgramView() {
    }

    /**
     * @return the program as JSON fields: {@code name, symbolic_name, version, bundle_id, state (lower case),
     *     programs[], jar, size, sha256, installed (ISO-8601)}
     */
    static Map<String, Object> toJson(StoredProgram p) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("name", p.name());
        m.put("symbolic_name", p.symbolicName());
        m.put("version", p.version());
        m.put("bundle_id", p.bundleId());
        m.put("state", p.state().toLowerCase(Locale.ROOT));
        m.put("programs", p.programs());
        m.put("jar", p.jar().toString());
        m.put("size", p.size());
        m.put("sha256", p.sha256());
        m.put("installed", p.installedAt().toString());
        return m;
    }

    /** @return the findings as JSON objects {@code code (lower case), where, message} */
    static List<Object> findings(VerificationReport report) {
        List<Object> findings = new ArrayList<>();
        for (Finding f : report.findings()) {
            Map<String, Object> fm = new LinkedHashMap<>();
            fm.put("code", f.code().name().toLowerCase(Locale.ROOT));
            fm.put("where", f.where());
            fm.put("message", f.message());
            findings.add(fm);
        }
        return findings;
    }

    /** Prints the table of a refused report's findings (nothing for an accepted one). */
    static void printFindings(PrintStream out, VerificationReport report) {
        if (report.accepted()) {
            return;
        }
        ShellTable table = new ShellTable();
        table.column("Code");
        table.column("Where");
        table.column("Reason");
        for (Finding f : report.findings()) {
            table.addRow().addContent(f.code().name().toLowerCase(Locale.ROOT), f.where(), f.message());
        }
        table.print(out);
    }

    /** @return "N reason(s)" */
    static String reasons(VerificationReport report) {
        int n = report.findings().size();
        return n + (n == 1 ? " reason" : " reasons");
    }

    /** @return the first {@code max} reasons on one line, "; "-separated, with "..." if there are more */
    static String firstReasons(VerificationReport report, int max) {
        StringBuilder b = new StringBuilder();
        int n = 0;
        for (var f : report.findings()) {
            if (n == max) {
                b.append("; ...");
                break;
            }
            b.append(n++ == 0 ? "" : "; ").append(f);
        }
        return b.toString();
    }

    /** @return a size for people: 512 B, 14.2 KiB, 3.0 MiB; "?" if unknown */
    static String size(long bytes) {
        if (bytes < 0) {
            return "?";
        }
        if (bytes < 1024) {
            return bytes + " B";
        }
        if (bytes < 1024 * 1024) {
            return String.format(Locale.ROOT, "%.1f KiB", bytes / 1024.0);
        }
        return String.format(Locale.ROOT, "%.1f MiB", bytes / (1024.0 * 1024.0));
    }
}
