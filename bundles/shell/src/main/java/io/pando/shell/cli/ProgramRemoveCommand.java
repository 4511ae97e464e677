package io.pando.shell.cli;

import io.pando.ee.api.ProgramStoreException;
import io.pando.ee.api.StoredProgram;
import org.apache.karaf.shell.api.action.Argument;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.Completion;
import org.apache.karaf.shell.api.action.lifecycle.Service;

/**
 * {@code pando:program-remove NAME}: uninstalls a stored program's bundle and deletes its jar. Sessions running
 * it keep their datagrams until a program of that name is registered again.
 */
@Service
@Command(scope = "pando", name = "program-remove", description = "Remove a program from the program store: "
    + "uninstall its bundle and delete its jar")
public class ProgramRemoveCommand extends StoreAction {

    @Argument(index = 0, name = "name", required = true, description = "The program's name in the store "
        + "(see pando:program-list)")
    @Completion(StoredProgramCompleter.class)
    String name;

    @Override
    public Object execute() throws ProgramStoreException {
        StoredProgram p = store().remove(name);
        if (json) {
            printJson(System.out, Json.object(ProgramView.toJson(p)));
            return null;
        }
        System.out.println("removed " + p.name() + " " + p.version() + (p.bundleId() < 0 ? "" : " (bundle "
            + p.bundleId() + ")") + (p.programs().isEmpty() ? "" : ", programs: " + String.join(", ", p.programs())));
        return null;
    }
}
