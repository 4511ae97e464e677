package io.pando.client.cli;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.StringReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Map;
import java.util.Properties;

/**
 * Where and as whom {@code pando console} logs in: options first, then the environment, then the node's own
 * configuration in {@code $KARAF_HOME/etc} (the way Karaf's {@code bin/client} finds a local node). Pure: reads only
 * the files it is pointed at, so it is tested without a server.
 *
 * @param host SSH host
 * @param port SSH port
 * @param user console user
 * @param password that user's password
 */
record ConsoleTarget(String host, int port, String user, String password) {

    static final String DEFAULT_HOST = "127.0.0.1";
    static final int DEFAULT_PORT = 8101;
    static final String ENV_HOME = "KARAF_HOME";
    static final String ENV_USER = "PANDO_CONSOLE_USER";
    static final String ENV_PASSWORD = "PANDO_CONSOLE_PASSWORD";
    static final String SHELL_CFG = "etc/org.apache.karaf.shell.cfg";
    static final String USERS = "etc/users.properties";
    private static final String GROUP_PREFIX = "_g_:";

    /** A setting that cannot be resolved; the message is one line for the user. */
    static final class ConfigException extends Exception {
        private static final long serialVersionUID = 1L;

        ConfigException(String message) {
            super(message);
        }
    }

    /**
     * @param host {@code --host}, or null
     * @param port {@code --port}, or null
     * @param user {@code --user}, or null
     * @param passwordFile {@code --password-file}, or null
     * @param env the process environment ({@code KARAF_HOME}, {@code PANDO_CONSOLE_USER}, {@code PANDO_CONSOLE_PASSWORD})
     */
    static ConsoleTarget resolve(String host, Integer port, String user, Path passwordFile, Map<String, String> env)
        throws ConfigException {
        Path home = nonEmpty(env.get(ENV_HOME)) ? Path.of(env.get(ENV_HOME)) : null;
        String h = nonEmpty(host) ? host : DEFAULT_HOST;
        int p = port != null ? port : home != null ? sshPort(home.resolve(SHELL_CFG)) : DEFAULT_PORT;
        if (p < 1 || p > 65535) {
            throw new ConfigException("invalid SSH port " + p + " (1 .. 65535)");
        }

        String u = nonEmpty(user) ? user : env.get(ENV_USER);
        String pw = passwordFile != null ? readPassword(passwordFile) : env.get(ENV_PASSWORD);
        if (!nonEmpty(u) || pw == null) {
            if (home == null) {
                throw new ConfigException("no console user: pass --user and --password-file, set " + ENV_USER
                    + " and " + ENV_PASSWORD + ", or run from a node (KARAF_HOME) with a user in " + USERS);
            }
            String[] entry = userEntry(home.resolve(USERS), nonEmpty(u) ? u : null);
            u = entry[0];
            if (pw == null) {
                pw = entry[1];
            }
        }
        return new ConsoleTarget(h, p, u, pw);
    }

    /** @return {@code sshPort} of the node's shell configuration, or 8101 when the file or the key is absent */
    static int sshPort(Path shellCfg) throws ConfigException {
        Properties props = new Properties();
        try (BufferedReader in = Files.newBufferedReader(shellCfg, StandardCharsets.ISO_8859_1)) {
            props.load(in);
        } catch (NoSuchFileException e) {
            return DEFAULT_PORT;
        } catch (IOException e) {
            throw new ConfigException("cannot read " + shellCfg + ": " + e.getMessage());
        }
        String v = props.getProperty("sshPort");
        if (v == null || v.isBlank()) {
            return DEFAULT_PORT;
        }
        try {
            return Integer.parseInt(v.strip());
        } catch (NumberFormatException e) {
            throw new ConfigException("sshPort in " + shellCfg + " is not a port number: '" + v.strip()
                + "' (pass --port)");
        }
    }

    /**
     * Reads Karaf's {@code users.properties} in file order ({@code user = password[,role|_g_:group]...}; keys
     * starting with {@code _g_:} are groups).
     *
     * @param user the user to look up, or null for the first user in the file
     * @return {user, password}
     */
    static String[] userEntry(Path usersFile, String user) throws ConfigException {
        String text;
        try {
            text = Files.readString(usersFile, StandardCharsets.ISO_8859_1);
        } catch (NoSuchFileException e) {
            throw new ConfigException("no console user: " + usersFile + " does not exist (pass --user and "
                + "--password-file)");
        } catch (IOException e) {
            throw new ConfigException("cannot read " + usersFile + ": " + e.getMessage());
        }
        try (BufferedReader lines = new BufferedReader(new StringReader(text))) {
            String line;
            while ((line = lines.readLine()) != null) {
                StringBuilder logical = new StringBuilder(line);
                while (endsWithContinuation(logical) && (line = lines.readLine()) != null) {
                    logical.append('\n').append(line);
                }
                Properties one = new Properties();
                one.load(new StringReader(logical.toString()));
                for (String key : one.stringPropertyNames()) {
                    if (key.startsWith(GROUP_PREFIX) || (user != null && !user.equals(key))) {
                        continue;
                    }
                    String password = one.getProperty(key).split(",", 2)[0].strip();
                    if (password.startsWith("{CRYPT}")) {
                        throw new ConfigException("the password of user '" + key + "' in " + usersFile
                            + " is encrypted: pass --password-file or set " + ENV_PASSWORD);
                    }
                    return new String[] {key, password};
                }
            }
        } catch (IOException e) {
            throw new ConfigException("cannot read " + usersFile + ": " + e.getMessage());
        }
        throw new ConfigException(user == null ? "no user in " + usersFile + " (pass --user and --password-file)"
            : "no password for user '" + user + "': not in " + usersFile + " (pass --password-file or set "
                + ENV_PASSWORD + ")");
    }

    /** @return the first line of the file, without its line end */
    static String readPassword(Path file) throws ConfigException {
        try (BufferedReader in = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            String line = in.readLine();
            return line == null ? "" : line;
        } catch (IOException e) {
            throw new ConfigException("cannot read the password file " + file + ": "
                + (e instanceof NoSuchFileException ? "no such file" : e.getMessage()));
        }
    }

    private static boolean endsWithContinuation(CharSequence line) {
        int backslashes = 0;
        for (int i = line.length() - 1; i >= 0 && line.charAt(i) == '\\'; i--) {
            backslashes++;
        }
        return backslashes % 2 == 1;
    }

    private static boolean nonEmpty(String s) {
        return s != null && !s.isEmpty();
    }

    @Override
    public String toString() {
        return user + "@" + host + ":" + port; // never the password
    }
}
