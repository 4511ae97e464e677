package io.pando.cluster.impl;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.logging.Level;
import java.util.regex.Pattern;

/**
 * The validated configuration of a cluster member. Every rule a value breaks is reported with the configuration key
 * (as in PID {@code io.pando.cluster}) and the offending value.
 *
 * @param clusterName the cluster's name; members with another name never join
 * @param memberName this node's name, unique in the cluster
 * @param nodeRoles the router roles of this node, shown to the other members
 * @param bindAddress the local address the member binds and is reached at
 * @param port the member's TCP port
 * @param members the TCP-IP member list, {@code host:port} each (no multicast discovery)
 * @param heartbeatSeconds interval of the member heartbeats
 * @param failureTimeoutSeconds a member that sent no heartbeat for this long is removed
 * @param joinTimeoutSeconds how long joining waits for the listed members to answer
 * @param quorumSize the minimum number of members a partition needs to have quorum
 * @param directoryBackups synchronous backups of each directory record
 * @param mergeIntervalSeconds how often a member looks for a split-off partition to merge with
 * @param featureRetrySeconds how often failed desired features are tried again
 * @param engineLogLevel the level of the cluster engine's own log ({@code com.hazelcast})
 * @param publicAddress the {@code host:port} other members reach this one at when it differs from the bind address
 *     and port (NAT, port forwarding); empty if it does not
 * @param unitReportMillis how often this node reports its units to the cluster
 */
