/**
 * System tests of the Pando router: each test class copies the Karaf assembly into
 * {@code target/system-tests/<name>/pando}, gives it its own SSH and ingress ports, starts it with {@code bin/start},
 * drives it with {@code bin/pando console} and pushes real streams through it with {@code bin/pando artp send} and
 * {@code bin/pando artp recv}, as an administrator's script would.
 *
 * <ul>
 * <li>{@link io.pando.system.RouterIT} (acceptance 1): one node, passthrough over two units with round-robin,
 * AES-GCM encryption, bad console input. SSH 8301, ingress 17400, receivers 17401-17409.</li>
 * <li>{@link io.pando.system.HotSwapIT} (acceptance 2 and 3): policies, the program bundle, the policies bundle and
 * a vendor plain-jar policy swapped while a stream runs. SSH 8302, ingress 17420, receivers 17421-17439.</li>
 * <li>{@link io.pando.system.MultiNodeIT} (acceptance 1, three nodes): distribution and aggregation on node A,
 * one unit on each of nodes B and C, peers set by configuration ({@code bundles/remote/README.md}). SSH 8401-8403,
 * every other port in 17500-17529.</li>
 * <li>{@link io.pando.system.HostileProgramsIT} and {@link io.pando.system.ProgramUploadIT}: uploaded programs,
 * the hostile corpus in sandboxes, uploads under load and bad uploads (docs/ee.md). SSH 8601 and 8701, ingress
 * 17700 and 17800.</li>
 * <li>{@link io.pando.system.MultiFlowIT}: multi-flow sessions with the uploaded packet-duplicator and rtp-sync
 * programs. SSH 8801, ingress 17900, receivers 17901-17919.</li>
 * <li>{@link io.pando.system.ClusterIT}: four nodes form a cluster (docs/cluster.md), a desired feature reaches
 * every node and a late joiner, members killed with SIGKILL are detected, the leader moves, a lone node has no
 * quorum. SSH 8951-8954, ingress 17951-17954, cluster 5951-5954.</li>
 * <li>{@link io.pando.system.DataPartitionIT} (cluster issue, acceptance 2): a router node and two unit nodes,
 * each in a network namespace ({@link io.pando.system.NetNs}); a unit node, the other, then the router node cut off
 * by nftables for 5 s under a stream, nothing lost. Each node's ports in its namespace: 18800-18839.</li>
 * <li>{@link io.pando.system.ControlIT} (control unit, acceptance 1 and 7): the three nodes of MultiNodeIT plus
 * {@code feature:install pando-control} on node A; users open, list and close sessions with {@code pando session}
 * (docs/control.md): a stream through a user's session, other users, wrong passwords and quotas refused with their
 * reasons. SSH 9001-9003, every other port in 18000-18099.</li>
 * <li>{@link io.pando.system.ControlLeaderLossIT} (cluster issue, acceptance 2, loss of the control-unit leader):
 * three whole routers (pando-all) with {@code pando-cluster} and {@code pando-control} on loopback; three times a
 * session is opened through the leader with {@code pando session --control L1,L2,L3}, a paced stream goes into the
 * ingress OPENED names, the leader is killed with SIGKILL at a seeded random moment; every datagram must arrive
 * exactly once, the survivors agree on the next leader, which admits an OPEN and still lists the stream's session,
 * and no session is on two routers; the killed node rejoins as the youngest. Figures printed with
 * {@code [leader-loss]}. SSH 9101-9103, cluster 5961-5963, every other port in 18100-18149.</li>
 * <li>{@link io.pando.system.ScaleOutBenchmark} (cluster issue, acceptance 5): not a test and not run by
 * {@code verify}; on request ({@code -Dpando.bench=scale-out}, as root) a router node and up to eight unit nodes,
 * each capped by a cgroup ({@link io.pando.system.CpuCap}), measure the AES-GCM rate over k units (BENCHMARKS.md).
 * SSH 9101-9109, every other port in 18100-18199 (the ports of ControlLeaderLossIT: not run together).</li>
 * </ul>
 *
 * <p>Run them alone with {@code ./mvnw -o -pl test/system verify -Dit.test='RouterIT,HotSwapIT,MultiNodeIT'} after
 * {@code ./mvnw -o install -DskipTests -pl '!test/osgi,!test/system,!test/benchmarks'} (the assembly). Every
 * process leaves {@code NAME.cmd}, {@code NAME.out} and {@code NAME.err} in the work directory, console calls under
 * {@code console/}, so a failing step can be rerun by hand; the node's log is {@code pando/data/log/karaf.log}.
 * The node and the client processes run with Netty's paranoid leak detection (acquire and release records), and a
 * test fails on a {@code LEAK:} report from any of them.
 */
package io.pando.system;
