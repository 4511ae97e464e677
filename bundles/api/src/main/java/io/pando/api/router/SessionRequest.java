package io.pando.api.router;

import java.net.InetSocketAddress;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.regex.Pattern;
import org.osgi.annotation.versioning.ProviderType;

/**
 * What an administrator asks for when creating a session.
 *
 * @param name a label, 1 to 64 characters {@code [A-Za-z0-9._-]}
 * @param program the name of the active program (the {@code name} property of its service)
 * @param destination where the aggregation unit sends the processed stream over ARTP
 * @param units how many units serve the session, at least 1; 0 means every unit available
 * @param loadBalancing the load-balancing policy for this session; empty means the router's selected policy
 * @param reorderWindowMillis the reorder window's hold time for this session in [0, 10000]; empty means the
 *     aggregation strategy's default
 * @param parameters program parameters (e.g. a key), at most 64 entries; keys 1 to 64 characters
 *     {@code [A-Za-z0-9._-]}, values at most 4096 characters
 * @param execution where the program runs and its resource limits ({@link Execution#DEFAULT} lets the router
 *     choose)
 */
@ProviderType
public record SessionRequest(String name, String program, InetSocketAddress destination, int units,
    Optional<String> loadBalancing, Optional<Long> reorderWindowMillis, Map<String, String> parameters, Execution execution) {

    /** Most program parameters. */
    public static final int MAX_PARAMETERS = 64;
    /** Longest parameter value. */
    public static final int MAX_PARAMETER_VALUE = 4096;
    /** Longest reorder window hold time. */
    public static final long MAX_REORDER_WINDOW_MILLIS = 10_000;

    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9._-]{1,64}");

    /** @throws IllegalArgumentException naming the field and the rule it breaks */
    public SessionRequest {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(program, "program");
        Objects.requireNonNull(destination, "destination");
        Objects.requireNonNull(loadBalancing, "loadBalancing");
        Objects.requireNonNull(reorderWindowMillis, "reorderWindowMillis");
        Objects.requireNonNull(parameters, "parameters");
        Objects.requireNonNull(execution, "execution");
        if (!NAME.matcher(name).matches()) {
            throw new IllegalArgumentException("a session name has 1 to 64 characters [A-Za-z0-9._-], got '"
                + name + "'");
        }
        if (!NAME.matcher(program).matches()) {
            throw new IllegalArgumentException("a program name has 1 to 64 characters [A-Za-z0-9._-], got '"
                + program + "'");
        }
        if (destination.isUnresolved()) {
            throw new IllegalArgumentException("destination " + destination.getHostString()
                + " does not resolve to an address");
        }
        if (destination.getPort() == 0) {
            throw new IllegalArgumentException("destination port must be in [1, 65535], got 0");
        }
        if (units < 0) {
            throw new IllegalArgumentException("units must be >= 1 (or 0 for every unit), got " + units);
        }
        loadBalancing.ifPresent(p -> {
            if (!NAME.matcher(p).matches()) {
                throw new IllegalArgumentException("a policy name has 1 to 64 characters [A-Za-z0-9._-], got '"
                    + p + "'");
            }
        });
        reorderWindowMillis.ifPresent(ms -> {
            if (ms < 0 || ms > MAX_REORDER_WINDOW_MILLIS) {
                throw new IllegalArgumentException("the reorder window is in [0, " + MAX_REORDER_WINDOW_MILLIS
                    + "] ms, got " + ms);
            }
        });
        if (parameters.size() > MAX_PARAMETERS) {
            throw new IllegalArgumentException("at most " + MAX_PARAMETERS + " program parameters, got "
                + parameters.size());
        }
        for (Map.Entry<String, String> e : parameters.entrySet()) {
            if (e.getKey() == null || !NAME.matcher(e.getKey()).matches()) {
                throw new IllegalArgumentException("a parameter name has 1 to 64 characters [A-Za-z0-9._-], got '"
                    + e.getKey() + "'");
            }
            if (e.getValue() == null || e.getValue().length() > MAX_PARAMETER_VALUE) {
                throw new IllegalArgumentException("parameter " + e.getKey() + " has a value of at most "
                    + MAX_PARAMETER_VALUE + " characters");
            }
        }
        parameters = Map.copyOf(parameters);
    }

    /**
     * A request with the router's default {@link Execution}.
     *
     * @param name see the record
     * @param program see the record
     * @param destination see the record
     * @param units see the record
     * @param loadBalancing see the record
     * @param reorderWindowMillis see the record
     * @param parameters see the record
     */
    public SessionRequest(String name, String program, InetSocketAddress destination, int units,
        Optional<String> loadBalancing, Optional<Long> reorderWindowMillis, Map<String, String> parameters) {
        this(name, program, destination, units, loadBalancing, reorderWindowMillis, parameters, Execution.DEFAULT);
    }
}
