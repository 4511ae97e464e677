package io.pando.shell.cli;

import io.pando.api.router.SessionInfo;
import io.pando.api.session.Flow;
import io.pando.api.unit.UnitId;
import java.io.PrintStream;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import org.apache.karaf.shell.support.table.ShellTable;

/** How the session commands print a {@link SessionInfo}: a JSON object, a table row, or a detailed report. */
final class SessionView {

    private SessionView() {
    }

    /**
     * @return the session as a JSON object: id (unsigned decimal, as a string), name, program, state (lower case),
     *     ingress, destination ({@code host:port}), units (ids), load_balancing, keyed (a boolean; never the key),
     *     created (ISO-8601), counters,
     *     unit_counters (unit id to counters), reorder, and flows (ascending, each {@code {id, name, destination}}:
     *     id a number, destination {@code host:port}); counters sorted by name
     */
    static String toJson(SessionInfo s) {
        return Json.object(fields(s));
    }

    private static Map<String, Object> fields(SessionInfo s) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", s.id().toString());
        m.put("name", s.name());
        m.put("program", s.program());
        m.put("state", state(s));
        m.put("ingress", HostPort.format(s.ingress()));
        m.put("destination", HostPort.format(s.destination()));
        m.put("units", s.units().stream().map(UnitId::toString).toList());
        m.put("load_balancing", s.loadBalancing());
        m.put("keyed", s.keyed());
        m.put("created", s.created().toString());
        m.put("counters", new TreeMap<>(s.counters()));
        Map<String, Object> perUnit = new LinkedHashMap<>();
        unitCounters(s).forEach((unit, counters) -> perUnit.put(unit.toString(), new TreeMap<>(counters)));
        m.put("unit_counters", perUnit);
        m.put("reorder", new TreeMap<>(s.reorder()));
        m.put("flows", s.flows().stream().map(SessionView::flow).toList());
        return m;
    }

    private static Map<String, Object> flow(Flow f) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", f.id().value());
        m.put("name", f.name());
        m.put("destination", HostPort.format(f.destination()));
        return m;
    }

    /** Prints one row per flow: id, name, destination. */
    static void printFlows(List<Flow> flows, PrintStream out) {
        ShellTable table = new ShellTable();
        table.column("Flow").alignRight();
        table.column("Name");
        table.column("Destination");
        for (Flow f : flows) {
            table.addRow().addContent(f.id().value(), f.name(), HostPort.format(f.destination()));
        }
        table.print(out);
        out.flush();
    }

    /** Prints one row per session: id, name, program, state, unit count, ingress, destination, datagrams in/out. */
    static void printTable(List<SessionInfo> sessions, PrintStream out) {
        ShellTable table = new ShellTable().emptyTableText("no open sessions");
        table.column("ID").alignRight();
        table.column("Name");
        table.column("Program");
        table.column("State");
        table.column("Units").alignRight();
        table.column("Ingress");
        table.column("Destination");
        table.column("Datagrams In").alignRight();
        table.column("Datagrams Out").alignRight();
        for (SessionInfo s : sessions) {
            table.addRow().addContent(s.id(), s.name(), s.program(), state(s), s.units().size(),
                HostPort.format(s.ingress()), HostPort.format(s.destination()),
                counter(s.counters(), "datagrams_in"), counter(s.counters(), "datagrams_out"));
        }
        table.print(out);
        out.flush();
    }

    /**
     * Prints the session in detail: its properties, its counters, the counters of each unit side by side, the
     * reordering measurements if the aggregation strategy keeps any, and its flows if it has more than flow 0.
     */
    static void printDetail(SessionInfo s, PrintStream out) {
        ShellTable props = new ShellTable().noHeaders();
        props.column("Property");
        props.column("Value");
        props.addRow().addContent("Session", s.id());
        props.addRow().addContent("Name", s.name());
        props.addRow().addContent("Program", s.program());
        props.addRow().addContent("State", state(s));
        props.addRow().addContent("Ingress", HostPort.format(s.ingress()));
        props.addRow().addContent("Destination", HostPort.format(s.destination()));
        props.addRow().addContent("Units", s.units().isEmpty() ? "-"
            : String.join(", ", s.units().stream().map(UnitId::toString).toList()));
        props.addRow().addContent("Load balancing", s.loadBalancing());
        props.addRow().addContent("Keyed", s.keyed() ? "yes (senders need the session's key)" : "no");
        props.addRow().addContent("Created", s.created());
        props.print(out);

        out.println();
        counterTable("Counter", s.counters(), "no counters").print(out);

        Map<UnitId, Map<String, Long>> perUnit = unitCounters(s);
        if (!perUnit.isEmpty()) {
            out.println();
            ShellTable units = new ShellTable();
            units.column("Unit counter");
            perUnit.keySet().forEach(u -> units.column(u.toString()).alignRight());
            TreeSet<String> names = new TreeSet<>();
            perUnit.values().forEach(c -> names.addAll(c.keySet()));
            for (String name : names) {
                Object[] row = new Object[perUnit.size() + 1];
                row[0] = name;
                int i = 1;
                for (Map<String, Long> c : perUnit.values()) {
                    row[i++] = counter(c, name);
                }
                units.addRow().addContent(row);
            }
            units.print(out);
        }

        if (!s.reorder().isEmpty()) {
            out.println();
            counterTable("Reorder", s.reorder(), "").print(out);
        }
        if (s.flows().size() > 1) {
            out.println();
            printFlows(s.flows(), out);
        }
        out.flush();
    }

    /** @return a two-column table of counters sorted by name */
    static ShellTable counterTable(String header, Map<String, Long> counters, String empty) {
        ShellTable table = new ShellTable().emptyTableText(empty);
        table.column(header);
        table.column("Value").alignRight();
        new TreeMap<>(counters).forEach((k, v) -> table.addRow().addContent(k, v));
        return table;
    }

    /** @return the session's state in lower case, as the console prints it */
    static String state(SessionInfo s) {
        return s.state().name().toLowerCase(Locale.ROOT);
    }

    /** @return the per-unit counters in the order of the session's units, then any other unit by id */
    private static Map<UnitId, Map<String, Long>> unitCounters(SessionInfo s) {
        Map<UnitId, Map<String, Long>> ordered = new LinkedHashMap<>();
        for (UnitId u : s.units()) {
            Map<String, Long> c = s.unitCounters().get(u);
            if (c != null) {
                ordered.put(u, c);
            }
        }
        s.unitCounters().keySet().stream().sorted(Comparator.comparing(UnitId::toString))
            .forEach(u -> ordered.putIfAbsent(u, s.unitCounters().get(u)));
        return ordered;
    }

    private static Object counter(Map<String, Long> counters, String name) {
        Long v = counters.get(name);
        return v == null ? "-" : v;
    }
}
