package io.pando.cluster.cli;

import io.pando.api.unit.UnitLoad;
import io.pando.cluster.UnitReport;
import java.io.PrintStream;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.apache.karaf.shell.support.table.ShellTable;

/** {@code pando:cluster-units}: the parallel AR units of every node of the cluster, with their load. */
@Service
@Command(scope = "pando", name = "cluster-units", description = "List the units of every node of the cluster as "
    + "each node last reported them: member, unit, sessions, CPU, buffer use, queued datagrams, scheduler, programs "
    + "and the report's age")
public class ClusterUnitsCommand extends ClusterAction {

    @Override
    public Object execute() {
        print(unitDirectory().units(), Instant.now(), json, System.out);
        return null;
    }

    static void print(List<UnitReport> units, Instant now, boolean json, PrintStream out) {
        if (json) {
            List<Object> rows = new ArrayList<>(units.size());
            for (UnitReport u : units) {
                rows.add(toJson(u, now));
            }
            printJson(out, rows);
            return;
        }
        ShellTable table = new ShellTable().emptyTableText("no units reported");
        table.column("Member");
        table.column("Unit");
        table.column("Sessions").alignRight();
        table.column("CPU").alignRight();
        table.column("Buffer Used/Capacity").alignRight();
        table.column("Queued").alignRight();
        table.column("Scheduler");
        table.column("Programs");
        table.column("Age").alignRight();
        for (UnitReport u : units) {
            UnitLoad l = u.load();
            table.addRow().addContent(u.member(), l.unit(), l.sessions(),
                String.format(Locale.ROOT, "%.1f%%", l.cpu() * 100), l.bufferUsed() + "/" + l.bufferCapacity(),
                l.queuedDatagrams(), u.scheduler(), String.join(",", u.programs()), age(l.at(), now) + " ms");
        }
        table.print(out);
        out.flush();
    }

    private static long age(Instant at, Instant now) {
        return Math.max(0, Duration.between(at, now).toMillis());
    }

    /**
     * @return the report as a JSON object: member, member_id, unit, sessions, cpu (a fraction), buffer_used,
     *     buffer_capacity (bytes), queued_datagrams, scheduler, programs, at, age_ms
     */
    static Map<String, Object> toJson(UnitReport u, Instant now) {
        UnitLoad l = u.load();
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("member", u.member());
        m.put("member_id", u.memberId());
        m.put("unit", l.unit().value());
        m.put("sessions", l.sessions());
        m.put("cpu", l.cpu());
        m.put("buffer_used", l.bufferUsed());
        m.put("buffer_capacity", l.bufferCapacity());
        m.put("queued_datagrams", l.queuedDatagrams());
        m.put("scheduler", u.scheduler());
        m.put("programs", u.programs());
        m.put("at", l.at().toString());
        m.put("age_ms", age(l.at(), now));
        return m;
    }
}
