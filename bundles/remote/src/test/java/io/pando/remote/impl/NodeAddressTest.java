package io.pando.remote.impl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

/** Parsing the addresses of the configuration. */
class NodeAddressTest {

    @Test
    void parsesNodes() {
        NodeAddress n = NodeAddress.parse("127.0.0.1:17510/17511");
        assertEquals(17510, n.control().getPort());
        assertEquals(17511, n.data().getPort());
        assertEquals("127.0.0.1:17510", n.location());
        NodeAddress v6 = NodeAddress.parse(" [::1]:7410/7411 ");
        assertEquals("[::1]:7410", v6.location());
        assertEquals(7411, v6.data().getPort());
    }

    @Test
    void aConfigurationValueMayListSeveral() {
        List<NodeAddress> all = NodeAddress.parseAll(new String[] {"127.0.0.1:1/2, 127.0.0.1:3/4", "127.0.0.1:5/6"});
        assertEquals(3, all.size());
        assertEquals(5, all.get(2).control().getPort());
    }

    @Test
    void badAddressesSayWhatIsWrong() {
        assertTrue(assertThrows(IllegalArgumentException.class, () -> NodeAddress.parse("127.0.0.1:7410"))
            .getMessage().contains("no '/'"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> NodeAddress.parse("127.0.0.1:0/1"))
            .getMessage().contains("a port is 1 to 65535, got '0'"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> NodeAddress.parse("127.0.0.1:1/x"))
            .getMessage().contains("got 'x'"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> NodeAddress.parse("::1:1/2"))
            .getMessage().contains("brackets"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> NodeAddress.hostPort("aggregation.address",
            "no-such-host.invalid:1")).getMessage().contains("unknown host 'no-such-host.invalid'"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> NodeAddress.hostPort("aggregation.address",
            "17502")).getMessage().contains("HOST:PORT"));
    }
}
