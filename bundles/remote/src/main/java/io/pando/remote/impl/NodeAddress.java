package io.pando.remote.impl;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.List;

/**
 * Where a unit node's {@code UnitServer} listens: {@code HOST:CONTROL_PORT/DATA_PORT} (TCP control, UDP data), an
 * IPv6 host in brackets ({@code [2001:db8::7]:7410/7411}).
 *
 * @param host the host as configured
 * @param control the control address (resolved)
 * @param data the data address (resolved)
 */
record NodeAddress(String host, InetSocketAddress control, InetSocketAddress data) {

    /**
     * @throws IllegalArgumentException naming what is wrong, or the host that does not resolve
     */
    static NodeAddress parse(String text) {
        String t = text == null ? "" : text.strip();
        int slash = t.lastIndexOf('/');
        if (slash < 0) {
            throw new IllegalArgumentException("a unit node is HOST:CONTROL_PORT/DATA_PORT, got '" + t + "' (no '/')");
        }
        InetSocketAddress control = hostPort("unit node", t.substring(0, slash));
        int dataPort = port("unit node " + t, t.substring(slash + 1));
        return new NodeAddress(hostOf(t.substring(0, slash)), control,
            new InetSocketAddress(control.getAddress(), dataPort));
    }

    /**
     * Parses a list: each value may itself hold several entries separated by commas or white space (a
     * configuration file gives one string).
     */
    static List<NodeAddress> parseAll(String[] values) {
        List<NodeAddress> nodes = new ArrayList<>();
        for (String v : values == null ? new String[0] : values) {
            for (String one : v.split("[,\\s]+")) {
                if (!one.isEmpty()) {
                    nodes.add(parse(one));
                }
            }
        }
        return nodes;
    }

    /** @return {@code host:controlPort}, what a remote unit reports as its location */
    String location() {
        return (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + control.getPort();
    }

    @Override
    public String toString() {
        return location() + "/" + data.getPort();
    }

    /**
     * Parses {@code HOST:PORT} (IPv6 in brackets) and resolves the host.
     *
     * @param what what the address is, for the message
     * @throws IllegalArgumentException naming what is wrong
     */
    static InetSocketAddress hostPort(String what, String text) {
        String t = text == null ? "" : text.strip();
        int colon = t.lastIndexOf(':');
        if (colon <= 0) {
            throw new IllegalArgumentException(what + " is HOST:PORT, got '" + t + "'");
        }
        String host = hostOf(t);
        int port = port(what + " " + t, t.substring(colon + 1));
        try {
            return new InetSocketAddress(InetAddress.getByName(host), port);
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException(what + ": unknown host '" + host + "'", e);
        }
    }

    private static String hostOf(String hostPort) {
        String host = hostPort.substring(0, hostPort.lastIndexOf(':'));
        if (host.startsWith("[") && host.endsWith("]")) {
            return host.substring(1, host.length() - 1);
        }
        if (host.indexOf(':') >= 0) {
            throw new IllegalArgumentException("an IPv6 host goes in brackets: [" + host + "]:PORT");
        }
        if (host.isEmpty()) {
            throw new IllegalArgumentException("no host in '" + hostPort + "'");
        }
        return host;
    }

    private static int port(String what, String text) {
        int p;
        try {
            p = Integer.parseInt(text);
        } catch (NumberFormatException e) {
            p = -1;
        }
        if (p < 1 || p > 65535) {
            throw new IllegalArgumentException(what + ": a port is 1 to 65535, got '" + text + "'");
        }
        return p;
    }
}
