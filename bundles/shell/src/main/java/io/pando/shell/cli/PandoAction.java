package io.pando.shell.cli;

import java.io.PrintStream;
import org.apache.karaf.shell.api.action.Action;
import org.apache.karaf.shell.api.action.Option;

/**
 * What every {@code pando:} command shares: the {@code --json} option. With it a command prints exactly one JSON
 * object or array, on one line, as the last line of its output, so that a script can take the last line and parse it.
 */
abstract class PandoAction implements Action {

    @Option(name = "--json", description = "Print one JSON object or array, on one line, as the last line of output")
    boolean json;

    /** Prints {@code value} (already JSON) as the last line of the command's output. */
    static void printJson(PrintStream out, String value) {
        out.println(value);
        out.flush();
    }
}
