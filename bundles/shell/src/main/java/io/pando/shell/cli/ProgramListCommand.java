package io.pando.shell.cli;

import io.pando.ee.api.StoredProgram;
import java.io.PrintStream;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;
import java.util.List;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.apache.karaf.shell.support.table.ShellTable;

/**
 * {@code pando:program-list}: the programs in the program store, by name: version, bundle, state, the program
 * names their bundle registers, jar size and when they were installed.
 */
@Service
@Command(scope = "pando", name = "program-list", description = "List the programs in the program store: name, "
    + "version, bundle id, state, the program names it registers, size, installed")
public class ProgramListCommand extends StoreAction {

    private static final DateTimeFormatter WHEN = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss'Z'")
        .withZone(ZoneOffset.UTC);

    @Override
    public Object execute() {
        print(store().list(), json, System.out);
        return null;
    }

    static void print(List<StoredProgram> programs, boolean json, PrintStream out) {
        if (json) {
            printJson(out, Json.value(programs.stream().map(ProgramView::toJson).toList()));
            return;
        }
        ShellTable table = new ShellTable().emptyTableText("no programs stored (pando:program-install FILE|URL)");
        table.column("Name");
        table.column("Version");
        table.column("Bundle ID").alignRight();
        table.column("State");
        table.column("Programs");
        table.column("Size").alignRight();
        table.column("Installed");
        for (StoredProgram p : programs) {
            table.addRow().addContent(p.name(), p.version(), p.bundleId() < 0 ? "-" : p.bundleId(),
                p.state().toLowerCase(java.util.Locale.ROOT), p.programs().isEmpty() ? "-" : String.join(", ",
                    p.programs()), ProgramView.size(p.size()), WHEN.format(p.installedAt().truncatedTo(
                        ChronoUnit.SECONDS)));
        }
        table.print(out);
        out.flush();
    }
}
