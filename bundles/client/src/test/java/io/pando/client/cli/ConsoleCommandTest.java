package io.pando.client.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.ServerSocket;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** {@code pando console} without a node: usage errors are status 2, an unreachable node is status 3. */
class ConsoleCommandTest {

    @ParameterizedTest(name = "console {0}")
    @CsvSource(delimiter = '|', value = {
        "--user u --password-file /nonexistent/pw echo           | cannot read the password file",
        "--user u --password-file /nonexistent/pw --timeout 0 x | need --timeout > 0",
        "--user u --password-file /nonexistent/pw --wait -1 x   | need --timeout > 0 and --wait >= 0",
        "--user u --password-file /nonexistent/pw --port 0 x    | --port must be in 1 .. 65535",
        "--port 1                                                | Missing required parameter: 'COMMAND'",
    })
    void invalidOptionsAreUsageErrors(String args, String message) {
        Cli cli = Cli.run(("console " + args.strip()).split(" +"));
        assertEquals(2, cli.exitCode(10), cli.err.toString());
        assertTrue(cli.err.toString().contains(message), cli.err.toString());
    }

    @Test
    void nobodyListeningIsConnectionFailure() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        Cli cli = Cli.run("console", "--port", Integer.toString(port), "--user", "u", "--password-file",
            write("pw").toString(), "bundle:list");
        assertEquals(3, cli.exitCode(30), cli.err.toString());
        assertTrue(cli.err.toString().contains("console: cannot connect to u@127.0.0.1:" + port
            + ": connection refused"), cli.err.toString());
        assertEquals("", cli.out.toString());
    }

    @Test
    void waitRetriesUntilItsDeadline() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        long t0 = System.nanoTime();
        Cli cli = Cli.run("console", "--port", Integer.toString(port), "--user", "u", "--password-file",
            write("pw").toString(), "--wait", "2.5", "bundle:list");
        double seconds = (System.nanoTime() - t0) / 1e9;
        assertEquals(3, cli.exitCode(30), cli.err.toString());
        assertTrue(cli.err.toString().contains("attempts"), cli.err.toString());
        assertTrue(seconds >= 1.5 && seconds < 10, "waited " + seconds + " s");
        assertEquals(1, cli.err.toString().strip().split("\\R").length, "one line: " + cli.err);
    }

    private static java.nio.file.Path write(String text) throws java.io.IOException {
        java.nio.file.Path f = java.nio.file.Files.createTempFile("pando-console", ".pw");
        f.toFile().deleteOnExit();
        java.nio.file.Files.writeString(f, text);
        return f;
    }
}
