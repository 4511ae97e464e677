package io.pando.control.impl;

import java.util.Arrays;
import javax.security.auth.callback.Callback;
import javax.security.auth.callback.NameCallback;
import javax.security.auth.callback.PasswordCallback;
import javax.security.auth.callback.UnsupportedCallbackException;
import javax.security.auth.login.Configuration;
import javax.security.auth.login.LoginContext;
import javax.security.auth.login.LoginException;

/**
 * Checks passwords against a JAAS realm: in Karaf, a realm of its JAAS configuration ({@code karaf} reads
 * {@code etc/users.properties}); elsewhere the given {@link Configuration}. Logs the subject out at once: the control
 * unit keeps its own tokens.
 */
final class JaasAuthenticator implements Authenticator {

    private final String realm;
    private final Configuration configuration;

    /**
     * @param realm the realm (JAAS application name)
     * @param configuration the JAAS configuration, or null for the JVM's (Karaf installs its own)
     */
    JaasAuthenticator(String realm, Configuration configuration) {
        this.realm = realm;
        this.configuration = configuration;
    }

    @Override
    public boolean check(String user, char[] password) {
        Thread t = Thread.currentThread();
        ClassLoader previous = t.getContextClassLoader();
        // Karaf's realm proxies are found through boot delegation from any bundle's class loader
        t.setContextClassLoader(JaasAuthenticator.class.getClassLoader());
        try {
            LoginContext login = new LoginContext(realm, null, callbacks -> {
                for (Callback c : callbacks) {
                    if (c instanceof NameCallback n) {
                        n.setName(user);
                    } else if (c instanceof PasswordCallback p) {
                        p.setPassword(password);
                    } else {
                        throw new UnsupportedCallbackException(c);
                    }
                }
            }, configuration);
            login.login();
            try {
                login.logout();
            } catch (LoginException e) {
                // logged in: the check succeeded, the logout does not matter
            }
            return true;
        } catch (LoginException e) {
            return false;
        } finally {
            t.setContextClassLoader(previous);
            Arrays.fill(password, '\0');
        }
    }
}
