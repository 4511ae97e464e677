package io.pando.shell.cli;

import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.util.regex.Pattern;

/**
 * Parses the {@code HOST:PORT} the console takes for an address: a host name, an IPv4 address, or an IPv6 address
 * in brackets, then a port in [1, 65535]. Strict: whatever is not exactly that is refused with a message that says
 * what is wrong, and a host name must resolve.
 */
final class HostPort {

    /** Resolves a host name; the commands use {@link InetAddress#getByName(String)}, tests a table. */
    @FunctionalInterface
    interface Resolver {
        /**
         * @param host a syntactically valid host name (never an address literal)
         * @return its address
         * @throws UnknownHostException if it does not resolve
         */
        InetAddress resolve(String host) throws UnknownHostException;
    }

    /** Letters, digits, '-' and '_' in dot-separated labels of at most 63, optionally ending in a dot. */
    private static final Pattern HOST_NAME =
        Pattern.compile("(?=.{1,253}$)[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,62})(?:\\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,62}))*\\.?");
    private static final Pattern DIGITS_AND_DOTS = Pattern.compile("[0-9.]+");
    private static final Pattern IPV4 =
        Pattern.compile("(?:(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\\.){3}"
            + "(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])");
    /** Hex digits, ':' and '.' (an embedded IPv4 address), optionally a '%' zone. */
    private static final Pattern IPV6_CHARS = Pattern.compile("[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*(?:%[A-Za-z0-9_.-]+)?");
    private static final Pattern PORT = Pattern.compile("[0-9]{1,5}");

    private HostPort() {
    }

    /**
     * @param option the option the text came with, for messages (e.g. {@code --to})
     * @param text the text, e.g. {@code sink.example:9000}, {@code 10.0.0.9:9000} or {@code [2001:db8::9]:9000}
     * @param resolver resolves a host name
     * @return the resolved address
     * @throws IllegalArgumentException naming the option and the text, and saying what is wrong
     */
    static InetSocketAddress parse(String option, String text, Resolver resolver) {
        if (text == null || text.isEmpty()) {
            throw new IllegalArgumentException(option + " takes HOST:PORT, got nothing");
        }
        return parseQuoted(option + " '" + text + "'", text, resolver);
    }

    /**
     * Parses the {@code HOST:PORT} part of a longer option value (e.g. the destination in {@code --flow
     * 1:video=sink:9001}); messages quote the whole value.
     *
     * @param option the option, for messages (e.g. {@code --flow})
     * @param whole the option's whole value, quoted in messages
     * @param text the {@code HOST:PORT} part, not empty
     * @param resolver resolves a host name
     * @return the resolved address
     * @throws IllegalArgumentException naming the option and its value, and saying what is wrong
     */
    static InetSocketAddress parse(String option, String whole, String text, Resolver resolver) {
        return parseQuoted(option + " '" + whole + "'", text, resolver);
    }

    /** @param what the option and its quoted value, what every message starts with */
    private static InetSocketAddress parseQuoted(String what, String text, Resolver resolver) {
        String host;
        String port;
        if (text.startsWith("[")) {
            int close = text.indexOf(']');
            if (close < 0) {
                throw bad(what, "no ']' closes the IPv6 address: write [ADDRESS]:PORT");
            }
            if (close + 1 >= text.length() || text.charAt(close + 1) != ':') {
                throw bad(what, "expected ':PORT' after ']'");
            }
            host = text.substring(1, close);
            port = text.substring(close + 2);
            if (!IPV6_CHARS.matcher(host).matches()) {
                throw bad(what, "'" + host + "' in brackets is not an IPv6 address");
            }
        } else {
            int colon = text.indexOf(':');
            if (colon < 0) {
                throw bad(what, "no port: write HOST:PORT");
            }
            if (text.indexOf(':', colon + 1) >= 0) {
                throw bad(what, "an IPv6 address goes in brackets: write [ADDRESS]:PORT");
            }
            host = text.substring(0, colon);
            port = text.substring(colon + 1);
            if (host.isEmpty()) {
                throw bad(what, "no host before ':'");
            }
        }
        int p = port(what, port);
        return new InetSocketAddress(address(what, host, resolver), p);
    }

    private static int port(String what, String port) {
        int p = PORT.matcher(port).matches() ? Integer.parseInt(port) : -1;
        if (p < 1 || p > 65535) {
            throw bad(what, "the port is a number in [1, 65535], got '" + port + "'");
        }
        return p;
    }

    private static InetAddress address(String what, String host, Resolver resolver) {
        if (host.indexOf(':') >= 0) {
            try {
                // in brackets, InetAddress only parses the literal and never asks a name service
                return InetAddress.getByName("[" + host + "]");
            } catch (UnknownHostException e) {
                throw bad(what, "'" + host + "' in brackets is not an IPv6 address");
            }
        }
        if (DIGITS_AND_DOTS.matcher(host).matches()) {
            if (!IPV4.matcher(host).matches()) {
                throw bad(what, "'" + host + "' is not an IPv4 address (four numbers in [0, 255])");
            }
            try {
                return InetAddress.getByName(host); // a valid literal: parsed, not looked up
            } catch (UnknownHostException e) {
                throw new IllegalStateException("a checked IPv4 literal did not parse: " + host, e);
            }
        }
        if (!HOST_NAME.matcher(host).matches()) {
            throw bad(what, "'" + host + "' is not a host name or address");
        }
        try {
            return resolver.resolve(host);
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException(what + ": cannot resolve host '" + host + "'", e);
        }
    }

    private static IllegalArgumentException bad(String what, String problem) {
        return new IllegalArgumentException(what + ": " + problem);
    }

    /**
     * @return the address as the console prints it: {@code host:port}, {@code [ipv6]:port} with the IPv6 address in
     *     its short form ({@code [2001:db8::9]:9000}); the numeric address when there is one, else the unresolved
     *     host name
     */
    static String format(InetSocketAddress a) {
        InetAddress address = a.getAddress();
        if (address instanceof Inet6Address v6) {
            return "[" + shortForm(v6) + "]:" + a.getPort();
        }
        String host = address != null ? address.getHostAddress() : a.getHostString();
        return (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + a.getPort();
    }

    /** @return the address in the short text form of RFC 5952: lower case, the longest run of zero groups as ::. */
    static String shortForm(Inet6Address a) {
        byte[] b = a.getAddress();
        int[] groups = new int[8];
        for (int i = 0; i < 8; i++) {
            groups[i] = ((b[2 * i] & 0xff) << 8) | (b[2 * i + 1] & 0xff);
        }
        int bestStart = -1;
        int bestLength = 1; // a single zero group is not shortened
        for (int i = 0; i < 8; i++) {
            int j = i;
            while (j < 8 && groups[j] == 0) {
                j++;
            }
            if (j - i > bestLength) {
                bestStart = i;
                bestLength = j - i;
            }
            i = Math.max(i, j);
        }
        StringBuilder text = new StringBuilder();
        for (int i = 0; i < 8; i++) {
            if (i == bestStart) {
                text.append("::");
                i += bestLength - 1;
                continue;
            }
            if (text.length() > 0 && text.charAt(text.length() - 1) != ':') {
                text.append(':');
            }
            text.append(Integer.toHexString(groups[i]));
        }
        String full = a.getHostAddress();
        int zone = full.indexOf('%');
        return zone < 0 ? text.toString() : text + full.substring(zone);
    }
}
