package io.pando.client.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetSocketAddress;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import picocli.CommandLine.TypeConversionException;

/** Every invalid option ends with exit status 2 and a message that names the rule; nothing is started. */
class OptionValidationTest {

    @ParameterizedTest(name = "send {0}")
    @CsvSource(delimiter = '|', value = {
        "--to localhost --count 1 --size 24                 | expected HOST:PORT",
        "--to 127.0.0.1: --count 1 --size 24                | expected HOST:PORT",
        "--to :9000 --count 1 --size 24                     | expected HOST:PORT",
        "--to 127.0.0.1:x --count 1 --size 24               | port is not a number",
        "--to 127.0.0.1:70000 --count 1 --size 24           | port must be in [0, 65535]",
        "--to 127.0.0.1:0 --count 1 --size 24               | --to needs a port",
        "--to ::1:9000 --count 1 --size 24                  | IPv6 literals need brackets",
        "--to [::1 --count 1 --size 24                      | expected [IPv6]:PORT",
        "--to 127.0.0.1:9000 --count 0 --size 24            | --count must be >= 1",
        "--to 127.0.0.1:9000 --count -5 --size 24           | --count must be >= 1",
        "--to 127.0.0.1:9000 --count 1 --size 23            | --size must be in [24, 1048576]",
        "--to 127.0.0.1:9000 --count 1 --size 1048577       | --size must be in [24, 1048576]",
        "--to 127.0.0.1:9000 --count 1 --size 24 --rate 0   | --rate must be > 0",
        "--to 127.0.0.1:9000 --count 1 --size 24 --rate -1  | --rate must be > 0",
        "--to 127.0.0.1:9000 --count 1 --size 24 --rate NaN | --rate must be > 0",
        "--to 127.0.0.1:9000 --count 1 --size 24 --mtu 255  | --mtu must be in [256, 65507]",
        "--to 127.0.0.1:9000 --count 1 --size 24 --timeout 0 | --timeout must be > 0",
        "--to 127.0.0.1:9000 --count x --size 24            | --count",
        "--count 1 --size 24                                | Missing required option: '--to=HOST:PORT'",
        "--to 127.0.0.1:9000 --size 24                      | Missing required option: '--count=N'",
        "--to 127.0.0.1:9000 --count 1 --size 24 --flows x  | --flows: a flow id is a whole number in [0, 4294967295], got 'x'",
        "--to 127.0.0.1:9000 --count 1 --size 24 --flows -1 | --flows: a flow id is a whole number in [0, 4294967295], got '-1'",
        "--to 127.0.0.1:9000 --count 1 --size 24 --flows 4294967296 | --flows: a flow id is a whole number in [0, 4294967295], got '4294967296'",
        "--to 127.0.0.1:9000 --count 1 --size 24 --flows 1,,2 | --flows takes flow ids separated by commas, got '1,,2' (an empty id)",
        "--to 127.0.0.1:9000 --count 1 --size 24 --flows 1, | --flows takes flow ids separated by commas, got '1,' (an empty id)",
        "--to 127.0.0.1:9000 --count 1 --size 24 --flows 1,2 --flow 1 | --flows: flow 1 is given twice",
        "--to 127.0.0.1:9000 --count 1 --size 1048576 --flows 0,1 | --size must be in [24, 1048564] with a flow other than 0 (a flow datagram carries 12 bytes more), got 1048576",
    })
    void sendRejects(String args, String message) {
        Cli cli = Cli.run(("artp send " + args).trim().split("\\s+"));
        assertEquals(2, cli.exitCode(5), cli.err.toString());
        assertTrue(cli.err.toString().contains(message), () -> "stderr lacks '" + message + "': " + cli.err);
    }

