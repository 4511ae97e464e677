package io.pando.api.router;

import java.util.Objects;
import java.util.Optional;
import org.osgi.annotation.versioning.ProviderType;

/**
 * How a session's active program is executed: its isolation level and resource limits.
 *
 * @param isolation where the program runs; empty lets the router choose by the program's origin: uploaded
 *     programs run in a {@link Isolation#PROCESS process} sandbox, programs an administrator installed as
 *     features run {@link Isolation#IN_PROCESS in-process}
 * @param cpuBudgetMicros the CPU time one datagram may take, in µs, in [{@value #MIN_CPU_BUDGET_MICROS},
 *     {@value #MAX_CPU_BUDGET_MICROS}]; a sandboxed program over budget is stopped and the datagram counted
 * @param memoryMb the memory of a sandbox in MiB (heap, metaspace, code, stacks), in [{@value #MIN_MEMORY_MB},
 *     {@value #MAX_MEMORY_MB}]
 * @param cpus the CPU share of a sandbox (e.g. 0.5 = half a core), in [0.01, 64]
 * @since 1.1
 */
@ProviderType
public record Execution(Optional<Isolation> isolation, long cpuBudgetMicros, int memoryMb, double cpus) {

    /** Smallest CPU budget per datagram (µs). */
    public static final long MIN_CPU_BUDGET_MICROS = 100;
    /** Largest CPU budget per datagram (µs). */
    public static final long MAX_CPU_BUDGET_MICROS = 10_000_000;
    /** Default CPU budget per datagram (µs). */
    public static final long DEFAULT_CPU_BUDGET_MICROS = 20_000;
    /** Smallest sandbox memory (MiB). */
    public static final int MIN_MEMORY_MB = 64;
    /** Largest sandbox memory (MiB). */
    public static final int MAX_MEMORY_MB = 8192;
    /** Default sandbox memory (MiB). */
    public static final int DEFAULT_MEMORY_MB = 128;
    /** Default CPU share of a sandbox. */
    public static final double DEFAULT_CPUS = 0.5;

    /** The router's choice of isolation, default budget, memory and CPU share. */
    public static final Execution DEFAULT = new Execution(Optional.empty(), DEFAULT_CPU_BUDGET_MICROS,
        DEFAULT_MEMORY_MB, DEFAULT_CPUS);

    /** @throws IllegalArgumentException naming the field and the rule it breaks */
    public Execution {
        Objects.requireNonNull(isolation, "isolation");
        if (cpuBudgetMicros < MIN_CPU_BUDGET_MICROS || cpuBudgetMicros > MAX_CPU_BUDGET_MICROS) {
            throw new IllegalArgumentException("the CPU budget per datagram is in [" + MIN_CPU_BUDGET_MICROS + ", "
                + MAX_CPU_BUDGET_MICROS + "] µs, got " + cpuBudgetMicros);
        }
        if (memoryMb < MIN_MEMORY_MB || memoryMb > MAX_MEMORY_MB) {
            throw new IllegalArgumentException("sandbox memory is in [" + MIN_MEMORY_MB + ", " + MAX_MEMORY_MB
                + "] MiB, got " + memoryMb);
        }
        if (!(cpus >= 0.01 && cpus <= 64)) {
            throw new IllegalArgumentException("the CPU share of a sandbox is in [0.01, 64], got " + cpus);
        }
    }

    /**
     * @param i the isolation level
     * @return this execution with {@code i} chosen explicitly
     */
    public Execution withIsolation(Isolation i) {
        return new Execution(Optional.of(i), cpuBudgetMicros, memoryMb, cpus);
    }
}
