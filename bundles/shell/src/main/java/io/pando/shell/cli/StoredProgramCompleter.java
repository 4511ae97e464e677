package io.pando.shell.cli;

import io.pando.ee.api.ProgramStore;
import io.pando.ee.api.StoredProgram;
import java.util.List;
import org.apache.karaf.shell.api.action.lifecycle.Reference;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.apache.karaf.shell.api.console.CommandLine;
import org.apache.karaf.shell.api.console.Completer;
import org.apache.karaf.shell.api.console.Session;
import org.apache.karaf.shell.support.completers.StringsCompleter;

/** Completes the name of a stored program; nothing where the program store does not run. */
@Service
public class StoredProgramCompleter implements Completer {

    @Reference(optional = true)
    ProgramStore store;

    @Override
    public int complete(Session session, CommandLine commandLine, List<String> candidates) {
        ProgramStore s = store;
        List<String> names = s == null ? List.of() : s.list().stream().map(StoredProgram::name).toList();
        return new StringsCompleter(names).complete(session, commandLine, candidates);
    }
}