public record ClusterSettings(String clusterName, String memberName, Set<String> nodeRoles, String bindAddress,
    int port, List<String> members, int heartbeatSeconds, int failureTimeoutSeconds, int joinTimeoutSeconds,
    int quorumSize, int directoryBackups, int mergeIntervalSeconds, int featureRetrySeconds, Level engineLogLevel,
    String publicAddress, int unitReportMillis) {

    /** Default of {@code unit.report.interval.ms}. */
    public static final int DEFAULT_UNIT_REPORT_MILLIS = 1000;

    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,63}");
    private static final Pattern HOST = Pattern.compile("[A-Za-z0-9][A-Za-z0-9.-]{0,252}|\\[?[0-9A-Fa-f:]+]?");

    /** @throws IllegalArgumentException if a value breaks its rule */
    public ClusterSettings {
        name("cluster.name", clusterName);
        name("member.name", memberName);
        nodeRoles = Set.copyOf(nodeRoles);
        nodeRoles.forEach(r -> name("node.roles", r));
        host("bind.address", bindAddress);
        wildcard(bindAddress);
        range("port", port, 1, 65535);
        members = List.copyOf(members);
        range("heartbeat.interval.seconds", heartbeatSeconds, 1, 60);
        range("failure.timeout.seconds", failureTimeoutSeconds, 2, 3600);
        if (failureTimeoutSeconds <= heartbeatSeconds) {
            throw new IllegalArgumentException("failure.timeout.seconds (" + failureTimeoutSeconds
                + ") must be greater than heartbeat.interval.seconds (" + heartbeatSeconds + ")");
        }
        range("join.timeout.seconds", joinTimeoutSeconds, 1, 300);
        range("quorum.min.members", quorumSize, 1, 1000);
        range("directory.backups", directoryBackups, 0, 6);
        range("merge.interval.seconds", mergeIntervalSeconds, 1, 3600);
        range("features.retry.seconds", featureRetrySeconds, 1, 86400);
        range("unit.report.interval.ms", unitReportMillis, 100, 60_000);
        if (engineLogLevel == null) {
            throw new IllegalArgumentException("logging.level must be set");
        }
        publicAddress = publicAddress == null ? "" : publicAddress;
        if (!publicAddress.isEmpty() && members(new String[] {publicAddress}, port).size() != 1) {
            throw new IllegalArgumentException("public.address must be one HOST:PORT, got '" + publicAddress + "'");
        }
    }

    /** Settings with the default unit report interval; the other parameters as the record's. */
    public ClusterSettings(String clusterName, String memberName, Set<String> nodeRoles, String bindAddress,
        int port, List<String> members, int heartbeatSeconds, int failureTimeoutSeconds, int joinTimeoutSeconds,
        int quorumSize, int directoryBackups, int mergeIntervalSeconds, int featureRetrySeconds, Level engineLogLevel,
        String publicAddress) {
        this(clusterName, memberName, nodeRoles, bindAddress, port, members, heartbeatSeconds, failureTimeoutSeconds,
            joinTimeoutSeconds, quorumSize, directoryBackups, mergeIntervalSeconds, featureRetrySeconds,
            engineLogLevel, publicAddress, DEFAULT_UNIT_REPORT_MILLIS);
    }

    /** @return a copy with another unit report interval */
    public ClusterSettings withUnitReportMillis(int millis) {
        return new ClusterSettings(clusterName, memberName, nodeRoles, bindAddress, port, members, heartbeatSeconds,
            failureTimeoutSeconds, joinTimeoutSeconds, quorumSize, directoryBackups, mergeIntervalSeconds,
            featureRetrySeconds, engineLogLevel, publicAddress, millis);
    }

    /** @return the address other members reach this one at: the public address, or else the local address */
    public String advertisedAddress() {
        return publicAddress.isEmpty() ? localAddress() : members(new String[] {publicAddress}, port).get(0);
    }

    /** @return this member's own address, {@code host:port} */
    public String localAddress() {
        boolean ipv6 = bindAddress.indexOf(':') >= 0 && !bindAddress.startsWith("[");
        return (ipv6 ? "[" + bindAddress + "]" : bindAddress) + ":" + port;
    }

    /**
     * Reads and checks the configuration.
     *
     * @param c the configuration
     * @return the settings
     * @throws IllegalArgumentException if a value breaks its rule, naming the key and the value
     */
    public static ClusterSettings from(HazelcastCluster.Config c) {
        String bind = trim(c.bind_address());
        host("bind.address", bind);
        wildcard(bind);
        int port = c.port();
        range("port", port, 1, 65535);
        List<String> members = members(c.members(), port);
        String memberName = trim(c.member_name());
        if (memberName.isEmpty()) {
            memberName = (bind + "-" + port).replace(':', '-').replace("[", "").replace("]", "");
        }
        int quorum = c.quorum_min_members();
        if (quorum < 0) {
            throw new IllegalArgumentException("quorum.min.members must be >= 0 (0: a majority of members), got "
                + quorum);
        }
        if (quorum == 0) {
            quorum = majority(members.size());
        }
        Set<String> roles = new LinkedHashSet<>();
        for (String r : c.node_roles() == null ? new String[0] : c.node_roles()) {
            for (String s : r.split(",")) {
                if (!s.isBlank()) {
                    roles.add(s.strip());
                }
            }
        }
        return new ClusterSettings(trim(c.cluster_name()), memberName, roles, bind, port, members,
            c.heartbeat_interval_seconds(), c.failure_timeout_seconds(), c.join_timeout_seconds(), quorum,
            c.directory_backups(), c.merge_interval_seconds(), c.features_retry_seconds(),
            level(c.logging_level()), publicAddress(c.public_address(), port), c.unit_report_interval_ms());
    }

    /** @return the smallest majority of {@code n} members; 1 for a member list of zero or one */
    static int majority(int n) {
        return n / 2 + 1;
    }

    /**
     * @param entries {@code host} or {@code host:port} entries, also comma- or space-separated within one entry
     * @param defaultPort the port of an entry without one
     * @return the distinct members, {@code host:port} each, in the order given
     * @throws IllegalArgumentException on a malformed entry
     */
    static List<String> members(String[] entries, int defaultPort) {
        Set<String> out = new LinkedHashSet<>();
        for (String entry : entries == null ? new String[0] : entries) {
            for (String e : entry.split("[,\\s]+")) {
                if (e.isEmpty()) {
                    continue;
                }
                String host = e;
                String portText = null;
                if (e.startsWith("[")) {
                    int close = e.indexOf(']');
                    if (close < 0 || (close + 1 < e.length() && e.charAt(close + 1) != ':')) {
                        throw new IllegalArgumentException("members: bad address '" + e + "' ([IPV6]:PORT)");
                    }
                    host = e.substring(0, close + 1);
                    portText = close + 1 < e.length() ? e.substring(close + 2) : null;
                } else if (e.indexOf(':') >= 0 && e.indexOf(':') == e.lastIndexOf(':')) {
                    host = e.substring(0, e.indexOf(':'));
                    portText = e.substring(e.indexOf(':') + 1);
                }
                int port = defaultPort;
                if (portText != null) {
                    try {
                        port = Integer.parseInt(portText);
                    } catch (NumberFormatException x) {
                        throw new IllegalArgumentException("members: bad port in '" + e + "' (HOST or HOST:PORT)");
                    }
                    if (port < 1 || port > 65535) {
                        throw new IllegalArgumentException("members: port of '" + e + "' must be in [1, 65535]");
                    }
                }
                if (host.isEmpty()) {
                    throw new IllegalArgumentException("members: no host in '" + e + "' (HOST or HOST:PORT)");
                }
                if (!HOST.matcher(host).matches()) {
                    throw new IllegalArgumentException("members: bad host in '" + e + "' (HOST or HOST:PORT)");
                }
                out.add(host + ":" + port);
            }
        }
        return new ArrayList<>(out);
    }

    private static String publicAddress(String s, int port) {
        String v = trim(s);
        if (v.isEmpty()) {
            return "";
        }
        List<String> one = members(new String[] {v}, port);
        if (one.size() != 1) {
            throw new IllegalArgumentException("public.address must be one HOST or HOST:PORT, got '" + v + "'");
        }
        return one.get(0);
    }

    static Level level(String s) {
        String v = trim(s).toUpperCase(Locale.ROOT);
        try {
            return switch (v) {
                case "ERROR" -> Level.SEVERE;
                case "WARN" -> Level.WARNING;
                case "DEBUG" -> Level.FINE;
                case "TRACE" -> Level.FINEST;
                default -> Level.parse(v);
            };
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("logging.level must be one of OFF, ERROR, WARN, INFO, DEBUG, TRACE "
                + "(or a java.util.logging level), got '" + s + "'");
        }
    }

    private static String trim(String s) {
        return s == null ? "" : s.strip();
    }

    private static void name(String key, String v) {
        if (v == null || !NAME.matcher(v).matches()) {
            throw new IllegalArgumentException(key + " must be 1 to 64 letters, digits, '.', '_' or '-' (starting "
                + "with a letter or digit), got '" + v + "'");
        }
    }

    private static void host(String key, String v) {
        if (v == null || v.isEmpty() || !HOST.matcher(v).matches()) {
            throw new IllegalArgumentException(key + " must be an IP address or host name, got '" + v + "'");
        }
    }

    private static void wildcard(String bind) {
        String b = bind.replace("[", "").replace("]", "");
        if (b.equals("0.0.0.0") || b.matches("[0:]+")) {
            throw new IllegalArgumentException("bind.address must be an address of this machine that other members "
                + "can reach, not the wildcard " + bind);
        }
    }

    private static void range(String key, int v, int min, int max) {
        if (v < min || v > max) {
            throw new IllegalArgumentException(key + " must be in [" + min + ", " + max + "], got " + v);
        }
    }
}
