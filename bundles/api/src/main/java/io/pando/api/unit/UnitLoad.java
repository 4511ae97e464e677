package io.pando.api.unit;

import java.time.Instant;
import java.util.Objects;
import org.osgi.annotation.versioning.ProviderType;

/**
 * A load report of one unit at one instant. Units report periodically; a report older than the reporting
 * period is stale and policies should treat it with care.
 *
 * @param unit the reporting unit
 * @param at when the unit measured
 * @param cpu CPU used by the unit's processing over the last period, as a fraction of what it may use, in
 *        {@code [0, 1]}
 * @param bufferUsed bytes held in the unit's shared buffer pool, in {@code [0, bufferCapacity]}
 * @param bufferCapacity size of the unit's shared buffer pool in bytes, {@code > 0}
 * @param sessions the number of sessions the unit serves, {@code >= 0}
 * @param queuedDatagrams datagrams waiting for processing or sending, {@code >= 0}
 */
@ProviderType
public record UnitLoad(UnitId unit, Instant at, double cpu, long bufferUsed, long bufferCapacity, int sessions,
    long queuedDatagrams) {

    /**
     * @throws NullPointerException if {@code unit} or {@code at} is null
     * @throws IllegalArgumentException if a number is outside its range (including NaN)
     */
    public UnitLoad {
        Objects.requireNonNull(unit, "unit");
        Objects.requireNonNull(at, "at");
        if (!(cpu >= 0.0 && cpu <= 1.0)) {
            throw new IllegalArgumentException("cpu is a fraction in [0, 1], got " + cpu);
        }
        if (bufferCapacity <= 0) {
            throw new IllegalArgumentException("bufferCapacity must be > 0, got " + bufferCapacity);
        }
        if (bufferUsed < 0 || bufferUsed > bufferCapacity) {
            throw new IllegalArgumentException("bufferUsed must be in [0, " + bufferCapacity + "], got " + bufferUsed);
        }
        if (sessions < 0) {
            throw new IllegalArgumentException("sessions must be >= 0, got " + sessions);
        }
        if (queuedDatagrams < 0) {
            throw new IllegalArgumentException("queuedDatagrams must be >= 0, got " + queuedDatagrams);
        }
    }

    /** @return the fraction of the buffer pool in use, in {@code [0, 1]} */
    public double bufferFill() {
        return (double) bufferUsed / bufferCapacity;
    }
}
