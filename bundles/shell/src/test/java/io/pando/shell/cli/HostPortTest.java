package io.pando.shell.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** HOST:PORT as the console reads and prints it (the refusals are in {@link SessionCreateCommandTest}). */
class HostPortTest {

    private static final HostPort.Resolver TABLE = host -> switch (host) {
        case "sink.example", "sink.example.", "edge_1.lab" -> InetAddress.getByAddress(host, new byte[] {10, 0, 0, 9});
        default -> throw new UnknownHostException(host);
    };

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "10.0.0.1:80               | 10.0.0.1:80",
        "0.0.0.0:1                 | 0.0.0.0:1",
        "255.255.255.255:65535     | 255.255.255.255:65535",
        "sink.example:9000         | 10.0.0.9:9000",
        "sink.example.:9000        | 10.0.0.9:9000",
        "edge_1.lab:09000          | 10.0.0.9:9000",
        "[::1]:9000                | [::1]:9000",
        "[::]:9000                 | [::]:9000",
        "[2001:DB8:0:0:1:0:0:1]:443 | [2001:db8::1:0:0:1]:443",
        "[2001:db8:0:1:1:1:1:1]:443 | [2001:db8:0:1:1:1:1:1]:443",
        "[1:0:0:0:0:0:0:0]:7       | [1::]:7",
        "[::ffff:10.0.0.1]:7       | 10.0.0.1:7",
    })
    void parsesAndPrints(String text, String printed) {
        assertEquals(printed, HostPort.format(HostPort.parse("--to", text, TABLE)));
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "0:0:0:0:0:0:0:0 | ::",
        "0:0:0:0:0:0:0:1 | ::1",
        "1:0:0:2:0:0:0:3 | 1:0:0:2::3",
        "1:0:1:1:1:1:1:1 | 1:0:1:1:1:1:1:1",
        "fe80:0:0:0:abcd:0:0:1 | fe80::abcd:0:0:1",
    })
    void shortFormOfIpv6(String full, String expected) throws Exception {
        assertEquals(expected, HostPort.shortForm((Inet6Address) InetAddress.getByName("[" + full + "]")));
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "sink.example | 9000 | sink.example:9000",
    })
    void anUnresolvedAddressPrintsItsName(String host, int port, String printed) {
        assertEquals(printed, HostPort.format(InetSocketAddress.createUnresolved(host, port)));
    }
}
