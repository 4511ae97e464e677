package io.pando.client.cli;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The flow ids {@code --flows} takes: comma-separated and/or repeated ({@code --flows 1,2} or {@code --flows 1
 * --flows 2}), each an unsigned 32-bit number as ARTP's FLOW field carries it (docs/artp.md, 9.3), each once, at most
 * {@link #MAX_FLOWS} (a Pando session has no more).
 */
final class FlowList {

    /** Most flows a list may name: the most a Pando session has. */
    static final int MAX_FLOWS = 64;
    /** Largest flow id: 2^32 - 1. */
    static final long MAX_FLOW = 0xFFFF_FFFFL;

    private static final Pattern ID = Pattern.compile("[0-9]{1,10}");

    private FlowList() {
    }

    /**
     * @param option the option, for messages
     * @param values what was given, each one or more ids separated by commas
     * @return the ids in the order given
     * @throws IllegalArgumentException naming the option and what is wrong
     */
    static long[] parse(String option, List<String> values) {
        List<Long> ids = new ArrayList<>();
        Set<Long> seen = new HashSet<>();
        for (String value : values) {
            for (String part : value.split(",", -1)) {
                String id = part.strip();
                if (id.isEmpty()) {
                    throw new IllegalArgumentException(option + " takes flow ids separated by commas, got '" + value
                        + "' (an empty id)");
                }
                long flow = ID.matcher(id).matches() ? Long.parseLong(id) : -1;
                if (flow < 0 || flow > MAX_FLOW) {
                    throw new IllegalArgumentException(option + ": a flow id is a whole number in [0, " + MAX_FLOW
                        + "], got '" + id + "'");
                }
                if (!seen.add(flow)) {
                    throw new IllegalArgumentException(option + ": flow " + flow + " is given twice");
                }
                ids.add(flow);
            }
        }
        if (ids.size() > MAX_FLOWS) {
            throw new IllegalArgumentException(option + ": at most " + MAX_FLOWS + " flows, got " + ids.size());
        }
        return ids.stream().mapToLong(Long::longValue).toArray();
    }
}
