package io.pando.cluster;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * A session as the session directory holds it: who owns it, what runs it, where it is placed and what it reserved.
 * Values are checked when the record is made, so that every record in the directory can be encoded and read back.
 *
 * @param sessionId the session's id: 1 to 128 characters, no control characters
 * @param owner the user the session belongs to (nobody else may see or change it)
 * @param program the active program (or VM image) that processes the session, e.g. {@code aes-gcm-encrypt/1.0.0}
 * @param units the units the session is placed on, in placement order; may be empty while it is being placed
 * @param reservations what the session reserved, by resource name (e.g. {@code cpu.millis}, {@code memory.bytes},
 *     {@code bandwidth.bps}, {@code reorder.micros}); values are non-negative
 * @param placedBy the name of the member that placed it
 * @param placedAt when it was placed
 * @param attributes what else the placing component needs to know of the session, by name (e.g. the control unit's
 *     {@code name} and {@code ingress}); at most {@link #MAX_ATTRIBUTES}, values up to {@link #MAX_VALUE}
 *     characters without control characters (since 1.2)
 */
public record SessionRecord(String sessionId, String owner, String program, List<String> units,
    Map<String, Long> reservations, String placedBy, Instant placedAt, Map<String, String> attributes) {

    /** Longest session id, owner, program, unit, resource or member name, in characters. */
    public static final int MAX_TEXT = 128;

    /** Most units one session can be placed on. */
    public static final int MAX_UNITS = 1024;

    /** Most reservations one session can have. */
    public static final int MAX_RESERVATIONS = 64;

    /** Most attributes one session can have (since 1.2). */
    public static final int MAX_ATTRIBUTES = 64;

    /** Longest attribute value, in characters (since 1.2). */
    public static final int MAX_VALUE = 1024;

    /** @throws IllegalArgumentException if a value breaks its rule; NullPointerException if one is missing */
    public SessionRecord {
        text("session id", sessionId);
        text("owner", owner);
        text("program", program);
        Objects.requireNonNull(units, "units");
        if (units.size() > MAX_UNITS) {
            throw new IllegalArgumentException("a session can be placed on at most " + MAX_UNITS + " units, got "
                + units.size());
        }
        units.forEach(u -> text("unit", u));
        units = List.copyOf(units);
        Objects.requireNonNull(reservations, "reservations");
        if (reservations.size() > MAX_RESERVATIONS) {
            throw new IllegalArgumentException("a session can have at most " + MAX_RESERVATIONS
                + " reservations, got " + reservations.size());
        }
        reservations.forEach((k, v) -> {
            text("resource name", k);
            if (v == null || v < 0) {
                throw new IllegalArgumentException("reservation " + k + " must be >= 0, got " + v);
            }
        });
        reservations = java.util.Collections.unmodifiableMap(new TreeMap<>(reservations));
        text("placed by", placedBy);
        Objects.requireNonNull(placedAt, "placedAt");
        Objects.requireNonNull(attributes, "attributes");
        if (attributes.size() > MAX_ATTRIBUTES) {
            throw new IllegalArgumentException("a session can have at most " + MAX_ATTRIBUTES + " attributes, got "
                + attributes.size());
        }
        attributes.forEach((k, v) -> {
            text("attribute name", k);
            Objects.requireNonNull(v, "attribute " + k);
            if (v.length() > MAX_VALUE) {
                throw new IllegalArgumentException("attribute " + k + " must have at most " + MAX_VALUE
                    + " characters, got " + v.length());
            }
            checkControl("attribute " + k, v);
        });
        attributes = java.util.Collections.unmodifiableMap(new TreeMap<>(attributes));
    }

    /**
     * A record without attributes (the form of version 1.0 and 1.1).
     *
     * @param sessionId see the record
     * @param owner see the record
     * @param program see the record
     * @param units see the record
     * @param reservations see the record
     * @param placedBy see the record
     * @param placedAt see the record
     */
    public SessionRecord(String sessionId, String owner, String program, List<String> units,
        Map<String, Long> reservations, String placedBy, Instant placedAt) {
        this(sessionId, owner, program, units, reservations, placedBy, placedAt, Map.of());
    }

    /**
     * @param units the new placement
     * @return this record placed on other units
     */
    public SessionRecord withUnits(List<String> units) {
        return new SessionRecord(sessionId, owner, program, units, reservations, placedBy, placedAt, attributes);
    }

    private static void text(String what, String s) {
        Objects.requireNonNull(s, what);
        if (s.isEmpty() || s.length() > MAX_TEXT) {
            throw new IllegalArgumentException(what + " must have 1 to " + MAX_TEXT + " characters, got "
                + s.length());
        }
        checkControl(what, s);
    }

    private static void checkControl(String what, String s) {
        for (int i = 0; i < s.length(); i++) {
            if (Character.isISOControl(s.charAt(i))) {
                throw new IllegalArgumentException(what + " must not contain control characters: "
                    + s.replaceAll("\\p{Cntrl}", "?"));
            }
        }
    }
}
