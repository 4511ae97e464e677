package io.pando.control.impl;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.Properties;
import javax.security.auth.Subject;
import javax.security.auth.callback.Callback;
import javax.security.auth.callback.CallbackHandler;
import javax.security.auth.callback.NameCallback;
import javax.security.auth.callback.PasswordCallback;
import javax.security.auth.login.AppConfigurationEntry;
import javax.security.auth.login.Configuration;
import javax.security.auth.login.FailedLoginException;
import javax.security.auth.login.LoginException;
import javax.security.auth.spi.LoginModule;

/**
 * A real JAAS login module for tests outside Karaf: users and passwords from a properties file (option {@code file},
 * {@code user = password}), the way Karaf's realm reads etc/users.properties.
 */
public final class PropertiesLoginModule implements LoginModule {

    /**
     * @param users the properties file of users
     * @return a JAAS configuration in which every realm logs in through this module reading {@code users}
     */
    static Configuration everyRealm(Path users) {
        return new Configuration() {
            @Override
            public AppConfigurationEntry[] getAppConfigurationEntry(String name) {
                return new AppConfigurationEntry[] {new AppConfigurationEntry(PropertiesLoginModule.class.getName(),
                    AppConfigurationEntry.LoginModuleControlFlag.REQUIRED, Map.of("file", users.toString()))};
            }
        };
    }

    private CallbackHandler handler;
    private Path file;
    private boolean ok;

    @Override
    public void initialize(Subject subject, CallbackHandler callbackHandler, Map<String, ?> sharedState,
        Map<String, ?> options) {
        this.handler = callbackHandler;
        this.file = Path.of((String) options.get("file"));
    }

    @Override
    public boolean login() throws LoginException {
        NameCallback name = new NameCallback("user: ");
        PasswordCallback password = new PasswordCallback("password: ", false);
        try {
            handler.handle(new Callback[] {name, password});
        } catch (Exception e) {
            throw new LoginException("callbacks failed: " + e);
        }
        Properties users = new Properties();
        try (InputStream in = Files.newInputStream(file)) {
            users.load(in);
        } catch (IOException e) {
            throw new LoginException("cannot read " + file + ": " + e);
        }
        String expected = users.getProperty(name.getName());
        char[] given = password.getPassword();
        if (expected == null || given == null || !MessageDigest.isEqual(expected.getBytes(StandardCharsets.UTF_8),
            new String(given).getBytes(StandardCharsets.UTF_8))) {
            throw new FailedLoginException("wrong user or password");
        }
        ok = true;
        return true;
    }

    @Override
    public boolean commit() {
        return ok;
    }

    @Override
    public boolean abort() {
        ok = false;
        return true;
    }

    @Override
    public boolean logout() {
        ok = false;
        return true;
    }
}
