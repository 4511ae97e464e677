package io.pando.shell.cli;

import io.pando.api.router.RouterService;
import io.pando.api.router.SessionInfo;
import java.util.List;
import org.apache.karaf.shell.api.action.lifecycle.Reference;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.apache.karaf.shell.api.console.CommandLine;
import org.apache.karaf.shell.api.console.Completer;
import org.apache.karaf.shell.api.console.Session;
import org.apache.karaf.shell.support.completers.StringsCompleter;

/** Completes the id of an open session; nothing where the router does not run. */
@Service
public class SessionIdCompleter implements Completer {

    @Reference(optional = true)
    RouterService router;

    @Override
    public int complete(Session session, CommandLine commandLine, List<String> candidates) {
        RouterService r = router;
        List<String> ids = r == null ? List.of() : r.sessions().stream().map(SessionInfo::id).map(String::valueOf)
            .toList();
        return new StringsCompleter(ids).complete(session, commandLine, candidates);
    }
}
