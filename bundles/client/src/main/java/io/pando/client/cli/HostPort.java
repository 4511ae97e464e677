package io.pando.client.cli;

import java.net.InetSocketAddress;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/**
 * Parses {@code HOST:PORT} ({@code [v6]:PORT} for IPv6 literals) into a resolved socket address. Port 0 is
 * accepted here (an ephemeral port for a listener); commands that connect reject it themselves.
 */
public final class HostPort implements ITypeConverter<InetSocketAddress> {

    @Override
    public InetSocketAddress convert(String value) {
        return parse(value);
    }

    /**
     * @throws TypeConversionException with the rule that was broken
     */
    public static InetSocketAddress parse(String value) {
        if (value == null || value.isBlank()) {
            throw new TypeConversionException("expected HOST:PORT, got an empty value");
        }
        String host;
        String port;
        if (value.startsWith("[")) {
            int close = value.indexOf(']');
            if (close < 0 || close + 1 >= value.length() || value.charAt(close + 1) != ':') {
                throw new TypeConversionException("expected [IPv6]:PORT, got '" + value + "'");
            }
            host = value.substring(1, close);
            port = value.substring(close + 2);
        } else {
            int colon = value.lastIndexOf(':');
            if (colon <= 0 || colon == value.length() - 1) {
                throw new TypeConversionException("expected HOST:PORT, got '" + value + "'");
            }
            host = value.substring(0, colon);
            port = value.substring(colon + 1);
            if (host.indexOf(':') >= 0) {
                throw new TypeConversionException("IPv6 literals need brackets: [HOST]:PORT, got '" + value + "'");
            }
        }
        if (host.isEmpty()) {
            throw new TypeConversionException("empty host in '" + value + "'");
        }
        int p;
        try {
            p = Integer.parseInt(port);
        } catch (NumberFormatException e) {
            throw new TypeConversionException("port is not a number in '" + value + "'");
        }
        if (p < 0 || p > 65535) {
            throw new TypeConversionException("port must be in [0, 65535], got " + p);
        }
        InetSocketAddress address = new InetSocketAddress(host, p);
        if (address.isUnresolved()) {
            throw new TypeConversionException("cannot resolve host '" + host + "'");
        }
        return address;
    }
}
