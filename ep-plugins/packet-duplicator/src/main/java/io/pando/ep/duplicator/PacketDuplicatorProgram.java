package io.pando.ep.duplicator;

import io.pando.api.program.ActiveProgram;
import io.pando.api.program.Datagram;
import io.pando.api.program.ProgramContext;
import io.pando.api.session.FlowId;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.ServiceScope;

/**
 * {@code packet-duplicator}: sends one input stream to several destinations. Every data datagram is emitted,
 * unchanged, once on each output flow, in the order the datagrams arrive.
 *
 * <p><b>Parameter</b> (optional): {@value #OUTPUTS_PARAMETER}, a comma-separated list of flow ids, for example
 * {@code 1,2,3}: 1 to {@value #MAX_OUTPUTS} distinct ids in [0, 4294967295]. Without it, a datagram goes to every
 * flow of the session except the flow it came in on. With it, every datagram (whatever flow it came in on) goes to
 * exactly the listed flows, which may include the input flow (an echo). Any other parameter is refused.
 * {@link #validate} checks the form; that the flows exist is checked on the first datagram, against
 * {@link ProgramContext#flows()}: a session without them fails every datagram with an
 * {@link IllegalArgumentException} naming the missing flow, which the router counts as a program error.
 *
 * <p><b>Control datagrams</b> carry no flow data: they are not duplicated; they are counted ({@code control}).
 *
 * <p><b>State, threading and memory.</b> The outputs (resolved once: a session's parameters and flows never
 * change) and the counters are kept in the instance, which the router calls for one datagram at a time. Per
 * datagram nothing is allocated beyond the router's view of the input: the same view is handed to every
 * {@code emit}, which copies it. Every {@value #STATS_EVERY} datagrams (and on the first) the instance writes its
 * counters to the session state key {@value #STATS_KEY} as text ({@code in=.. control=.. out.1=.. out.2=..}); on
 * a session spread over several units each instance writes its own counts and the last write wins.
 */
@Component(name = "io.pando.ep.duplicator", service = ActiveProgram.class, scope = ServiceScope.PROTOTYPE,
    configurationPolicy = ConfigurationPolicy.IGNORE, property = "name=" + PacketDuplicatorProgram.NAME)
public final class PacketDuplicatorProgram implements ActiveProgram {

    /** The program's name: the {@code name} service property sessions refer to. */
    public static final String NAME = "packet-duplicator";
    /** The optional parameter: the output flows. */
    public static final String OUTPUTS_PARAMETER = "outputs";
    /** The most output flows: as many as a session may have. */
    public static final int MAX_OUTPUTS = 64;
    /** The session state key the counters are written to. */
    public static final String STATS_KEY = "packet-duplicator.stats";
    /** How many input datagrams between two writes of the counters. */
    public static final int STATS_EVERY = 1000;

    /** Output flows in emit order; null until the first datagram. */
    private FlowId[] outputs;
    /** True when no outputs were given: the input flow is skipped. */
    private boolean allButInput;
    /** Set instead of {@link #outputs} when the session lacks a listed flow: thrown for every datagram. */
    private String unusable;
    /** Datagrams emitted on {@code outputs[i]}. */
    private long[] sent;
    private long in;
    private long control;

    /** Refuses unknown parameters and a malformed {@value #OUTPUTS_PARAMETER}. */
    @Override
    public void validate(Map<String, String> parameters) {
        outputs(parameters);
    }

    @Override
    public void process(Datagram datagram, ProgramContext ctx) {
        if (outputs == null && unusable == null) {
            resolve(ctx);
        }
        if (unusable != null) {
            throw new IllegalArgumentException(unusable);
        }
        if (datagram.isControl()) {
            control++;
        } else {
            FlowId input = datagram.flow();
            ByteBuffer data = datagram.data();
            FlowId[] out = outputs;
            boolean skip = allButInput;
            for (int i = 0; i < out.length; i++) {
                if (!(skip && out[i].equals(input))) {
                    ctx.emit(out[i], data);
                    sent[i]++;
                }
            }
            in++;
        }
        if ((in + control) % STATS_EVERY == 1) {
            publish(ctx);
        }
    }

