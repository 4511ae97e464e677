package io.pando.shell.cli;

import io.pando.api.router.SessionInfo;
import io.pando.api.session.SessionId;
import java.util.NoSuchElementException;
import org.apache.karaf.shell.api.action.Argument;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.Completion;
import org.apache.karaf.shell.api.action.lifecycle.Service;

/** {@code pando:session-info}: one session in detail, with the counters of each of its units. */
@Service
@Command(scope = "pando", name = "session-info", description = "Show one session in detail: properties, "
    + "counters, the counters of each unit and the reordering measurements")
public class SessionInfoCommand extends RouterAction {

    @Argument(index = 0, name = "id", required = true, description = "The session id (see pando:sessions)")
    @Completion(SessionIdCompleter.class)
    String id;

    @Override
    public Object execute() {
        SessionId sid = SessionId.parse(id);
        SessionInfo s = router().session(sid).orElseThrow(() -> new NoSuchElementException("no session " + sid));
        if (json) {
            printJson(System.out, SessionView.toJson(s));
            return null;
        }
        SessionView.printDetail(s, System.out);
        return null;
    }
}
