package io.pando.cluster.impl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.annotation.Annotation;
import java.util.List;
import java.util.Set;
import java.util.logging.Level;
import org.junit.jupiter.api.Test;

/** Reading and checking the configuration of PID io.pando.cluster. */
class ClusterSettingsTest {

    /** The configuration with its defaults, and the values a test changes. */
    static class Cfg implements HazelcastCluster.Config {
        String clusterName = "pando";
        String memberName = "";
        String[] roles = {};
        String bind = "127.0.0.1";
        int port = 5701;
        String[] members = {};
        int heartbeat = 5;
        int failure = 30;
        int join = 5;
        int quorum = 0;
        int backups = 1;
        int merge = 30;
        int retry = 60;
        String level = "WARN";
        String publicAddress = "";
        int unitReport = ClusterSettings.DEFAULT_UNIT_REPORT_MILLIS;

        @Override public Class<? extends Annotation> annotationType() { return HazelcastCluster.Config.class; }
        @Override public String cluster_name() { return clusterName; }
        @Override public String member_name() { return memberName; }
        @Override public String[] node_roles() { return roles; }
        @Override public String bind_address() { return bind; }
        @Override public int port() { return port; }
        @Override public String[] members() { return members; }
        @Override public int heartbeat_interval_seconds() { return heartbeat; }
        @Override public int failure_timeout_seconds() { return failure; }
        @Override public int join_timeout_seconds() { return join; }
        @Override public int quorum_min_members() { return quorum; }
        @Override public int directory_backups() { return backups; }
        @Override public int merge_interval_seconds() { return merge; }
        @Override public int features_retry_seconds() { return retry; }
        @Override public String logging_level() { return level; }
        @Override public String public_address() { return publicAddress; }
        @Override public int unit_report_interval_ms() { return unitReport; }
    }

    @Test
    void defaultsMakeAClusterOfOne() {
        ClusterSettings s = ClusterSettings.from(new Cfg());
        assertEquals("pando", s.clusterName());
        assertEquals("127.0.0.1-5701", s.memberName());
        assertEquals(List.of(), s.members());
        assertEquals(1, s.quorumSize());
        assertEquals(Level.WARNING, s.engineLogLevel());
        assertEquals("127.0.0.1:5701", s.localAddress());
        assertEquals(1000, s.unitReportMillis());
        assertEquals("127.0.0.1:5701", s.advertisedAddress());
        Cfg nat = new Cfg();
        nat.publicAddress = "203.0.113.7";
        assertEquals("203.0.113.7:5701", ClusterSettings.from(nat).advertisedAddress());
        nat.publicAddress = "203.0.113.7:15701";
        assertEquals("203.0.113.7:15701", ClusterSettings.from(nat).advertisedAddress());
    }

    @Test
    void quorumDefaultsToAMajorityOfTheMemberList() {
        Cfg c = new Cfg();
        c.members = new String[] {"10.0.0.1, 10.0.0.2:5702", "10.0.0.3 10.0.0.1", "[fe80::1]:5703", "fe80::2"};
        c.roles = new String[] {"unit,distribution", " control "};
        ClusterSettings s = ClusterSettings.from(c);
        assertEquals(List.of("10.0.0.1:5701", "10.0.0.2:5702", "10.0.0.3:5701", "[fe80::1]:5703", "fe80::2:5701"),
            s.members());
        assertEquals(3, s.quorumSize());
        assertEquals(Set.of("unit", "distribution", "control"), s.nodeRoles());
        assertEquals(1, ClusterSettings.majority(1));
        assertEquals(2, ClusterSettings.majority(2));
        assertEquals(2, ClusterSettings.majority(3));
        assertEquals(3, ClusterSettings.majority(4));
        c.bind = "fe80::1";
        assertEquals("[fe80::1]:5701", ClusterSettings.from(c).localAddress());
        assertEquals("fe80--1-5701", ClusterSettings.from(c).memberName());
        c.quorum = 4;
        assertEquals(4, ClusterSettings.from(c).quorumSize());
    }

    @Test
    void badValuesAreRefusedNamingTheKey() {
        assertError("port must be in [1, 65535], got 70000", c -> c.port = 70000);
        assertError("cluster.name must be", c -> c.clusterName = "bad name");
        assertError("member.name must be", c -> c.memberName = "a/b");
        assertError("bind.address must be an IP address or host name", c -> c.bind = "");
        assertError("members: bad port in 'h:x'", c -> c.members = new String[] {"h:x"});
        assertError("members: port of 'h:0' must be in [1, 65535]", c -> c.members = new String[] {"h:0"});
        assertError("members: no host in ':5701'", c -> c.members = new String[] {":5701"});
        assertError("members: bad host in 'h$t'", c -> c.members = new String[] {"h$t"});
        assertError("failure.timeout.seconds (5) must be greater than heartbeat.interval.seconds (5)", c -> {
            c.heartbeat = 5;
            c.failure = 5;
        });
        assertError("heartbeat.interval.seconds must be in [1, 60], got 0", c -> c.heartbeat = 0);
        assertError("quorum.min.members must be >= 0", c -> c.quorum = -1);
        assertError("directory.backups must be in [0, 6], got 7", c -> c.backups = 7);
        assertError("logging.level must be one of", c -> c.level = "LOUD");
        assertError("node.roles must be", c -> c.roles = new String[] {"a b"});
        assertError("members: bad port in 'h:x'", c -> c.publicAddress = "h:x");
        assertError("public.address must be one HOST or HOST:PORT, got 'a,b'", c -> c.publicAddress = "a,b");
        assertError("not the wildcard 0.0.0.0", c -> c.bind = "0.0.0.0");
        assertError("not the wildcard ::", c -> c.bind = "::");
        assertError("unit.report.interval.ms must be in [100, 60000], got 99", c -> c.unitReport = 99);
    }

    private static void assertError(String part, java.util.function.Consumer<Cfg> change) {
        Cfg c = new Cfg();
        change.accept(c);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ClusterSettings.from(c));
        assertTrue(e.getMessage().contains(part), e.getMessage());
    }
}
