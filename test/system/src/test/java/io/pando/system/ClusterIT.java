package io.pando.system;

import static io.pando.system.Figures.figures;
import static io.pando.system.Figures.max;
import static io.pando.system.Figures.secondsAfter;
import static io.pando.system.Figures.since;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * Acceptance 6 of the cluster issue, on four Karaf processes made from the assembly: {@code feature:install
 * pando-cluster} on three nodes makes one cluster with the oldest member as leader;
 * {@code pando:cluster-feature-install} of the vendor policy feature ({@code pando-vendor-consistent-hash}) reaches
 * every node, and a fourth node that joins later installs it too. Then the membership figures: {@code kill -9} of a
 * member that is not the leader, of the leader (the next oldest takes over), and of all but one node, which has no
 * quorum and refuses {@code pando:cluster-feature-install} with the reason. Before the kills, network partitions
 * (acceptance 2 of the issue): three times, one member (the leader, another one, one at random) is cut off from the
 * others by nftables in its network namespace for a random while; the others keep or elect a leader with quorum, the
 * cut-off member loses quorum and refuses to act, and once the partition heals it merges back as the youngest
 * member.
 *
 * <p>Each node is a whole Pando router (pando-all) in a network namespace of its own ({@link NetNs}: bridge
 * {@code pcit0}, 10.77.0.11-14) that runs a cluster member: cluster {@code pando-it}, members
 * c1-c4 on 10.77.0.11-14:5951-5954 (every node lists all four), heartbeat every second, a silent member removed after
 * {@value #FAILURE_TIMEOUT_SECONDS} s (a killed process is noticed sooner: its connections close), quorum
 * {@value #QUORUM} members, so that two survivors still have a leader with quorum and one alone has none.
 *
 * <p>Ports (each in its node's namespace): SSH 8951-8954, ingress 17951-17954, cluster members 5951-5954. Work files under
 * {@code target/system-tests/cluster-cN}. The times are printed with {@code [cluster]}: those of the cluster's own
 * events come from the nodes' karaf.log (millisecond timestamps), those seen through the console from polling
 * {@code bin/pando console}, which takes a second or two per call.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ClusterIT {

    private static final String CLUSTER = "pando-it";
    private static final String POLICY_FEATURE = "pando-vendor-consistent-hash";
    private static final String POLICY = "consistent-hash";
    private static final int HEARTBEAT_SECONDS = 1;
    private static final int FAILURE_TIMEOUT_SECONDS = 6;
    private static final int QUORUM = 2;
    private static final int JOIN_TIMEOUT_SECONDS = 5;
    /** How long a change may take to show on every node before the test gives up. */
    private static final long AWAIT_SECONDS = 90;
    /** The warning Hazelcast logs when the JVM lacks the options bin/setenv adds. */
    private static final String MISSING_JVM_OPTIONS = "without proper access to required Java packages";

    private static final List<KarafNode> NODES = new ArrayList<>();
    private static final String NET = "10.77.0";
    private static NetNs.Bridge bridge;
    private static final Map<String, NetNs> NAMESPACES = new LinkedHashMap<>();
    private static final ExecutorService POOL = Executors.newFixedThreadPool(4);
    private static long classStarted;

    /** The member names oldest first, as the cluster of c1-c3 (and later c4) agreed on them. */
    private static List<String> order = List.of();

    @BeforeAll
    static void startFourNodes() throws Exception {
        classStarted = System.nanoTime();
        bridge = new NetNs.Bridge("pcit0", NET, java.nio.file.Path.of("target/system-tests/cluster-net")
            .toAbsolutePath());
        for (int i = 1; i <= 4; i++) {
            NetNs ns = bridge.add("pando-cit-c" + i, i);
            NAMESPACES.put("c" + i, ns);
            KarafNode node = KarafNode.create("cluster-c" + i, 8950 + i, 17950 + i).inNamespace(ns);
            NODES.add(node);
            Files.writeString(node.home.resolve("etc/io.pando.cluster.cfg"), clusterConfig("c" + i, ns.address,
                5950 + i));
        }
        // all four Karafs boot now; c4's cluster member starts only in the late-joiner test
        long t0 = System.nanoTime();
        // four whole routers booting at once on two cores take minutes on a loaded machine
        KarafNode.Readiness booted = new KarafNode.Readiness(KarafNode.Readiness.LOCAL_UNITS.command(),
            KarafNode.Readiness.LOCAL_UNITS.ready(), KarafNode.Readiness.LOCAL_UNITS.what(), 300, 120);
        onEach(NODES, n -> {
            n.start(booted);
            return null;
        });
        System.out.printf(Locale.ROOT, "[cluster] four nodes booted in parallel in %.1f s%n", since(t0));
    }

    private static String clusterConfig(String member, String address, int port) {
        return "# written by ClusterIT\n"
            + "cluster.name = " + CLUSTER + "\n"
            + "member.name = " + member + "\n"
            + "bind.address = " + address + "\n"
            + "port = " + port + "\n"
            + "members = " + NET + ".11:5951, " + NET + ".12:5952, " + NET + ".13:5953, " + NET + ".14:5954\n"
            + "quorum.min.members = " + QUORUM + "\n"
            + "heartbeat.interval.seconds = " + HEARTBEAT_SECONDS + "\n"
            + "failure.timeout.seconds = " + FAILURE_TIMEOUT_SECONDS + "\n"
            + "join.timeout.seconds = " + JOIN_TIMEOUT_SECONDS + "\n"
            + "merge.interval.seconds = 5\n"
            + "features.retry.seconds = 15\n";
    }

    @AfterAll
    static void stopNodes() throws Exception {
        try {
            onEach(NODES, n -> {
                n.close();
                return null;
            });
        } finally {
            POOL.shutdownNow();
            if (bridge != null) {
                bridge.close();
            }
        }
        for (KarafNode n : NODES) {
            String log = n.log();
            List<String> lines = log.lines().toList();
            int errors = 0;
            int refusals = 0;
            for (int i = 0; i < lines.size(); i++) {
                if (lines.get(i).contains("| ERROR |")) {
                    errors++;
                    // Karaf's shell logs the exception of a command that fails: the refusal without quorum
                    if (i + 1 < lines.size() && lines.get(i + 1).startsWith("io.pando.cluster.NoQuorumException")) {
                        refusals++;
                    }
                }
            }
            System.out.println("[cluster] " + n.name + " karaf.log: " + errors + " ERROR lines, " + refusals
                + " of them the refused pando:cluster-feature-install (" + n.home.resolve("data/log/karaf.log") + ")");
            assertFalse(log.contains("LEAK:"), n.name + " leaked buffers: see " + n.home.resolve("data/log/karaf.log"));
            assertFalse(log.contains(MISSING_JVM_OPTIONS), n.name + ": Hazelcast asks for JVM options that bin/setenv "
                + "should have given: see " + n.home.resolve("data/log/karaf.log"));
        }
        System.out.printf(Locale.ROOT, "[cluster] ClusterIT took %.1f s%n", since(classStarted));
    }

    // ---- the tests

    @Test
    @Order(1)
    void threeNodesFormOneClusterWhoseLeaderIsTheOldestMember() throws Exception {
        KarafNode c1 = node(1);
        int logBefore = c1.log().length();
        long t0 = System.nanoTime();
        c1.consoleOk("feature:install pando-cluster");
        double installed = since(t0);
        Map<String, Double> alone = awaitOnEach(List.of(c1), t0, "a cluster of one", n -> members(cluster(n), 1));
        System.out.printf(Locale.ROOT, "[cluster] c1: feature:install pando-cluster returned after %.1f s, member up "
            + "(alone, waited %d s for the listed members) at %.1f s%n", installed, JOIN_TIMEOUT_SECONDS,
            alone.get(c1.name));
        String installLog = c1.log().substring(logBefore);
        assertFalse(installLog.contains("Refreshing bundles"), "installing pando-cluster refreshed bundles (the "
            + "router restarts): see " + c1.home.resolve("data/log/karaf.log"));

        List<KarafNode> three = NODES.subList(0, 3);
        Instant asked = Instant.now();
        long t1 = System.nanoTime();
        onEach(NODES.subList(1, 3), n -> n.consoleOk("feature:install pando-cluster"));
        double installs = since(t1);
        Map<String, Double> seen = awaitOnEach(three, t1, "3 members", n -> members(cluster(n), 3));
        Map<String, Double> joined = new LinkedHashMap<>();
        for (KarafNode n : NODES.subList(1, 3)) {
            joined.put(n.name, secondsAfter(asked, n.logTime(asked, "cluster member " + memberName(n) + " (",
                "joined cluster " + CLUSTER + ":")));
        }
        System.out.printf(Locale.ROOT, "[cluster] c2, c3: feature:install pando-cluster in parallel returned after "
            + "%.1f s; joined (karaf.log) at %s s; all three show 3 members in pando:cluster at %s s%n", installs,
            figures(joined), figures(seen));

        List<Map<String, Object>> views = onEach(three, ClusterIT::cluster);
        order = names(views.get(0));
        for (int i = 0; i < 3; i++) {
            Map<String, Object> v = views.get(i);
            String node = three.get(i).name;
            assertEquals(order, names(v), node + " lists the members in the same order (oldest first): " + v);
            assertEquals(ids(views.get(0)), ids(v), node + " sees the same member ids: " + v);
            assertEquals("c1", v.get("leader"), node + ": the leader is c1, the oldest member " + v);
            assertEquals("leader", JsonValue.str(members(v).get(0), "role"), node + " " + v);
            assertEquals(true, JsonValue.obj(v, "quorum").get("has"), node + " has quorum " + v);
            assertEquals(QUORUM, JsonValue.num(v, "quorum", "size"), node + " quorum size " + v);
            assertEquals("ok", v.get("health"), node + " health " + v);
            assertEquals(memberName(three.get(i)), v.get("local"), node + " " + v);
        }
        // joined_at is when a member started; c1 started seconds before the others (two members that start together
        // may be admitted in either order: the member list is the order in which they were admitted)
        List<String> started = members(views.get(0)).stream().map(m -> (String) m.get("joined_at")).toList();
        assertEquals(started.stream().sorted().findFirst().orElseThrow(), started.get(0),
            "the leader c1 started first: " + views.get(0));
        System.out.println("[cluster] one cluster of 3, members oldest first " + order + ", leader c1 with quorum "
            + QUORUM + " on every node");
        // every node reports its own units (u1, u2 of the assembly's default node) and each member sees all six
        long t2 = System.nanoTime();
        Map<String, Double> units = awaitOnEach(three, t2, "the units of all three nodes", n -> {
            List<String> listed = n.consoleOk("pando:cluster-units --json").jsonArray().stream()
                .map(u -> u.get("member") + "/" + u.get("unit")).sorted().toList();
            List<String> want = three.stream().flatMap(m -> Stream.of(memberName(m) + "/u1", memberName(m) + "/u2"))
                .sorted().toList();
            return listed.equals(want) ? Optional.empty() : Optional.of("pando:cluster-units shows " + listed);
        });
        System.out.printf(Locale.ROOT, "[cluster] pando:cluster-units on each node lists the 6 units of the 3 nodes "
            + "(at %s s)%n", figures(units));
    }

    @Test
    @Order(2)
    void aVendorPolicyFeatureInstalledClusterWideReachesEveryNode() throws Exception {
        List<KarafNode> three = NODES.subList(0, 3);
        for (KarafNode n : three) {
            assertFalse(policyListed(n), n.name + " has no " + POLICY + " policy before");
        }
        Instant asked = Instant.now();
        long t0 = System.nanoTime();
        // asked on a member that is not the leader: any member with quorum may
        Map<String, Object> r = node(2).consoleJson("pando:cluster-feature-install --json " + POLICY_FEATURE);
        assertEquals(true, r.get("added"), r.toString());
        assertEquals(List.of(POLICY_FEATURE), r.get("desired_features"), r.toString());

        awaitOnEach(three, t0, POLICY_FEATURE + " installed", n -> installed(n, memberName(n)));
        Map<String, Double> installedAt = new LinkedHashMap<>();
        for (KarafNode n : three) {
            installedAt.put(n.name, secondsAfter(asked, reportTime(cluster(n), memberName(n), POLICY_FEATURE)));
        }
        Map<String, Double> listed = awaitOnEach(three, t0, POLICY + " listed by pando:policy-list",
            n -> policyListed(n) ? Optional.empty() : Optional.of("not listed"));
        for (KarafNode n : three) {
            String features = n.consoleOk("feature:list -i").out();
            assertTrue(features.lines().anyMatch(l -> l.startsWith(POLICY_FEATURE + " ")),
                n.name + ": feature:list -i shows " + POLICY_FEATURE + "\n" + features);
        }
        System.out.printf(Locale.ROOT, "[cluster] %s asked on c2: installed (node reports) at %s s, policy %s listed "
            + "by pando:policy-list at %s s; slowest node %.1f s after the request%n", POLICY_FEATURE,
            figures(installedAt), POLICY, figures(listed), max(installedAt));
    }

    @Test
    @Order(3)
    void aNodeThatJoinsLaterGetsTheFeature() throws Exception {
        KarafNode c4 = node(4);
        assertFalse(policyListed(c4), "c4 has no " + POLICY + " policy before it joins");
        Instant asked = Instant.now();
        long t0 = System.nanoTime();
        c4.consoleOk("feature:install pando-cluster");
        double installed = since(t0);
        Map<String, Double> four = awaitOnEach(NODES, t0, "4 members", n -> members(cluster(n), 4));
        double joined = secondsAfter(asked, c4.logTime(asked, "cluster member c4 (", "joined cluster " + CLUSTER
            + ":"));
        awaitOnEach(List.of(c4), t0, POLICY_FEATURE + " installed", n -> installed(n, "c4"));
        double reported = secondsAfter(asked, reportTime(cluster(c4), "c4", POLICY_FEATURE));
        Map<String, Double> listed = awaitOnEach(List.of(c4), t0, POLICY + " listed on c4",
            n -> policyListed(n) ? Optional.empty() : Optional.of("not listed"));

        List<Map<String, Object>> views = onEach(NODES, ClusterIT::cluster);
        order = names(views.get(0));
        assertEquals("c4", order.get(3), "c4 is the youngest member: " + views.get(0));
        for (int i = 0; i < 4; i++) {
            Map<String, Object> v = views.get(i);
            assertEquals(order, names(v), NODES.get(i).name + " " + v);
            assertEquals("c1", v.get("leader"), NODES.get(i).name + " " + v);
            assertEquals("ok", v.get("health"), NODES.get(i).name + " " + v);
        }
        System.out.printf(Locale.ROOT, "[cluster] late joiner c4: feature:install pando-cluster returned after %.1f s, "
            + "joined (karaf.log) at %.1f s, 4 members in pando:cluster on all nodes at %s s; it installed %s at "
            + "%.1f s (its report) and listed %s at %.1f s%n", installed, joined, figures(four), POLICY_FEATURE,
            reported, POLICY, listed.get(c4.name));
    }

    @Test
    @Order(4)
    void aMemberCutOffByAPartitionLosesQuorumAndMergesBackWhenItHeals() throws Exception {
        long seed = System.nanoTime();
        Random random = new Random(seed);
        System.out.println("[cluster] partitions: random seed " + seed);
        for (int round = 1; round <= 3; round++) {
            List<KarafNode> all = live();
            int size = all.size();
            String leader = order.get(0);
            // the leader, then another member, then any member
            String victim = round == 1 ? leader
                : round == 2 ? order.get(1 + random.nextInt(size - 1)) : order.get(random.nextInt(size));
            String expected = victim.equals(leader) ? order.get(1) : leader;
            KarafNode cut = byMember(victim);
            List<KarafNode> majority = without(all, victim);
            Thread.sleep(random.nextInt(3000));

            Instant isolated = Instant.now();
            long t0 = System.nanoTime();
            NAMESPACES.get(victim).isolate();
            Map<String, Double> seen = awaitOnEach(majority, t0, (size - 1) + " members led by " + expected
                + " with quorum", n -> {
                    Map<String, Object> v = cluster(n);
                    Optional<String> wrong = members(v, size - 1);
                    if (wrong.isPresent()) {
                        return wrong;
                    }
                    return expected.equals(v.get("leader")) && Boolean.TRUE.equals(JsonValue.obj(v, "quorum")
                        .get("has")) ? Optional.empty() : Optional.of("leader " + v.get("leader") + ", quorum "
                        + v.get("quorum"));
                });
            Map<String, Double> alone = awaitOnEach(List.of(cut), t0, "without quorum", n -> {
                Map<String, Object> v = cluster(n);
                return "no-quorum".equals(v.get("health")) ? Optional.empty()
                    : Optional.of("health " + v.get("health") + ", members " + names(v));
            });
            Map<String, Double> left = new LinkedHashMap<>();
            for (KarafNode n : majority) {
                left.put(n.name, secondsAfter(isolated, n.logTime(isolated, ": member " + victim + " (", "left, "
                    + (size - 1) + " members")));
            }
            Map<String, Double> takeover = new LinkedHashMap<>();
            if (victim.equals(leader)) {
                for (KarafNode n : majority) {
                    takeover.put(n.name, secondsAfter(isolated, n.logTime(isolated, ": the leader is now " + expected,
                        "")));
                }
            }
            double lost = secondsAfter(isolated, cut.logTime(isolated, victim + ": quorum lost", ""));

            // the cut-off member neither admits nor deploys: a cluster-wide install is refused with the reason
            KarafNode.Console refused = cut.console("pando:cluster-feature-install pando-remote");
            String said = (refused.out() + refused.err()).strip();
            assertEquals(1, refused.exit(), victim + " without quorum refused" + refused.describe());
            assertTrue(said.contains("no quorum"), "the refusal says why" + refused.describe());
            assertEquals(List.of(POLICY_FEATURE), cluster(majority.get(0)).get("desired_features"),
                "the refused install changed nothing");

            Thread.sleep(random.nextInt(4000));
            Instant healed = Instant.now();
            long t1 = System.nanoTime();
            NAMESPACES.get(victim).heal();
            Map<String, Double> merged = awaitOnEach(all, t1, size + " members led by " + expected, n -> {
                Map<String, Object> v = cluster(n);
                Optional<String> wrong = members(v, size);
                if (wrong.isPresent()) {
                    return wrong;
                }
                return expected.equals(v.get("leader")) && "ok".equals(v.get("health")) ? Optional.empty()
                    : Optional.of("leader " + v.get("leader") + ", health " + v.get("health"));
            });
            double regained;
            try {
                regained = secondsAfter(healed, cut.logTime(healed, victim + ": quorum gained", ""));
            } catch (AssertionError e) { // a merge may restart the member instead: then it logs joining
                regained = secondsAfter(healed, cut.logTime(healed, "cluster member " + victim + " (", "joined"));
            }
            List<Map<String, Object>> views = onEach(all, ClusterIT::cluster);
            order = names(views.get(0));
            for (int i = 0; i < all.size(); i++) {
                assertEquals(order, names(views.get(i)), all.get(i).name + " agrees on the members: " + views.get(i));
            }
            assertEquals(victim, order.get(size - 1), "the cut-off member merged back as the youngest: " + order);
            System.out.printf(Locale.ROOT, "[cluster] partition %d: %s (%s) cut off; the others saw it leave after %s s (karaf.log)%s, showed %d members led by %s with quorum after %s "
                + "s; %s lost quorum after %.2f s (shown after %.1f s) and refused pando:cluster-feature-install; "
                + "healed after %.1f s cut off: %s regained quorum after %.2f s, all %d agree on %s with leader %s "
                + "after %s s%n", round, victim, victim.equals(leader) ? "the leader" : "not the leader", figures(left), takeover.isEmpty() ? "" : ", " + expected + " leads after " + figures(takeover)
                + " s", size - 1, expected, figures(seen), victim, lost, alone.get(cut.name),
                secondsAfter(isolated, healed), victim, regained, size, order, expected, figures(merged));
        }
    }

    @Test
    @Order(5)
    void killNineOfAMemberThatIsNotTheLeaderIsDetectedByTheOthers() throws Exception {
        // not the leader, nor the next oldest (which is to take over from the leader below)
        String victim = order.get(2);
        String leader = order.get(0);
        List<KarafNode> survivors = without(live(), victim);
        Instant killed = byMember(victim).kill();
        long t0 = System.nanoTime();
        Map<String, Double> seen = awaitOnEach(survivors, t0, "3 members", n -> members(cluster(n), 3));
        Map<String, Double> detected = new LinkedHashMap<>();
        for (KarafNode n : survivors) {
            detected.put(n.name, secondsAfter(killed, n.logTime(killed, ": member " + victim + " (", "left, 3 "
                + "members")));
        }
        System.out.printf(Locale.ROOT, "[cluster] kill -9 of %s (not the leader): detected (karaf.log) after %s s, "
            + "3 members in pando:cluster after %s s (heartbeat %d s, failure timeout %d s)%n", victim,
            figures(detected), figures(seen), HEARTBEAT_SECONDS, FAILURE_TIMEOUT_SECONDS);
        assertTrue(max(detected) <= FAILURE_TIMEOUT_SECONDS + 2, "the members noticed the killed one within the "
            + "failure detection time: " + detected);
        for (KarafNode n : survivors) {
            Map<String, Object> v = cluster(n);
            assertEquals(leader, v.get("leader"), n.name + " " + v);
            assertEquals(true, JsonValue.obj(v, "quorum").get("has"), n.name + " " + v);
        }
        order = names(cluster(survivors.get(0)));
    }

    @Test
    @Order(6)
    void killNineOfTheLeaderMakesTheNextOldestTheLeader() throws Exception {
        String leader = order.get(0);
        String next = order.get(1);
        List<KarafNode> survivors = without(live(), leader);
        Instant killed = byMember(leader).kill();
        long t0 = System.nanoTime();
        Map<String, Double> seen = awaitOnEach(survivors, t0, "leader " + next + " with quorum", n -> {
            Map<String, Object> v = cluster(n);
            Optional<String> wrong = members(v, 2);
            if (wrong.isPresent()) {
                return wrong;
            }
            return next.equals(v.get("leader")) && Boolean.TRUE.equals(JsonValue.obj(v, "quorum").get("has"))
                ? Optional.empty() : Optional.of("leader " + v.get("leader") + ", quorum " + v.get("quorum"));
        });
        Map<String, Double> leftAt = new LinkedHashMap<>();
        Map<String, Double> takeover = new LinkedHashMap<>();
        for (KarafNode n : survivors) {
            leftAt.put(n.name, secondsAfter(killed, n.logTime(killed, ": member " + leader + " (", "left, 2 members")));
            takeover.put(n.name, secondsAfter(killed, n.logTime(killed, ": the leader is now " + next, "")));
        }
        System.out.printf(Locale.ROOT, "[cluster] kill -9 of the leader %s: detected (karaf.log) after %s s, new "
            + "leader %s (the next oldest) after %s s, shown with quorum by pando:cluster after %s s%n", leader,
            figures(leftAt), next, figures(takeover), figures(seen));
        assertTrue(max(takeover) <= FAILURE_TIMEOUT_SECONDS + 2, "the next oldest took over within the failure "
            + "detection time: " + takeover);
        order = names(cluster(survivors.get(0)));
    }

    @Test
    @Order(7)
    void aNodeLeftAloneHasNoQuorumAndRefusesClusterFeatureInstall() throws Exception {
        String last = order.get(0);
        String victim = order.get(1);
        KarafNode remaining = byMember(last);
        byMember(victim).kill();
        long t0 = System.nanoTime();
        Map<String, Double> alone = awaitOnEach(List.of(remaining), t0, "alone without quorum", n -> {
            Map<String, Object> v = cluster(n);
            Optional<String> wrong = members(v, 1);
            return wrong.isPresent() ? wrong : "no-quorum".equals(v.get("health")) ? Optional.empty()
                : Optional.of("health " + v.get("health"));
        });
        Map<String, Object> v = cluster(remaining);
        assertEquals(false, JsonValue.obj(v, "quorum").get("has"), v.toString());

        // pando-remote exists on every node: the refusal is about quorum, not about the feature
        KarafNode.Console refused = remaining.console("pando:cluster-feature-install pando-remote");
        String said = (refused.out() + refused.err()).strip();
        assertEquals(1, refused.exit(), "refused" + refused.describe());
        assertTrue(said.contains("no quorum") && said.contains("sees 1 of the " + QUORUM + " members needed"),
            "the refusal says why" + refused.describe());
        assertEquals(List.of(POLICY_FEATURE), cluster(remaining).get("desired_features"),
            "the desired features did not change");
        String reason = said.lines().filter(l -> l.contains("no quorum")).findFirst().orElse(said);
        System.out.printf(Locale.ROOT, "[cluster] %s alone (no quorum after %.1f s): pando:cluster-feature-install "
            + "refused, exit status 1: %s%n", last, alone.get(remaining.name), reason.strip());
    }

    // ---- reading the cluster

    private static Map<String, Object> cluster(KarafNode n) throws Exception {
        return n.consoleJson("pando:cluster --json");
    }

    @SuppressWarnings("unchecked")
    private static List<Map<String, Object>> members(Map<String, Object> view) {
        return JsonValue.list(view, "members").stream().map(m -> (Map<String, Object>) m).toList();
    }

    /** @return empty if the view has this many members, else what it has */
    private static Optional<String> members(Map<String, Object> view, int count) {
        List<String> names = names(view);
        return names.size() == count ? Optional.empty() : Optional.of("members " + names);
    }

    private static List<String> names(Map<String, Object> view) {
        return members(view).stream().map(m -> (String) m.get("name")).toList();
    }

    private static List<String> ids(Map<String, Object> view) {
        return members(view).stream().map(m -> (String) m.get("id")).toList();
    }

    /** @return the state (pending, installed, failed, removed) a node reports for a desired feature */
    @SuppressWarnings("unchecked")
    private static Optional<String> featureState(Map<String, Object> view, String node, String feature) {
        Object nodes = view.get("nodes");
        if (!(nodes instanceof Map<?, ?> m) || !(m.get(node) instanceof Map<?, ?> report)
            || !(report.get("features") instanceof Map<?, ?> features)
            || !(features.get(feature) instanceof Map<?, ?> state)) {
            return Optional.empty();
        }
        return Optional.ofNullable((String) ((Map<String, Object>) state).get("state"));
    }

    /** @return empty if the node reports the policy feature installed, else the state it reports */
    private static Optional<String> installed(KarafNode n, String member) throws Exception {
        Optional<String> state = featureState(cluster(n), member, POLICY_FEATURE);
        return state.filter("installed"::equals).isPresent() ? Optional.empty()
            : Optional.of(member + " reports " + POLICY_FEATURE + " " + state.orElse("not yet"));
    }

    private static Instant reportTime(Map<String, Object> view, String node, String feature) {
        return Instant.parse(JsonValue.str(view, "nodes", node, "features", feature, "at"));
    }

    private static boolean policyListed(KarafNode n) throws Exception {
        return n.consoleOk("pando:policy-list --json").jsonArray().stream()
            .anyMatch(p -> POLICY.equals(p.get("name")) && "load-balancing".equals(p.get("role")));
    }

    // ---- nodes

    private static KarafNode node(int i) {
        return NODES.get(i - 1);
    }

    private static String memberName(KarafNode n) {
        return n.name.substring(n.name.lastIndexOf('-') + 1);
    }

    private static KarafNode byMember(String member) {
        return NODES.stream().filter(n -> memberName(n).equals(member)).findFirst().orElseThrow();
    }

    private static List<KarafNode> without(List<KarafNode> nodes, String member) {
        return nodes.stream().filter(n -> !memberName(n).equals(member)).toList();
    }

    /** @return the nodes that are still members, in the cluster's order */
    private static List<KarafNode> live() {
        return order.stream().map(ClusterIT::byMember).toList();
    }

    private static <T> List<T> onEach(List<KarafNode> nodes, KarafNode.Task<T> task) throws Exception {
        return KarafNode.onEach(POOL, nodes, task);
    }

    /** {@link KarafNode#awaitOnEach} for up to {@value #AWAIT_SECONDS} s. */
    private static Map<String, Double> awaitOnEach(List<KarafNode> nodes, long t0, String what,
        KarafNode.Task<Optional<String>> check) throws Exception {
        return KarafNode.awaitOnEach(POOL, nodes, t0, what, AWAIT_SECONDS, check);
    }
}
