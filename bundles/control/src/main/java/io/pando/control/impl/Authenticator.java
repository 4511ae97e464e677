package io.pando.control.impl;

/** Checks a user's password. May block (a directory lookup); never called on an event loop. */
interface Authenticator {

    /**
     * @param user the user
     * @param password the password
     * @return whether the password is the user's
     */
    boolean check(String user, char[] password);
}
