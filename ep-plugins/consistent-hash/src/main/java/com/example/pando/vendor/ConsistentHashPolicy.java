package com.example.pando.vendor;

import io.pando.api.policy.LoadBalancingPolicy;
import io.pando.api.program.Datagram;
import io.pando.api.session.ActiveSession;
import io.pando.api.unit.UnitId;
import io.pando.api.unit.UnitLoad;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * Consistent hashing on flow: every datagram of a flow goes to one unit, and when a unit joins or leaves only
 * about 1/n of the flows move (those that the new unit takes, or those of the unit that left).
 *
 * <p>Each candidate unit owns {@link #VIRTUAL_NODES} points on a 64-bit ring, placed by hashing the unit's
 * name; a datagram's key is a 64-bit hash of its session id and flow id, and it goes to the owner of the first
 * point at or after the key. The ring depends only on the units' names, never on their order or on the node
 * that computes it, so every distribution unit agrees.
 *
 * <p><b>Threading and memory:</b> {@link #choose} runs concurrently on the distribution unit's I/O threads. It
 * takes no lock and allocates nothing once the ring for a candidate list exists: rings are built when a list
 * is first seen and cached for the {@link #CACHED_RINGS} most recent lists; a lookup compares the list with
 * the cached ones element by element and binary-searches the ring.
 *
 * <p>Shipped as a plain jar: {@code META-INF/services/io.pando.api.policy.LoadBalancingPolicy} names this
 * class, and SPI Fly registers it as an OSGi service. {@link java.util.ServiceLoader} needs the public no-arg
 * constructor.
 */
public final class ConsistentHashPolicy implements LoadBalancingPolicy {

    /** The name this policy is selected by ({@code pando:policy-set load-balancing consistent-hash}). */
    public static final String NAME = "consistent-hash";
    /**
     * Points per unit on the ring. A unit's share of the ring varies by about {@code 0.87 / sqrt(points)} around
     * its fair share: 512 points give about 4 %, so 4 units each get within 15 % of a quarter with
     * overwhelming probability (100 points would give 9 %, and a unit 15 % off in a third of all 4-unit sets).
     */
    public static final int VIRTUAL_NODES = 512;
    /** How many distinct candidate lists keep their ring (12 bytes per point: 24 KiB for 4 units). */
    public static final int CACHED_RINGS = 32;

    private static final long GOLDEN = 0x9E3779B97F4A7C15L;
    private static final long FLOW_SEED = 0xD1B54A32D192ED03L;

    private final int virtualNodes;
    /** The rings of the most recently seen candidate lists, newest first; replaced as a whole. */
    private volatile Ring[] rings = new Ring[0];

    /** The constructor {@link java.util.ServiceLoader} calls. */
    public ConsistentHashPolicy() {
        this(VIRTUAL_NODES);
    }

    ConsistentHashPolicy(int virtualNodes) {
        if (virtualNodes < 1 || virtualNodes > 4096) {
            throw new IllegalArgumentException("virtual nodes per unit must be in [1, 4096], got " + virtualNodes);
        }
        this.virtualNodes = virtualNodes;
    }

    @Override
    public UnitId choose(Datagram datagram, ActiveSession session, List<UnitId> candidates,
        Map<UnitId, UnitLoad> loads) {
        if (candidates.size() == 1) {
            return candidates.get(0);
        }
        Ring ring = ring(candidates);
        return candidates.get(ring.owner(key(session.id().value(), datagram.flow().value())));
    }

    /**
     * The ring key of a flow: a 64-bit mix of session and flow, so that flow 1 of every session does not land on
     * the same unit.
     */
    static long key(long session, long flow) {
        return mix(mix(session ^ FLOW_SEED) + (flow + 1) * GOLDEN);
    }

    private Ring ring(List<UnitId> candidates) {
        Ring[] cached = rings;
        for (Ring r : cached) {
            if (r.matches(candidates)) {
                return r;
            }
        }
        synchronized (this) {
            cached = rings;
            for (Ring r : cached) {
                if (r.matches(candidates)) {
                    return r;
                }
            }
            Ring built = Ring.build(List.copyOf(candidates), virtualNodes);
            Ring[] next = new Ring[Math.min(cached.length + 1, CACHED_RINGS)];
            next[0] = built;
            System.arraycopy(cached, 0, next, 1, next.length - 1);
            rings = next;
            return built;
        }
    }

    /** @return how many rings are cached; for tests */
    int cachedRings() {
        return rings.length;
    }

    /** The MurmurHash3 64-bit finalizer: every input bit affects every output bit. */
    static long mix(long z) {
        z = (z ^ (z >>> 33)) * 0xFF51AFD7ED558CCDL;
        z = (z ^ (z >>> 33)) * 0xC4CEB9FE1A85EC53L;
        return z ^ (z >>> 33);
    }

    /** 64-bit FNV-1a over the name's characters, then mixed. */
    static long hash(String name) {
        long h = 0xCBF29CE484222325L;
        for (int i = 0; i < name.length(); i++) {
            h = (h ^ name.charAt(i)) * 0x100000001B3L;
        }
        return mix(h);
    }

    /** One candidate list's ring: sorted points and, for each point, the index of its unit in the list. */
    private static final class Ring {
        private final List<UnitId> units;
        private final long[] points;
        private final int[] owners;

        private Ring(List<UnitId> units, long[] points, int[] owners) {
            this.units = units;
            this.points = points;
            this.owners = owners;
        }

        static Ring build(List<UnitId> units, int virtualNodes) {
            int n = units.size();
            long[] raw = new long[n * virtualNodes];
            Integer[] order = new Integer[raw.length];
            for (int u = 0; u < n; u++) {
                long seed = hash(units.get(u).value());
                for (int v = 0; v < virtualNodes; v++) {
                    int i = u * virtualNodes + v;
                    raw[i] = mix(seed + (v + 1) * GOLDEN);
                    order[i] = i;
                }
            }
            // ties (practically never) go to the smaller name, so the ring does not depend on the list's order
            Arrays.sort(order, (a, b) -> {
                int c = Long.compare(raw[a], raw[b]);
                return c != 0 ? c : units.get(a / virtualNodes).value().compareTo(units.get(b / virtualNodes).value());
            });
            long[] points = new long[raw.length];
            int[] owners = new int[raw.length];
            for (int i = 0; i < raw.length; i++) {
                points[i] = raw[order[i]];
                owners[i] = order[i] / virtualNodes;
            }
            return new Ring(units, points, owners);
        }

        boolean matches(List<UnitId> candidates) {
            int n = units.size();
            if (candidates.size() != n) {
                return false;
            }
            for (int i = 0; i < n; i++) {
                UnitId a = units.get(i);
                UnitId b = candidates.get(i);
                if (a != b && !a.equals(b)) {
                    return false;
                }
            }
            return true;
        }

        /** @return the index of the unit that owns {@code key}: the first point at or after it, wrapping */
        int owner(long key) {
            int i = Arrays.binarySearch(points, key);
            if (i < 0) {
                i = -i - 1;
                if (i == points.length) {
                    i = 0;
                }
            }
            return owners[i];
        }
    }
}
