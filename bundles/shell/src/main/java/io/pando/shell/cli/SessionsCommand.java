package io.pando.shell.cli;

import io.pando.api.router.SessionInfo;
import java.util.List;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.lifecycle.Service;

/** {@code pando:sessions}: the sessions that are not closed, oldest first. */
@Service
@Command(scope = "pando", name = "sessions", description = "List the open sessions, oldest first: program, state, "
    + "units, ingress, destination and datagrams in and out")
public class SessionsCommand extends RouterAction {

    @Override
    public Object execute() {
        List<SessionInfo> sessions = router().sessions();
        if (json) {
            printJson(System.out, Json.array(sessions.stream().map(SessionView::toJson).toList()));
            return null;
        }
        SessionView.printTable(sessions, System.out);
        return null;
    }
}
