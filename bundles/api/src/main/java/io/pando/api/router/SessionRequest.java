package io.pando.api.router;

import io.pando.api.session.Flow;
import io.pando.api.session.FlowId;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
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
 * @param flows the session's flows, at most {@link #MAX_FLOWS}, ids and names unique: the flows senders may tag
 *     their datagrams with and the program may emit on, each with the destination of its results. Flow 0 is the
 *     session's default flow: its destination is {@code destination}; it is added (named {@code default}) when
 *     the list has no flow 0. The record holds them sorted by id.
 * @param key the session's key: when present, a sender must know it to connect and every ARTP packet of its
 *     connection is authenticated under it (docs/artp.md, 16); empty means an unkeyed session, which anyone who
 *     knows its id may send into. The record's {@code toString()} never shows the key.
 * @since 1.2 (flows), 1.3 (key)
 */
@ProviderType
public record SessionRequest(String name, String program, InetSocketAddress destination, int units,
    Optional<String> loadBalancing, Optional<Long> reorderWindowMillis, Map<String, String> parameters, Execution execution,
    List<Flow> flows, Optional<SessionKey> key) {

    /** Most program parameters. */
    public static final int MAX_PARAMETERS = 64;
    /** Longest parameter value. */
    public static final int MAX_PARAMETER_VALUE = 4096;
    /** Most flows in a session. */
    public static final int MAX_FLOWS = 64;
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
        Objects.requireNonNull(flows, "flows");
        Objects.requireNonNull(key, "key");
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
        flows = checkFlows(flows, destination);
    }

    private static List<Flow> checkFlows(List<Flow> flows, InetSocketAddress destination) {
        List<Flow> all = new ArrayList<>(flows.size() + 1);
        Set<FlowId> ids = new HashSet<>();
        Set<String> names = new HashSet<>();
        boolean hasDefault = false;
        for (Flow f : flows) {
            Objects.requireNonNull(f, "flow");
            if (!ids.add(f.id())) {
                throw new IllegalArgumentException("flow " + f.id() + " is given twice");
            }
            if (!names.add(f.name())) {
                throw new IllegalArgumentException("flow name '" + f.name() + "' is given twice");
            }
            if (f.id().value() == 0) {
                hasDefault = true;
                if (!f.destination().equals(destination)) {
                    throw new IllegalArgumentException("flow 0 is the session's default flow: its destination must be "
                        + "the session's destination " + destination + ", got " + f.destination());
                }
            }
            if (f.destination().isUnresolved() || f.destination().getPort() == 0) {
                throw new IllegalArgumentException("flow " + f.id() + " needs a resolved destination with a port, got "
                    + f.destination());
            }
            all.add(f);
        }
        if (!hasDefault) {
            if (!names.add("default")) {
                throw new IllegalArgumentException("the name 'default' is taken by flow 0 (the session's default flow)");
            }
            all.add(new Flow(FlowId.of(0), "default", destination));
        }
        if (all.size() > MAX_FLOWS) {
            throw new IllegalArgumentException("at most " + MAX_FLOWS + " flows in a session, got " + all.size());
        }
        all.sort(Comparator.comparingLong(f -> f.id().value()));
        return List.copyOf(all);
    }

    /**
     * An unkeyed request.
     *
     * @param name see the record
     * @param program see the record
     * @param destination see the record
     * @param units see the record
     * @param loadBalancing see the record
     * @param reorderWindowMillis see the record
     * @param parameters see the record
     * @param execution see the record
     * @param flows see the record
     */
    public SessionRequest(String name, String program, InetSocketAddress destination, int units,
        Optional<String> loadBalancing, Optional<Long> reorderWindowMillis, Map<String, String> parameters,
        Execution execution, List<Flow> flows) {
        this(name, program, destination, units, loadBalancing, reorderWindowMillis, parameters, execution, flows,
            Optional.empty());
    }

    /**
     * @param key the session key, exactly {@link SessionKey#LENGTH} bytes (copied)
     * @return this request with that key
     * @throws IllegalArgumentException when {@code key} is not 32 bytes long
     * @since 1.3
     */
    public SessionRequest withKey(byte[] key) {
        return withKey(SessionKey.of(key));
    }

    /**
     * @param key the session key
     * @return this request with that key
     * @since 1.3
     */
    public SessionRequest withKey(SessionKey key) {
        return new SessionRequest(name, program, destination, units, loadBalancing, reorderWindowMillis, parameters,
            execution, flows, Optional.of(Objects.requireNonNull(key, "key")));
    }

    /** @return whether senders must know the session's key */
    public boolean keyed() {
        return key.isPresent();
    }

    /**
     * A request whose session has one flow, flow 0, to {@code destination}.
     *
     * @param name see the record
     * @param program see the record
     * @param destination see the record
     * @param units see the record
     * @param loadBalancing see the record
     * @param reorderWindowMillis see the record
     * @param parameters see the record
     * @param execution see the record
     */
    public SessionRequest(String name, String program, InetSocketAddress destination, int units,
        Optional<String> loadBalancing, Optional<Long> reorderWindowMillis, Map<String, String> parameters,
        Execution execution) {
        this(name, program, destination, units, loadBalancing, reorderWindowMillis, parameters, execution, List.of(),
            Optional.empty());
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
        this(name, program, destination, units, loadBalancing, reorderWindowMillis, parameters, Execution.DEFAULT,
            List.of(), Optional.empty());
    }
}
