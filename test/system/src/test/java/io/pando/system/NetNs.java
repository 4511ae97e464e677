package io.pando.system;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * A network namespace per node, joined by a bridge in the test's own namespace, so that nodes talk over real
 * interfaces and one can be cut off with nftables in its namespace: {@link #isolate()} drops every packet between
 * it and the other nodes (the test's own address, the bridge's, still reaches it, so that the harness can watch
 * it), {@link #heal()} lets them through again. Needs root, {@code ip} (iproute2) and {@code nft} (nftables).
 *
 * <p>Addresses: the bridge has {@code PREFIX.1/24}, node {@code i} has {@code PREFIX.(10 + i)}.
 */
final class NetNs implements AutoCloseable {

    private static final String TABLE = "pando-partition";

    final String name;
    final String address;
    private final Bridge bridge;
    private final String hostVeth;
    private boolean isolated;

    private NetNs(Bridge bridge, String name, String address, String hostVeth) {
        this.bridge = bridge;
        this.name = name;
        this.address = address;
        this.hostVeth = hostVeth;
    }

    /** A bridge in the test's namespace, with the address {@code PREFIX.1/24}. */
    static final class Bridge implements AutoCloseable {
        final String name;
        final String prefix;
        private final Path work;
        private final List<NetNs> members = new ArrayList<>();

        /**
         * @param name the bridge interface (at most 15 characters; a left-over one of an aborted run is replaced)
         * @param prefix the first three octets of the /24, e.g. {@code 10.77.0}
         * @param work where the commands' output goes
         */
        Bridge(String name, String prefix, Path work) throws Exception {
            this.name = name;
            this.prefix = prefix;
            this.work = work;
            ip(work, true, "link", "del", name);
            ip(work, false, "link", "add", name, "type", "bridge");
            ip(work, false, "addr", "add", prefix + ".1/24", "dev", name);
            ip(work, false, "link", "set", name, "up");
        }

        /** @return the address of the bridge, the test's own address on the nodes' network */
        String hostAddress() {
            return prefix + ".1";
        }

        /**
         * Creates namespace {@code ns} with one interface on this bridge, address {@code PREFIX.(10 + index)}, and
         * its loopback up.
         */
        NetNs add(String ns, int index) throws Exception {
            String veth = (name + "-" + index);
            if (veth.length() > 15) {
                throw new IllegalArgumentException("interface name too long: " + veth);
            }
            ip(work, true, "netns", "del", ns);
            ip(work, true, "link", "del", veth);
            ip(work, false, "netns", "add", ns);
            ip(work, false, "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", ns);
            ip(work, false, "link", "set", veth, "master", name, "up");
            String address = prefix + "." + (10 + index);
            ip(work, false, "-n", ns, "addr", "add", address + "/24", "dev", "eth0");
            ip(work, false, "-n", ns, "link", "set", "eth0", "up");
            ip(work, false, "-n", ns, "link", "set", "lo", "up");
            NetNs n = new NetNs(this, ns, address, veth);
            members.add(n);
            return n;
        }

        @Override
        public void close() throws Exception {
            for (NetNs n : members) {
                n.close();
            }
            ip(work, true, "link", "del", name);
        }
    }

    /** @return {@code cmd} run inside this namespace */
    List<String> wrap(List<String> cmd) {
        List<String> out = new ArrayList<>(List.of("ip", "netns", "exec", name));
        out.addAll(cmd);
        return out;
    }

    /**
     * Cuts the node off from the other nodes: its namespace drops every packet to or from the nodes' network except
     * the bridge's own address (the test harness) and loopback.
     */
    void isolate() throws Exception {
        String ruleset = "table inet " + TABLE + " {\n"
            + "  chain in {\n    type filter hook input priority 0; policy accept;\n"
            + "    iifname \"lo\" accept\n"
            + "    ip saddr " + bridge.hostAddress() + " accept\n"
            + "    ip saddr " + bridge.prefix + ".0/24 counter drop\n  }\n"
            + "  chain out {\n    type filter hook output priority 0; policy accept;\n"
            + "    oifname \"lo\" accept\n"
            + "    ip daddr " + bridge.hostAddress() + " accept\n"
            + "    ip daddr " + bridge.prefix + ".0/24 counter drop\n  }\n"
            + "}\n";
        java.nio.file.Files.writeString(bridge.work.resolve(name + "-partition.nft"), ruleset);
        run(bridge.work, false, "ip", "netns", "exec", name, "nft", "-f",
            bridge.work.resolve(name + "-partition.nft").toString());
        isolated = true;
    }

    /** Lets the node's packets through again. */
    void heal() throws Exception {
        run(bridge.work, false, "ip", "netns", "exec", name, "nft", "delete", "table", "inet", TABLE);
        isolated = false;
    }

    @Override
    public void close() throws Exception {
        if (isolated) {
            run(bridge.work, true, "ip", "netns", "exec", name, "nft", "delete", "table", "inet", TABLE);
        }
        ip(bridge.work, true, "link", "del", hostVeth);
        ip(bridge.work, true, "netns", "del", name);
    }

    private static void ip(Path work, boolean mayFail, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("ip"));
        cmd.addAll(List.of(args));
        run(work, mayFail, cmd.toArray(new String[0]));
    }

    private static void run(Path work, boolean mayFail, String... cmd) throws Exception {
        java.nio.file.Files.createDirectories(work);
        try (SystemProcess p = SystemProcess.start("netns", work, List.of(cmd), Map.of())) {
            int exit = p.waitFor(30);
            if (!mayFail) {
                assertEquals(0, exit, String.join(" ", cmd) + p.describe());
            }
        } catch (IOException e) {
            if (!mayFail) {
                throw new AssertionError(String.join(" ", cmd) + ": " + e
                    + " (network partitions need root, iproute2 and nftables)", e);
            }
        }
    }
}
