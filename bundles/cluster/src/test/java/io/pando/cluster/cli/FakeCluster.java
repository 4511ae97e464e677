package io.pando.cluster.cli;

import io.pando.cluster.ClusterFeatureAdminService;
import io.pando.cluster.ClusterMember;
import io.pando.cluster.ClusterMember.MemberRole;
import io.pando.cluster.ClusterService;
import io.pando.cluster.NoQuorumException;
import io.pando.cluster.NodeFeatureReport;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.SortedSet;
import java.util.TreeMap;
import java.util.TreeSet;

/** A cluster in memory for the commands' tests. */
final class FakeCluster implements ClusterService, ClusterFeatureAdminService {

    final List<ClusterMember> members = new ArrayList<>();
    final SortedSet<String> desired = new TreeSet<>();
    final Map<String, NodeFeatureReport> reports = new TreeMap<>();
    int quorumSize = 2;

    FakeCluster member(String name, boolean local) {
        members.add(new ClusterMember("id-" + name, name, "10.0.0." + (members.size() + 1) + ":5701",
            members.isEmpty() ? MemberRole.LEADER : MemberRole.MEMBER, Set.of("unit"),
            Instant.parse("2026-11-26T01:00:00Z").plusSeconds(members.size()), local));
        return this;
    }

    @Override public String clusterName() { return "pando"; }
    @Override public ClusterMember localMember() { return members.stream().filter(ClusterMember::local).findFirst().orElseThrow(); }
    @Override public List<ClusterMember> members() { return List.copyOf(members); }
    @Override public Optional<ClusterMember> leader() { return members.stream().findFirst(); }
    @Override public boolean isLeader() { return hasQuorum() && members.get(0).local(); }
    @Override public boolean hasQuorum() { return members.size() >= quorumSize; }
    @Override public int quorumSize() { return quorumSize; }
    @Override public void requireLeader(String action) { requireQuorum(action); }

    @Override
    public void requireQuorum(String action) {
        if (!hasQuorum()) {
            throw new NoQuorumException("refused to " + action + ": no quorum");
        }
    }

    @Override public SortedSet<String> desiredFeatures() { return new TreeSet<>(desired); }

    @Override
    public boolean addDesiredFeature(String feature) {
        if (feature.contains(" ")) {
            throw new IllegalArgumentException("bad feature name '" + feature + "'");
        }
        requireQuorum("add desired feature " + feature);
        return desired.add(feature);
    }

    @Override
    public boolean removeDesiredFeature(String feature) {
        requireQuorum("remove desired feature " + feature);
        return desired.remove(feature);
    }

    @Override public Map<String, NodeFeatureReport> reports() { return reports; }
}
