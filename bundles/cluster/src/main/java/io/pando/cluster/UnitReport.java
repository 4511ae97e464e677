package io.pando.cluster;

import io.pando.api.unit.UnitLoad;
import java.util.Objects;
import java.util.Set;
import java.util.SortedSet;
import java.util.TreeSet;
import java.util.regex.Pattern;
import org.osgi.annotation.versioning.ProviderType;

/**
 * One parallel AR unit of one node, as that node last reported it to the cluster.
 *
 * @param memberId the reporting member's id ({@link ClusterMember#id()})
 * @param member the reporting member's name
 * @param load the unit's load when reported (its id, time, CPU, buffer pool, sessions, queued datagrams)
 * @param scheduler the unit's packet scheduler
 * @param programs the active programs the unit can run, sorted
 * @since 1.1
 */
@ProviderType
public record UnitReport(String memberId, String member, UnitLoad load, String scheduler,
    SortedSet<String> programs) {

    /** At most this many programs are reported per unit. */
    public static final int MAX_PROGRAMS = 1024;
    private static final Pattern TEXT = Pattern.compile("[\\x21-\\x7e]{1,128}");

    /** Copies the programs; checks every field. */
    public UnitReport {
        text("memberId", memberId);
        text("member", member);
        Objects.requireNonNull(load, "load");
        text("scheduler", scheduler);
        Objects.requireNonNull(programs, "programs");
        if (programs.size() > MAX_PROGRAMS) {
            throw new IllegalArgumentException("a unit report lists at most " + MAX_PROGRAMS + " programs, got "
                + programs.size());
        }
        programs.forEach(p -> text("program", p));
        programs = java.util.Collections.unmodifiableSortedSet(new TreeSet<>(programs));
    }

    /**
     * @param memberId see the record
     * @param member see the record
     * @param load see the record
     * @param scheduler see the record
     * @param programs see the record, in any order
     * @return the report
     */
    public static UnitReport of(String memberId, String member, UnitLoad load, String scheduler,
        Set<String> programs) {
        return new UnitReport(memberId, member, load, scheduler, new TreeSet<>(programs));
    }

    private static void text(String what, String value) {
        if (value == null || !TEXT.matcher(value).matches()) {
            throw new IllegalArgumentException(what + " must be 1-128 printable ASCII characters without spaces, got "
                + (value == null ? "none" : "'" + value + "'"));
        }
    }
}
