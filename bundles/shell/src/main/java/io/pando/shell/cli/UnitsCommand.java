package io.pando.shell.cli;

import io.pando.api.router.UnitInfo;
import io.pando.api.unit.UnitLoad;
import java.io.PrintStream;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.apache.karaf.shell.support.table.ShellTable;

/** {@code pando:units}: the parallel AR units the router can use, local and remote, with their live load. */
@Service
@Command(scope = "pando", name = "units", description = "List the units the router can use, local and remote: "
    + "location, sessions, CPU, buffer use, queued datagrams and packet scheduler")
public class UnitsCommand extends RouterAction {

    @Override
    public Object execute() {
        List<UnitInfo> units = router().units().stream()
            .sorted(Comparator.comparing((UnitInfo u) -> u.id().toString())).toList();
        print(units, json, System.out);
        return null;
    }

    static void print(List<UnitInfo> units, boolean json, PrintStream out) {
        if (json) {
            printJson(out, Json.array(units.stream().map(UnitsCommand::toJson).toList()));
            return;
        }
        ShellTable table = new ShellTable().emptyTableText("no units available");
        table.column("ID");
        table.column("Location");
        table.column("Sessions").alignRight();
        table.column("CPU").alignRight();
        table.column("Buffer Used/Capacity").alignRight();
        table.column("Queued").alignRight();
        table.column("Scheduler");
        for (UnitInfo u : units) {
            UnitLoad l = u.load();
            table.addRow().addContent(u.id(), u.location(), l.sessions(),
                String.format(Locale.ROOT, "%.1f%%", l.cpu() * 100),
                bytes(l.bufferUsed()) + "/" + bytes(l.bufferCapacity()), l.queuedDatagrams(), u.scheduler());
        }
        table.print(out);
        out.flush();
    }

    /**
     * @return the unit as a JSON object: id, location, scheduler, load {at, cpu (a fraction), buffer_used,
     *     buffer_capacity (bytes), sessions, queued_datagrams}, counters (sorted by name)
     */
    static String toJson(UnitInfo u) {
        UnitLoad l = u.load();
        Map<String, Object> load = new LinkedHashMap<>();
        load.put("at", l.at().toString());
        load.put("cpu", l.cpu());
        load.put("buffer_used", l.bufferUsed());
        load.put("buffer_capacity", l.bufferCapacity());
        load.put("sessions", l.sessions());
        load.put("queued_datagrams", l.queuedDatagrams());
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", u.id().toString());
        m.put("location", u.location());
        m.put("scheduler", u.scheduler());
        m.put("load", load);
        m.put("counters", new TreeMap<>(u.counters()));
        return Json.object(m);
    }

    /** @return a byte count for people: {@code 512 B}, {@code 1.5 KiB}, {@code 64.0 MiB} */
    static String bytes(long n) {
        if (n < 1024) {
            return n + " B";
        }
        String[] units = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
        double v = n;
        int i = -1;
        do {
            v /= 1024;
            i++;
        } while (v >= 1024 && i < units.length - 1);
        return String.format(Locale.ROOT, "%.1f %s", v, units[i]);
    }
}
