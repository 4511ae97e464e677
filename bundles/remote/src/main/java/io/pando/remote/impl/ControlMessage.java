package io.pando.remote.impl;

import io.pando.api.session.SessionId;
import io.pando.api.unit.UnitId;
import io.pando.api.unit.UnitLoad;
import io.pando.link.SessionPlan;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * A message of the remote-unit control protocol (TCP, one length-prefixed frame per message; the layout is in
 * {@link ControlDecoder}). A distribution node sends requests, the unit node answers each with exactly one reply
 * that carries the request's id. Requests are handled in order per connection, but a {@link Close} is answered
 * only once the session has drained, so replies may come out of order.
 */
sealed interface ControlMessage {

    /**
     * The protocol version of this implementation; {@link Hello} carries it. Version 2: plans carry the session's
     * flows and every data datagram carries its flow ({@link DataPrefix}). Version 3: every data datagram carries a
     * number, results are numbered and result connections carry the units' acknowledgements ({@code PROCESSED}).
     */
    int VERSION = 3;

    /** @return the id the requester chose; a reply carries its request's id; 0 when unknown */
    int requestId();

    // ---- requests (distribution node -> unit node)

    /** The first request on a connection: the client's protocol version and a name for the logs. */
    record Hello(int requestId, int version, String client) implements ControlMessage {
        public Hello {
            Objects.requireNonNull(client, "client");
        }
    }

    /** Lists the node's units; answered with {@link Units}. */
    record ListUnits(int requestId) implements ControlMessage {
    }

    /**
     * Opens a session on a unit; the unit sends its results to the aggregation server at {@code aggregation}.
     * Answered with {@link Ok} once the unit serves the session, then the requester opens the ARTP data connection.
     */
    record Open(int requestId, UnitId unit, SessionPlan plan, InetSocketAddress aggregation) implements ControlMessage {
        public Open {
            Objects.requireNonNull(unit, "unit");
            Objects.requireNonNull(plan, "plan");
            Objects.requireNonNull(aggregation, "aggregation");
        }
    }

    /**
     * Closes a session on a unit; answered once it has drained and its results are acknowledged by the aggregation
     * node, with the session's final {@link Counters} (or {@link Ok} if they cannot be read).
     */
    record Close(int requestId, UnitId unit, SessionId session) implements ControlMessage {
        public Close {
            Objects.requireNonNull(unit, "unit");
            Objects.requireNonNull(session, "session");
        }
    }

    /** Asks for a session's accounting on a unit; answered with {@link Counters}. */
    record SessionCounters(int requestId, UnitId unit, SessionId session) implements ControlMessage {
        public SessionCounters {
            Objects.requireNonNull(unit, "unit");
            Objects.requireNonNull(session, "session");
        }
    }

    /** Asks for a unit's totals; answered with {@link Counters}. */
    record UnitCounters(int requestId, UnitId unit) implements ControlMessage {
        public UnitCounters {
            Objects.requireNonNull(unit, "unit");
        }
    }

    /** Switches a unit's packet scheduler; answered with {@link Ok}. */
    record SelectScheduler(int requestId, UnitId unit, String scheduler) implements ControlMessage {
        public SelectScheduler {
            Objects.requireNonNull(unit, "unit");
            Objects.requireNonNull(scheduler, "scheduler");
        }
    }

    /**
     * Asks whether a unit could run a session (its program is there and accepts the parameters) before anything
     * opens; answered with {@link Ok}, or {@link Error} {@link ErrorCode#INVALID} saying what is wrong.
     */
    record Validate(int requestId, UnitId unit, SessionPlan plan) implements ControlMessage {
        public Validate {
            Objects.requireNonNull(unit, "unit");
            Objects.requireNonNull(plan, "plan");
        }
    }

    // ---- replies (unit node -> distribution node)

    /** The request was carried out. */
    record Ok(int requestId) implements ControlMessage {
    }

    /** The request failed; {@code message} says why, for people. */
    record Error(int requestId, ErrorCode code, String message) implements ControlMessage {
        public Error {
            Objects.requireNonNull(code, "code");
            Objects.requireNonNull(message, "message");
        }
    }

    /** The node's units. */
    record Units(int requestId, List<UnitState> units) implements ControlMessage {
        public Units {
            units = List.copyOf(units);
        }
    }

    /** Counters, snake_case names. */
    record Counters(int requestId, Map<String, Long> counters) implements ControlMessage {
        public Counters {
            counters = Map.copyOf(counters);
        }
    }

    // ---- not on the wire

    /**
     * What the decoder makes of a frame it cannot read (unknown type, truncated or invalid field): the receiver
     * answers it with an {@link Error} and counts it; the connection stays usable, since the frame was delimited.
     */
    record Malformed(int requestId, String reason) implements ControlMessage {
        public Malformed {
            Objects.requireNonNull(reason, "reason");
        }
    }

    /**
     * One unit as {@link ListUnits} reports it.
     *
     * @param id the unit
     * @param programs the programs it can run now
     * @param scheduler its packet scheduler in use
     * @param load its live load
     */
    record UnitState(UnitId id, Set<String> programs, String scheduler, UnitLoad load) {
        public UnitState {
            Objects.requireNonNull(id, "id");
            Objects.requireNonNull(scheduler, "scheduler");
            Objects.requireNonNull(load, "load");
            programs = Set.copyOf(programs);
        }
    }

    /** Why a request failed. */
    enum ErrorCode {
        /** The request could not be decoded or a field breaks its rule. */
        BAD_REQUEST(1),
        /** The protocol versions differ. */
        VERSION(2),
        /** No unit of that id on this node. */
        UNKNOWN_UNIT(3),
        /** The unit does not serve that session. */
        UNKNOWN_SESSION(4),
        /** The unit refused (it is stopping, its buffer pool is full, no such scheduler, ...). */
        REFUSED(5),
        /** Anything else; the message says what. */
        INTERNAL(6),
        /** The unit cannot run the session as planned (program missing, parameters refused). */
        INVALID(7);

        final int wire;

        ErrorCode(int wire) {
            this.wire = wire;
        }

        static ErrorCode of(int wire) {
            for (ErrorCode c : values()) {
                if (c.wire == wire) {
                    return c;
                }
            }
            throw new IllegalArgumentException("unknown error code " + wire);
        }
    }
}
