package io.pando.shell.cli;

import io.pando.api.router.MigrationInfo;
import io.pando.api.router.SessionInfo;
import io.pando.api.session.SessionId;
import io.pando.api.unit.UnitId;
import java.io.PrintStream;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.NoSuchElementException;
import org.apache.karaf.shell.api.action.Argument;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.Completion;
import org.apache.karaf.shell.api.action.Option;
import org.apache.karaf.shell.api.action.lifecycle.Service;

/**
 * {@code pando:session-migrate}: moves a live session from one of its units to another, with its program's state,
 * losing nothing ({@code RouterService.migrateSession}).
 */
@Service
@Command(scope = "pando", name = "session-migrate", description = "Move a live session from one unit to another "
    + "with its program state, losing no datagram; prints how long datagrams were held")
public class SessionMigrateCommand extends RouterAction {

    @Argument(index = 0, name = "id", required = true, description = "The session id (see pando:sessions)")
    @Completion(SessionIdCompleter.class)
    String id;

    @Option(name = "--from", description = "The unit the session leaves; may be left out when the session has one unit")
    String from;

    @Option(name = "--to", required = true, description = "The unit that takes the session over (see pando:units)")
    String to;

    @Override
    public Object execute() {
        SessionId sid = SessionId.parse(id);
        UnitId target = UnitId.of(to);
        UnitId source;
        if (from != null) {
            source = UnitId.of(from);
        } else {
            SessionInfo s = router().session(sid).orElseThrow(() -> new NoSuchElementException("no session " + sid));
            if (s.units().size() != 1) {
                throw new IllegalArgumentException("session " + sid + " runs on " + s.units() + ": name the unit it "
                    + "leaves with --from");
            }
            source = s.units().get(0);
        }
        MigrationInfo m = router().migrateSession(sid, source, target);
        print(m, json, System.out);
        return null;
    }

    static void print(MigrationInfo m, boolean json, PrintStream out) {
        if (json) {
            printJson(out, Json.object(toMap(m)));
            return;
        }
        out.println(line(m));
        out.flush();
    }

    /** @return one line for people: what moved, where, and how long datagrams were held */
    static String line(MigrationInfo m) {
        return String.format(Locale.ROOT, "migrated session %s from %s to %s: hand-over %.3f ms, %d datagrams "
            + "held, %d state bytes, %d timers", m.session(), m.from(), m.to(), m.handover().toNanos() / 1e6,
            m.heldDatagrams(), m.stateBytes(), m.timers());
    }

    /** @return the migration as JSON fields: session, from, to, handover_us, held_datagrams, state_bytes, timers */
    static Map<String, Object> toMap(MigrationInfo m) {
        Map<String, Object> j = new LinkedHashMap<>();
        j.put("session", m.session().toString());
        j.put("from", m.from().toString());
        j.put("to", m.to().toString());
        j.put("handover_us", m.handover().toNanos() / 1000);
        j.put("held_datagrams", m.heldDatagrams());
        j.put("state_bytes", m.stateBytes());
        j.put("timers", m.timers());
        return j;
    }
}
