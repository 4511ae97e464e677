package io.pando.client.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** How {@code pando console} finds host, port, user and password: options, environment, then the node's etc/. */
class ConsoleTargetTest {

    @TempDir
    Path home;

    private final Map<String, String> env = new HashMap<>();

    @BeforeEach
    void node() throws IOException {
        Files.createDirectories(home.resolve("etc"));
        Files.writeString(home.resolve(ConsoleTarget.SHELL_CFG), "# shell\nsshPort = 8123\nsshHost = 127.0.0.1\n");
        Files.writeString(home.resolve(ConsoleTarget.USERS), """
            # users
            _g_\\:admingroup = group,admin,manager,viewer,systembundles,ssh
            ops = s3cret,_g_:admingroup
            karaf = karaf,_g_:admingroup
            """);
        env.put(ConsoleTarget.ENV_HOME, home.toString());
    }

    @Test
    void defaultsComeFromTheNode() throws Exception {
        ConsoleTarget t = ConsoleTarget.resolve(null, null, null, null, env);
        assertEquals(new ConsoleTarget("127.0.0.1", 8123, "ops", "s3cret"), t);
        assertEquals("ops@127.0.0.1:8123", t.toString(), "never prints the password");
    }

    @Test
    void withoutKarafHomeThePortIs8101AndCredentialsComeFromTheEnvironment() throws Exception {
        Map<String, String> e = Map.of(ConsoleTarget.ENV_USER, "u", ConsoleTarget.ENV_PASSWORD, "p");
        assertEquals(new ConsoleTarget("127.0.0.1", 8101, "u", "p"), ConsoleTarget.resolve(null, null, null, null, e));
    }

    @Test
    void optionsWinOverEnvironmentWhichWinsOverTheNode() throws Exception {
        Path pw = home.resolve("pw");
        Files.writeString(pw, "from-file\nsecond line ignored\n");
        env.put(ConsoleTarget.ENV_USER, "envuser");
        env.put(ConsoleTarget.ENV_PASSWORD, "envpass");
        assertEquals(new ConsoleTarget("127.0.0.1", 8123, "envuser", "envpass"),
            ConsoleTarget.resolve(null, null, null, null, env));
        assertEquals(new ConsoleTarget("node1", 9000, "admin", "from-file"),
            ConsoleTarget.resolve("node1", 9000, "admin", pw, env));
    }

    @Test
    void aUserWithoutPasswordTakesItsEntryFromUsersProperties() throws Exception {
        assertEquals(new ConsoleTarget("127.0.0.1", 8123, "karaf", "karaf"),
            ConsoleTarget.resolve(null, null, "karaf", null, env));
        env.put(ConsoleTarget.ENV_PASSWORD, "given");
        assertEquals("given", ConsoleTarget.resolve(null, null, "karaf", null, env).password());
    }

    @Test
    void passwordFileKeepsSpacesAndAcceptsNoLineEnd() throws Exception {
        Path pw = home.resolve("pw");
        Files.writeString(pw, " a b ");
        assertEquals(" a b ", ConsoleTarget.readPassword(pw));
        Files.writeString(pw, "x\r\n");
        assertEquals("x", ConsoleTarget.readPassword(pw));
        Files.writeString(pw, "");
        assertEquals("", ConsoleTarget.readPassword(pw));
    }

    @Test
    void missingShellConfigOrKeyMeans8101() throws Exception {
        Files.delete(home.resolve(ConsoleTarget.SHELL_CFG));
        assertEquals(8101, ConsoleTarget.resolve(null, null, null, null, env).port());
        Files.writeString(home.resolve(ConsoleTarget.SHELL_CFG), "sshHost = 0.0.0.0\n");
        assertEquals(8101, ConsoleTarget.sshPort(home.resolve(ConsoleTarget.SHELL_CFG)));
    }

    @Test
    void badSettingsSayWhatIsWrong() throws Exception {
        Files.writeString(home.resolve(ConsoleTarget.SHELL_CFG), "sshPort = ${env:PORT}\n");
        assertMessage("is not a port number", () -> ConsoleTarget.resolve(null, null, null, null, env));
        assertMessage("invalid SSH port 70000", () -> ConsoleTarget.resolve(null, 70000, null, null, env));
        assertMessage("no password for user 'bob'", () -> ConsoleTarget.resolve(null, 1, "bob", null, env));
        assertMessage("no such file", () -> ConsoleTarget.resolve(null, 1, "u", home.resolve("none"), env));
        assertMessage("no console user", () -> ConsoleTarget.resolve(null, null, null, null, Map.of()));
        assertMessage("no console user", () -> ConsoleTarget.resolve(null, null, "u", null, Map.of()));

        Files.writeString(home.resolve(ConsoleTarget.USERS), "# nobody\n_g_\\:admingroup = group,admin\n");
        assertMessage("no user in", () -> ConsoleTarget.resolve(null, 1, null, null, env));
        Files.writeString(home.resolve(ConsoleTarget.USERS), "admin = {CRYPT}abc{CRYPT},admin\n");
        assertMessage("is encrypted", () -> ConsoleTarget.resolve(null, 1, null, null, env));
        Files.delete(home.resolve(ConsoleTarget.USERS));
        assertMessage("does not exist", () -> ConsoleTarget.resolve(null, 1, null, null, env));
    }

    @Test
    void usersFileIsReadInOrderWithEscapesAndContinuations() throws Exception {
        Files.writeString(home.resolve(ConsoleTarget.USERS), """
            ! comment
               first\\ user = pass\\
                word ,admin
            second = other
            """);
        assertEquals("first user", ConsoleTarget.userEntry(home.resolve(ConsoleTarget.USERS), null)[0]);
        assertEquals("password", ConsoleTarget.userEntry(home.resolve(ConsoleTarget.USERS), null)[1]);
        assertEquals("other", ConsoleTarget.userEntry(home.resolve(ConsoleTarget.USERS), "second")[1]);
    }

    @Test
    void ansiEscapesAreRemovedFromOutput() {
        String red = "\u001B[31mError executing command: \u001B[0m\u001B[31;1mNo matching bundles\u001B[0m\n";
        assertEquals("Error executing command: No matching bundles\n",
            ConsoleClient.plain(red.getBytes(java.nio.charset.StandardCharsets.UTF_8)));
    }

    private interface Resolve {
        Object run() throws Exception;
    }

    private static void assertMessage(String expected, Resolve r) {
        ConsoleTarget.ConfigException e = assertThrows(ConsoleTarget.ConfigException.class, r::run);
        assertTrue(e.getMessage().contains(expected), "'" + expected + "' in: " + e.getMessage());
        assertTrue(!e.getMessage().contains("\n"), "one line: " + e.getMessage());
    }
}
