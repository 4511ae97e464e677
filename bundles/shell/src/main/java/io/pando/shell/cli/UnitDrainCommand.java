package io.pando.shell.cli;

import io.pando.api.router.DrainInfo;
import io.pando.api.router.MigrationInfo;
import io.pando.api.unit.UnitId;
import java.io.PrintStream;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.karaf.shell.api.action.Argument;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.lifecycle.Service;

/**
 * {@code pando:unit-drain}: the unit takes no new session, and every session it serves migrates to the least
 * loaded other unit ({@code RouterService.drainUnit}).
 */
@Service
@Command(scope = "pando", name = "unit-drain", description = "Migrate every session off a unit (each to the least "
    + "loaded other unit) and place no new session on it until pando:unit-undrain")
public class UnitDrainCommand extends RouterAction {

    @Argument(index = 0, name = "unit", required = true, description = "The unit id (see pando:units)")
    String unit;

    @Override
    public Object execute() {
        DrainInfo d = router().drainUnit(UnitId.of(unit));
        print(d, json, System.out);
        return null;
    }

    static void print(DrainInfo d, boolean json, PrintStream out) {
        if (json) {
            Map<String, Object> j = new LinkedHashMap<>();
            j.put("unit", d.unit().toString());
            j.put("drained", true);
            j.put("migrated", d.migrated().stream().map(SessionMigrateCommand::toMap).toList());
            Map<String, Object> stayed = new LinkedHashMap<>();
            d.notMigrated().forEach((k, v) -> stayed.put(k.toString(), v));
            j.put("not_migrated", stayed);
            printJson(out, Json.object(j));
            return;
        }
        out.println("unit " + d.unit() + " is drained: it takes no new session (pando:unit-undrain " + d.unit()
            + " to undo)");
        for (MigrationInfo m : d.migrated()) {
            out.println(SessionMigrateCommand.line(m));
        }
        d.notMigrated().forEach((s, why) -> out.println("session " + s + " stays on " + d.unit() + ": " + why));
        if (d.migrated().isEmpty() && d.notMigrated().isEmpty()) {
            out.println("no session ran on it");
        }
        out.flush();
    }
}
