package io.pando.control.protocol;

import java.net.InetSocketAddress;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import org.osgi.annotation.versioning.ProviderType;

/**
 * A message of the session negotiation protocol (docs/control.md, section 4). Requests go from a user to the control
 * unit, replies back; every reply echoes its request's id. Byte arrays (tokens, keys) are held as given: callers must
 * not change them afterwards.
 */
@ProviderType
public sealed interface ControlMessage {

    /** Length of a token and of a session key. */
    int TOKEN_LENGTH = 32;

    /** @return the request id this message carries or answers */
    long requestId();

    /** @return the wire message type */
    int type();

    /** A request: user to control unit. */
    sealed interface Request extends ControlMessage {
    }

    /** A request made with a token. */
    sealed interface Authorized extends Request {
        /** @return the token from AUTHED, {@value #TOKEN_LENGTH} bytes */
        byte[] token();
    }

    /** A reply: control unit to user. */
    sealed interface Reply extends ControlMessage {
    }

    /**
     * AUTH: checks a user's password, asks for a token.
     *
     * @param requestId the request id
     * @param user the user, 1 to 64 bytes of UTF-8
     * @param password the password, 1 to 1024 bytes of UTF-8
     */
    record Auth(long requestId, String user, String password) implements Request {
        public static final int TYPE = 0x0001;

        /** Checks the fields. */
        public Auth {
            Objects.requireNonNull(user, "user");
            Objects.requireNonNull(password, "password");
        }

        @Override
        public int type() {
            return TYPE;
        }

        @Override
        public String toString() {
            return "Auth[requestId=" + Long.toUnsignedString(requestId) + ", user=" + user + ", password=***]";
        }
    }

    /**
     * OPEN: asks for a new session.
     *
     * @param requestId the request id
     * @param token the token
     * @param program the active program's name
     * @param name the session's label; empty lets the control unit choose
     * @param parameters program parameters, in order
     * @param destination where processed datagrams of flow 0 go
     * @param flows the session's other flows
     * @param resources what the session needs
     * @param distribution one unit or spread over k
     */
    record Open(long requestId, byte[] token, String program, Optional<String> name, Map<String, String> parameters,
        InetSocketAddress destination, List<FlowSpec> flows, Resources resources, Distribution distribution)
        implements Authorized {
        public static final int TYPE = 0x0002;

        /** Copies the collections (keeping parameter order). */
        public Open {
            Objects.requireNonNull(token, "token");
            Objects.requireNonNull(program, "program");
            Objects.requireNonNull(name, "name");
            Objects.requireNonNull(destination, "destination");
            Objects.requireNonNull(resources, "resources");
            Objects.requireNonNull(distribution, "distribution");
            parameters = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(parameters));
            flows = List.copyOf(flows);
        }

        @Override
        public int type() {
            return TYPE;
        }
    }

    /**
     * CLOSE: closes one of the caller's sessions.
     *
     * @param requestId the request id
     * @param token the token
     * @param sessionId the session (unsigned, not 0)
     */
    record Close(long requestId, byte[] token, long sessionId) implements Authorized {
        public static final int TYPE = 0x0003;

        /** Checks the token is there. */
        public Close {
            Objects.requireNonNull(token, "token");
        }

        @Override
        public int type() {
            return TYPE;
        }
    }

    /**
     * LIST: the caller's sessions.
     *
     * @param requestId the request id
     * @param token the token
     */
    record ListSessions(long requestId, byte[] token) implements Authorized {
        public static final int TYPE = 0x0004;

        /** Checks the token is there. */
        public ListSessions {
            Objects.requireNonNull(token, "token");
        }

        @Override
        public int type() {
            return TYPE;
        }
    }

    /**
     * AUTHED: the password was right.
     *
     * @param requestId the AUTH's id
     * @param user the user
     * @param token the token for later requests
     * @param lifetimeSeconds how long it is valid from now
     */
    record Authed(long requestId, String user, byte[] token, long lifetimeSeconds) implements Reply {
        public static final int TYPE = 0x0101;

        /** Checks the fields. */
        public Authed {
            Objects.requireNonNull(user, "user");
            Objects.requireNonNull(token, "token");
        }

        @Override
        public int type() {
            return TYPE;
        }
    }

    /**
     * OPENED: the session exists.
     *
     * @param requestId the OPEN's id
     * @param sessionId the session id to put in the ARTP handshake
     * @param name the session's label
     * @param ingress where to send
     * @param units the units serving it
     * @param sessionKey the 32-byte ARTP session key the sender must use, if the router keys the session
     */
    record Opened(long requestId, long sessionId, String name, InetSocketAddress ingress, List<String> units,
        Optional<byte[]> sessionKey) implements Reply {
        public static final int TYPE = 0x0102;

        /** Copies the unit list. */
        public Opened {
            Objects.requireNonNull(name, "name");
            Objects.requireNonNull(ingress, "ingress");
            Objects.requireNonNull(sessionKey, "sessionKey");
            units = List.copyOf(units);
        }

        @Override
        public int type() {
            return TYPE;
        }
    }

    /**
     * CLOSED: the session is closed.
     *
     * @param requestId the CLOSE's id
     * @param sessionId the session
     * @param counters its final counters, in order
     */
    record Closed(long requestId, long sessionId, Map<String, Long> counters) implements Reply {
        public static final int TYPE = 0x0103;

        /** Copies the counters (keeping their order). */
        public Closed {
            counters = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(counters));
        }

        @Override
        public int type() {
            return TYPE;
        }
    }

    /**
     * LIST_RESULT: the caller's sessions, oldest first.
     *
     * @param requestId the LIST's id
     * @param sessions the sessions
     */
    record ListResult(long requestId, List<SessionSummary> sessions) implements Reply {
        public static final int TYPE = 0x0104;

        /** Copies the list. */
        public ListResult {
            sessions = List.copyOf(sessions);
        }

        @Override
        public int type() {
            return TYPE;
        }
    }

    /**
     * REFUSED: the request was refused.
     *
     * @param requestId the request's id, 0 if it could not be read
     * @param code why, as a code; {@code null} for a code this side does not know
     * @param wireCode the code on the wire
     * @param reason why, for a person
     */
    record Refused(long requestId, RefusalCode code, int wireCode, String reason) implements Reply {
        public static final int TYPE = 0x01FF;

        /** Checks the reason. */
        public Refused {
            Objects.requireNonNull(reason, "reason");
        }

        /**
         * @param requestId the request's id
         * @param code why
         * @param reason why, for a person
         */
        public Refused(long requestId, RefusalCode code, String reason) {
            this(requestId, code, code.code(), reason);
        }

        @Override
        public int type() {
            return TYPE;
        }
    }
}
