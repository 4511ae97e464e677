package io.pando.shell.cli;

import io.pando.api.router.SessionInfo;
import io.pando.api.session.SessionId;
import java.util.NoSuchElementException;
import org.apache.karaf.shell.api.action.Argument;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.Completion;
import org.apache.karaf.shell.api.action.lifecycle.Service;

/**
 * {@code pando:session-close}: closes a session in order (what was accepted is still processed and delivered) and
 * prints its final report.
 */
@Service
@Command(scope = "pando", name = "session-close", description = "Close a session: refuse new datagrams, deliver "
    + "those accepted, close its connections; prints the final report")
public class SessionCloseCommand extends RouterAction {

    @Argument(index = 0, name = "id", required = true, description = "The session id (see pando:sessions)")
    @Completion(SessionIdCompleter.class)
    String id;

    @Override
    public Object execute() {
        SessionId sid = SessionId.parse(id);
        SessionInfo s;
        try {
            s = router().closeSession(sid);
        } catch (NoSuchElementException e) {
            // the router's wording may vary; the console's does not
            throw new NoSuchElementException("no session " + sid, e);
        }
        if (json) {
            printJson(System.out, SessionView.toJson(s));
            return null;
        }
        System.out.println("closed session " + s.id() + " (" + s.name() + ")");
        System.out.println();
        SessionView.printDetail(s, System.out);
        return null;
    }
}
