package io.pando.api.router;

import java.util.Arrays;
import java.util.stream.Collectors;

/**
 * Where a session's active program runs (graded isolation).
 *
 * <ul>
 * <li>{@link #IN_PROCESS}: in the router's JVM, on the unit's thread — the fastest, for trusted programs that an
 * administrator installed. A CPU budget is measured and overruns are counted, but a program that never returns
 * cannot be stopped.</li>
 * <li>{@link #PROCESS}: in a sandbox — a child JVM with its own OSGi framework, confined by bubblewrap where
 * available and by a cgroup with CPU and memory caps. An overrun of the CPU budget, a crash or an exhausted heap
 * ends the sandbox (never the router); the unit restarts it with back-off. The default for uploaded programs.</li>
 * </ul>
 */
public enum Isolation {

    /** In the router's JVM. */
    IN_PROCESS("in-process"),

    /** In a sandboxed child JVM. */
    PROCESS("process");

    private final String label;

    Isolation(String label) {
        this.label = label;
    }

    /** @return the name used by commands and configuration: {@code in-process} or {@code process} */
    public String label() {
        return label;
    }

    /**
     * @param label {@code in-process} or {@code process}
     * @return the isolation level
     * @throws IllegalArgumentException naming the accepted values
     */
    public static Isolation of(String label) {
        for (Isolation i : values()) {
            if (i.label.equals(label)) {
                return i;
            }
        }
        throw new IllegalArgumentException("isolation is one of " + Arrays.stream(values()).map(Isolation::label)
            .collect(Collectors.joining(", ")) + ", got '" + label + "'");
    }

    @Override
    public String toString() {
        return label;
    }
}