    /** Resolves the outputs against the session's flows, once. */
    private void resolve(ProgramContext ctx) {
        List<FlowId> flows = ctx.flows();
        long[] given = outputs(ctx.parameters());
        FlowId[] out;
        if (given == null) {
            if (flows.size() < 2) {
                unusable = NAME + ": the session has only flow " + flows.get(0) + ", so there is nowhere to send "
                    + "copies; create it with more flows (--flow ID:NAME=HOST:PORT) or set '" + OUTPUTS_PARAMETER + "'";
                return;
            }
            out = flows.toArray(new FlowId[0]);
            allButInput = true;
        } else {
            out = new FlowId[given.length];
            for (int i = 0; i < given.length; i++) {
                out[i] = FlowId.of(given[i]);
                if (!flows.contains(out[i])) {
                    unusable = NAME + ": parameter '" + OUTPUTS_PARAMETER + "' names flow " + given[i]
                        + ", which this session does not have (its flows: " + join(flows) + ")";
                    return;
                }
            }
        }
        sent = new long[out.length];
        outputs = out;
    }

    /**
     * The output flows a session's parameters ask for, after checking them all.
     *
     * @param parameters the session's parameters
     * @return the flow ids in the order given, or null if {@value #OUTPUTS_PARAMETER} is not given
     * @throws IllegalArgumentException naming the parameter that is unknown or malformed
     */
    static long[] outputs(Map<String, String> parameters) {
        if (parameters.size() > (parameters.containsKey(OUTPUTS_PARAMETER) ? 1 : 0)) {
            TreeSet<String> unknown = new TreeSet<>(parameters.keySet());
            unknown.remove(OUTPUTS_PARAMETER);
            throw new IllegalArgumentException(NAME + ": unknown parameter" + (unknown.size() > 1 ? "s " : " ")
                + "'" + String.join("', '", unknown) + "'; the only parameter is '" + OUTPUTS_PARAMETER
                + "' (comma-separated flow ids, default: every flow but the input flow)");
        }
        String text = parameters.get(OUTPUTS_PARAMETER);
        if (text == null) {
            return null;
        }
        String form = NAME + ": parameter '" + OUTPUTS_PARAMETER + "' is a comma-separated list of 1 to "
            + MAX_OUTPUTS + " distinct flow ids (whole numbers 0 to " + FlowId.MAX_VALUE + "), for example 1,2,3; ";
        String[] parts = text.split(",", -1);
        if (text.isBlank()) {
            throw new IllegalArgumentException(form + "got none");
        }
        if (parts.length > MAX_OUTPUTS) {
            throw new IllegalArgumentException(form + "got " + parts.length + " ids");
        }
        long[] ids = new long[parts.length];
        for (int i = 0; i < parts.length; i++) {
            String p = parts[i].strip();
            long id = -1;
            if (!p.isEmpty() && p.length() <= 10 && p.chars().allMatch(c -> c >= '0' && c <= '9')) {
                id = Long.parseLong(p);
            }
            if (id < 0 || id > FlowId.MAX_VALUE) {
                throw new IllegalArgumentException(form + "got '" + text + "' ('" + p + "' is not a flow id)");
            }
            for (int j = 0; j < i; j++) {
                if (ids[j] == id) {
                    throw new IllegalArgumentException(form + "got '" + text + "' (flow " + id + " twice)");
                }
            }
            ids[i] = id;
        }
        return ids;
    }

    /** Writes the counters to {@link #STATS_KEY}; a full state quota is ignored (the counters are advisory). */
    private void publish(ProgramContext ctx) {
        try {
            ctx.putState(STATS_KEY, stats().getBytes(StandardCharsets.US_ASCII));
        } catch (IllegalStateException quotaFull) {
            // the counters stay in the instance; the next write tries again
        }
    }

    /** @return the counters as text: {@code in=N control=N out.FLOW=N ...} */
    String stats() {
        StringBuilder b = new StringBuilder(32 + 24 * (outputs == null ? 0 : outputs.length));
        b.append("in=").append(in).append(" control=").append(control);
        if (outputs != null) {
            for (int i = 0; i < outputs.length; i++) {
                b.append(" out.").append(outputs[i]).append('=').append(sent[i]);
            }
        }
        return b.toString();
    }

    /**
     * @param flow an output flow
     * @return the datagrams emitted on it so far; 0 for a flow that is not an output; for tests
     */
    long sent(FlowId flow) {
        for (int i = 0; outputs != null && i < outputs.length; i++) {
            if (outputs[i].equals(flow)) {
                return sent[i];
            }
        }
        return 0;
    }

    private static String join(List<FlowId> flows) {
        StringBuilder b = new StringBuilder();
        for (FlowId f : flows) {
            b.append(b.length() == 0 ? "" : ", ").append(f);
        }
        return b.toString();
    }
}