    @ParameterizedTest(name = "recv {0}")
    @CsvSource(delimiter = '|', value = {
        "--listen 127.0.0.1                   | expected HOST:PORT",
        "--listen 127.0.0.1:0 --count 0       | --count must be in [1, 2147483647]",
        "--listen 127.0.0.1:0 --timeout -1    | --timeout must be > 0",
        "--listen 127.0.0.1:0 --idle 0        | --idle must be > 0",
        "--listen 127.0.0.1:0 --linger -1     | --linger must be >= 0",
        "--listen 127.0.0.1:0 --interval-ms 0 | --interval-ms must be in [1, 60000], got 0",
        "--listen 127.0.0.1:0 --aes-gcm-key 00112233 | --aes-gcm-key: an AES-GCM key is 32, 48 or 64 hex digits (a 128-, 192- or 256-bit AES key), got 8 characters",
        "--listen 127.0.0.1:0 --aes-gcm-key 000102030405060708090a0b0c0d0e0g | --aes-gcm-key: an AES-GCM key is hex digits [0-9a-fA-F] only, found another character at position 32 of 32",
        "--listen 127.0.0.1:0 --rsa-public-key bm90IGEga2V5 | --rsa-public-key: not an RSA public key in X.509 DER (InvalidKeySpecException)",
        "--listen 127.0.0.1:0 --rsa-public-key !! | --rsa-public-key: an RSA public key is base64 of its X.509 SubjectPublicKeyInfo DER encoding; the text is not base64",
        "--listen 127.0.0.1:0 --rsa-public-key AAAA --aes-gcm-key 000102030405060708090a0b0c0d0e0f | --aes-gcm-key and --rsa-public-key: give one of them (the datagrams went through one program)",
        "--count 5                            | Missing required option: '--listen=HOST:PORT'",
        "--listen 127.0.0.1:0 --flows 1.5     | --flows: a flow id is a whole number in [0, 4294967295], got '1.5'",
        "--listen 127.0.0.1:0 --flow 3 --flow 3 | --flows: flow 3 is given twice",
    })
    void recvRejects(String args, String message) {
        Cli cli = Cli.run(("artp recv " + args).trim().split("\\s+"));
        assertEquals(2, cli.exitCode(5), cli.err.toString());
        assertTrue(cli.err.toString().contains(message), () -> "stderr lacks '" + message + "': " + cli.err);
    }

    @Test
    void atMost64Flows() {
        StringBuilder flows = new StringBuilder("0");
        for (int i = 1; i < 64; i++) {
            flows.append(',').append(i);
        }
        Cli ok = Cli.run("artp", "send", "--to", "127.0.0.1:9", "--count", "1", "--size", "24", "--flows",
            flows.toString(), "--timeout", "0.2");
        assertEquals(1, ok.exitCode(10), () -> "64 flows are fine, then nobody answers: " + ok.err);
        Cli cli = Cli.run("artp", "send", "--to", "127.0.0.1:9", "--count", "1", "--size", "24", "--flows",
            flows + ",64");
        assertEquals(2, cli.exitCode(5), cli.err.toString());
        assertTrue(cli.err.toString().contains("--flows: at most 64 flows, got 65"), cli.err::toString);
    }

    @Test
    void missingCommandIsAUsageError() {
        assertEquals(2, Cli.run().exitCode(5));
        assertEquals(2, Cli.run("artp").exitCode(5));
        assertEquals(2, Cli.run("artp", "fly").exitCode(5));
    }

    @Test
    void helpExitsZero() {
        Cli cli = Cli.run("artp", "send", "--help");
        assertEquals(0, cli.exitCode(5));
        assertTrue(cli.out.toString().contains("--rate"));
    }

    @Test
    void parsesAddresses() {
        assertEquals(new InetSocketAddress("127.0.0.1", 9000), HostPort.parse("127.0.0.1:9000"));
        assertEquals(new InetSocketAddress("::1", 80), HostPort.parse("[::1]:80"));
        assertEquals(0, HostPort.parse("localhost:0").getPort());
        assertThrows(TypeConversionException.class, () -> HostPort.parse(""));
        assertThrows(TypeConversionException.class, () -> HostPort.parse("[]:80"));
        assertThrows(TypeConversionException.class, () -> HostPort.parse("no-such-host.invalid:80"));
    }
}
